"""One consumer's lease on one account: the Redis scripts, safe to repeat, and the holder's side.

Every script is fenced by the lease's random owner and may be sent again when its
answer did not come (Redis frozen past the command timeout, a dropped connection):
a second take by the same owner finds the lease already its own, a second save or
renewal does what the first did, and a second release check pulls once more rather
than risk dropping a wake note the first may have taken.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Callable, Sequence
from typing import Any, Final

import attrs

from .._constants import LOGGER_NAME
from .._errors import LeaseLostError
from .._retry import is_testing
from ._redis import MISCONFIGURED, UNREACHABLE, Redis, ready, text
from ._scripts import FleetScript

__all__ = ["TRIES", "LeaseKeys", "LeaseScripts", "RedisCursorLease", "run_script"]

logger = logging.getLogger(LOGGER_NAME)

#: Tries of a lease script whose answer does not come (every one is safe to repeat).
TRIES: Final = 3
#: Longest pause, in seconds, before the second try (twice that before the third);
#: each pause is drawn between 0 and it (full jitter), 0 in test mode.
_RETRY_PAUSE: Final = 0.1
_RNG = random.Random()  # noqa: S311 - retry jitter, not cryptography

# KEYS: lease, wake. ARGV: owner, lease ms, token ('' for none), wake ms.
# -> 1 the lease is ours (taken now, or by an earlier try of this owner), 0 taken (note left)
_TAKE = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  redis.call('DEL', KEYS[2])
  return 1
end
if ARGV[3] ~= '' or redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
return 0
"""

# KEYS: lease, cursor. ARGV: owner, cursor, lease ms. -> 1 saved, 0 not ours
_SAVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: lease, wake. ARGV: owner, lease ms, '1' if an earlier try went unanswered.
# -> {-1} lost, {0} released, {1, token} pull once more (lease kept). After an
# unanswered try, which may have taken a note or released the lease: a lease not
# ours is taken as released, a lease ours as "pull once more".
_AGAIN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  if ARGV[3] == '1' then
    return {0}
  end
  return {-1}
end
local wake = redis.call('GET', KEYS[2])
if wake or ARGV[3] == '1' then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, wake or ''}
end
redis.call('DEL', KEYS[1])
return {0}
"""

# KEYS: lease. ARGV: owner, lease ms. -> 1 renewed, 0 not ours
_KEEP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""

# KEYS: lease, wake. ARGV: owner. -> 1 if a wake note is pending (left for its writer)
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return redis.call('EXISTS', KEYS[2])
"""

# KEYS: lease, wake. -> 0 no note, 1 a note and a holder, 2 a note and no holder
_PEEK = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  return 0
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 1
end
return 2
"""


class LeaseScripts:
    """The lease's scripts registered on one client, and the clock that times the lease.

    A take and a save wait for *wait_replicas* replicas (at most *wait_timeout*
    seconds) when that is above 0: a failover then loses them less often.
    """

    def __init__(
        self,
        redis: Redis,
        lease_ttl: float,
        monotonic: Callable[[], float],
        *,
        wait_replicas: int = 0,
        wait_timeout: float = 0.1,
    ) -> None:
        self.redis = redis
        self.lease_ttl = lease_ttl
        self.lease_ms = max(1, math.ceil(lease_ttl * 1000))
        self.monotonic = monotonic
        self.take = FleetScript(redis, _TAKE, replicas=wait_replicas, replica_timeout=wait_timeout)
        self.save = FleetScript(redis, _SAVE, replicas=wait_replicas, replica_timeout=wait_timeout)
        self.again = FleetScript(redis, _AGAIN)
        self.keep = FleetScript(redis, _KEEP)
        self.release = FleetScript(redis, _RELEASE)
        self.peek = FleetScript(redis, _PEEK)

    @property
    def unacknowledged(self) -> int:
        """Takes and saves that fewer than ``wait_replicas`` replicas had in time."""
        return self.take.unacknowledged + self.save.unacknowledged

    async def cursor(self, keys: LeaseKeys) -> str | None:
        """The account's saved cursor (under the key of an older release if only it has one)."""
        await ready(self.redis)
        value = await self.redis.get(keys.cursor)
        if value is None:
            value = await self.redis.get(keys.legacy_cursor)
        return None if value is None else text(value)


async def run_script(
    script: FleetScript,
    keys: Sequence[str],
    args: Sequence[str | int],
    *,
    open_kfid: str,
    monotonic: Callable[[], float],
    retry_args: Sequence[str | int] | None = None,
    tries: int = TRIES,
) -> tuple[Any, float]:
    """Run a lease *script*, again on an unanswered try; return the answer and when the
    answered try was sent (a lease is valid ``lease_ttl`` from then, at most).

    *retry_args* replace *args* after the first try. A wrong password raises at once;
    Redis still unreachable after *tries* raises its error.
    """
    for attempt in range(1, tries + 1):
        sent = monotonic()
        try:
            answer = await script(keys=keys, args=args if attempt == 1 else retry_args or args)
        except MISCONFIGURED:
            raise
        except UNREACHABLE as exc:
            if attempt == tries:
                raise
            logger.warning(
                "%s: Redis did not answer a consumer-lease script (%s: %s); trying again, "
                "as the same owner (try %d of %d)",
                open_kfid,
                type(exc).__name__,
                exc,
                attempt + 1,
                tries,
            )
            if not is_testing():
                await asyncio.sleep(_RNG.uniform(0.0, _RETRY_PAUSE * 2.0 ** (attempt - 1)))
            continue
        return answer, sent
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises


@attrs.frozen
class LeaseKeys:
    """The Redis keys of one account's lease, wake note and cursor (one hash tag),
    and the cursor's key before hash tags (read when the cursor has none yet)."""

    lease: str
    wake: str
    cursor: str
    legacy_cursor: str


class RedisCursorLease:
    """One consumer's hold on one account (see :class:`RedisCursorStore`).

    The holder knows its lease is gone when its renewal, a save or a release check
    finds another owner, or, by its own monotonic clock, when its last renewal was
    sent ``lease_ttl`` ago or more: Redis may have let it expire (a paused process,
    Redis unreachable). :meth:`ensure_held` raises then, and the stream calls it before
    each message it hands out.
    """

    def __init__(
        self, scripts: LeaseScripts, keys: LeaseKeys, open_kfid: str, owner: str, since: float
    ) -> None:
        self._scripts = scripts
        self._keys = keys
        self.open_kfid = open_kfid
        self._owner = owner
        self._valid_until = since + scripts.lease_ttl
        self._released = False
        self._lost = False

    def __repr__(self) -> str:
        return f"<RedisCursorLease {self.open_kfid}>"

    def _renewed(self, since: float) -> None:
        self._valid_until = max(self._valid_until, since + self._scripts.lease_ttl)

    def _fail(self) -> LeaseLostError:
        self._lost = True
        return LeaseLostError(self.open_kfid)

    async def _run(
        self,
        script: FleetScript,
        keys: Sequence[str],
        args: Sequence[str | int],
        retry_args: Sequence[str | int] | None = None,
    ) -> tuple[Any, float]:
        return await run_script(
            script,
            keys,
            args,
            open_kfid=self.open_kfid,
            monotonic=self._scripts.monotonic,
            retry_args=retry_args,
        )

    def ensure_held(self) -> None:
        """Raise :class:`~wecom_kf_async.LeaseLostError` if the lease is, or may be, gone.

        No I/O: it reads what the renewal task learnt and the time since the last
        renewal. Once it raised, it always raises.
        """
        if not self._lost and self._scripts.monotonic() >= self._valid_until:
            self._lost = True
            logger.warning(
                "%s: the consumer lease was not renewed within its %.1f s; taking it as lost",
                self.open_kfid,
                self._scripts.lease_ttl,
            )
        if self._lost:
            raise LeaseLostError(self.open_kfid)

    async def get(self) -> str | None:
        """The account's saved cursor."""
        return await self._scripts.cursor(self._keys)

    async def set(self, cursor: str) -> None:
        """Save the cursor if the lease is still ours; raise :class:`LeaseLostError` if not."""
        keys = self._keys
        saved, since = await self._run(
            self._scripts.save,
            [keys.lease, keys.cursor],
            [self._owner, cursor, self._scripts.lease_ms],
        )
        if not saved:
            raise self._fail()
        self._renewed(since)

    async def again(self) -> tuple[bool, str | None]:
        """Pull once more if another consumer was woken meanwhile, else release the lease."""
        keys, owner, ms = self._keys, self._owner, self._scripts.lease_ms
        answer, since = await self._run(
            self._scripts.again,
            [keys.lease, keys.wake],
            [owner, ms, ""],
            retry_args=[owner, ms, "1"],
        )
        state = int(answer[0])
        if state < 0:
            raise self._fail()
        if state == 0:
            self._released = True
            return False, None
        self._renewed(since)
        token = text(answer[1])
        return True, token or None

    async def _renew_forever(self) -> None:
        scripts = self._scripts
        while not self._lost:
            # Real time, whatever clock was injected: the lease lives in Redis' time.
            await asyncio.sleep(scripts.lease_ttl / 3)
            if self._lost:  # taken as lost by ensure_held: never renew it again
                return
            since = scripts.monotonic()
            try:
                kept = await scripts.keep(
                    keys=[self._keys.lease], args=[self._owner, scripts.lease_ms]
                )
            except MISCONFIGURED as exc:  # not an outage: it cannot be renewed, so stop
                logger.error("%s: the consumer lease cannot be renewed: %s", self.open_kfid, exc)
                self._lost = True
                return
            except UNREACHABLE as exc:  # the next tick tries again; ensure_held counts the time
                logger.warning("%s: could not renew the consumer lease (%s)", self.open_kfid, exc)
                continue
            if not kept:
                logger.warning("%s: the consumer lease was lost", self.open_kfid)
                self._lost = True
                return
            self._renewed(since)
