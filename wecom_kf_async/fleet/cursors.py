"""``RedisCursorStore``: sync_msg cursors shared by a fleet, and one consumer per account.

Two workers woken by the same callback must not read and handle the same page. The
store gives each account a lease, a Redis key holding a random owner that expires
unless renewed:

- the first worker takes the lease and pulls; a renewal task keeps it while the
  worker lives, so a crashed worker's lease ends within ``lease_ttl``;
- a worker that finds the lease taken leaves a "wake" note (with its callback
  token) and returns at once;
- before the holder lets go, one script either finds a note, deletes it and keeps
  the lease (the holder pulls once more, with that token), or finds none and
  deletes the lease: a wake-up is never lost between the check and the release;
- the cursor is saved by a script that checks the owner first, so a worker whose
  lease ran out (a long pause) cannot move the cursor under its successor.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections.abc import AsyncIterator
from typing import Final

from .._constants import LOGGER_NAME
from .._errors import LeaseLostError
from ._redis import DEFAULT_NAMESPACE, Redis, check_namespace, open_client, positive, text

__all__ = ["DEFAULT_LEASE_TTL", "RedisCursorLease", "RedisCursorStore"]

logger = logging.getLogger(LOGGER_NAME)

#: Seconds an account's consumer lease lives without renewal: the longest a crashed
#: consumer keeps the others from its account.
DEFAULT_LEASE_TTL: Final = 10.0
#: Seconds a wake note waits for the holder to see it.
_WAKE_TTL_MS: Final = 600_000

# KEYS: lease, wake. ARGV: owner, lease ms, token ('' for none), wake ms.
_TAKE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return 1
end
if ARGV[3] ~= '' or redis.call('EXISTS', KEYS[2]) == 0 then
  redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
end
return 0
"""

# KEYS: lease, cursor. ARGV: owner, cursor, lease ms.
_SAVE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: lease, wake. ARGV: owner, lease ms. -> {-1} lost, {0} released, {1, token} again
_AGAIN = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return {-1}
end
local wake = redis.call('GET', KEYS[2])
if wake then
  redis.call('DEL', KEYS[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, wake}
end
redis.call('DEL', KEYS[1])
return {0}
"""

# KEYS: lease. ARGV: owner, lease ms (0: release).
_KEEP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if tonumber(ARGV[2]) == 0 then
  return redis.call('DEL', KEYS[1])
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
"""


class RedisCursorStore:
    """Cursors on Redis, shared by every process, with one consumer per account at a time.

    It is an :class:`~wecom_kf_async.ExclusiveCursorStore`: ``kf.messages.stream``
    (and the bot) take the account's lease through :meth:`consume`. Keys:
    ``{namespace}:cursor:{open_kfid}``, ``{namespace}:lease:{open_kfid}`` and
    ``{namespace}:wake:{open_kfid}``. Redis errors propagate: a cursor cannot be
    kept anywhere else without risking a skipped or repeated page.

    Args:
        redis: A ``redis://`` URL (the store then owns and closes its client), or a
            ``redis.asyncio.Redis`` you own.
        namespace: Prefix of the keys.
        lease_ttl: Seconds a lease lives without renewal (renewed every third of it
            while its consumer runs).
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        lease_ttl: float = DEFAULT_LEASE_TTL,
    ) -> None:
        self.namespace = check_namespace(namespace)
        self.lease_ttl = positive("lease_ttl", lease_ttl)
        self._redis, self._owned = open_client(redis)
        self._lease_ms = max(1, math.ceil(self.lease_ttl * 1000))
        self._take = self._redis.register_script(_TAKE)
        self._save = self._redis.register_script(_SAVE)
        self._again = self._redis.register_script(_AGAIN)
        self._keep = self._redis.register_script(_KEEP)

    def __repr__(self) -> str:
        return f"RedisCursorStore(namespace={self.namespace!r}, lease_ttl={self.lease_ttl!r})"

    def _key(self, kind: str, open_kfid: str) -> str:
        return f"{self.namespace}:{kind}:{open_kfid}"

    async def get(self, open_kfid: str) -> str | None:
        """The saved cursor of *open_kfid*, or ``None``."""
        value = await self._redis.get(self._key("cursor", open_kfid))
        return None if value is None else text(value)

    async def set(self, open_kfid: str, cursor: str) -> None:
        """Save *cursor* for *open_kfid*, without a lease (for tools and migrations)."""
        await self._redis.set(self._key("cursor", open_kfid), cursor)

    @contextlib.asynccontextmanager
    async def consume(
        self, open_kfid: str, token: str | None = None
    ) -> AsyncIterator[RedisCursorLease | None]:
        """Hold *open_kfid*'s lease for the block, or yield ``None`` (and leave a note)."""
        owner = secrets.token_hex(16)
        keys = (self._key("lease", open_kfid), self._key("wake", open_kfid))
        taken = await self._take(
            keys=list(keys), args=[owner, self._lease_ms, token or "", _WAKE_TTL_MS]
        )
        if not taken:
            yield None
            return
        lease = RedisCursorLease(self, open_kfid, owner)
        renewer = asyncio.create_task(lease._renew_forever())
        try:
            yield lease
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            if not lease._released:
                with contextlib.suppress(Exception):  # it expires on its own anyway
                    await self._keep(keys=[keys[0]], args=[owner, 0])

    async def aclose(self) -> None:
        """Close the Redis client if the store created it from a URL."""
        if self._owned:
            await self._redis.aclose()


class RedisCursorLease:
    """One consumer's hold on one account (see :class:`RedisCursorStore`)."""

    def __init__(self, store: RedisCursorStore, open_kfid: str, owner: str) -> None:
        self._store = store
        self.open_kfid = open_kfid
        self._owner = owner
        self._released = False
        self._lost = False

    def __repr__(self) -> str:
        return f"<RedisCursorLease {self.open_kfid}>"

    async def get(self) -> str | None:
        """The account's saved cursor."""
        return await self._store.get(self.open_kfid)

    async def set(self, cursor: str) -> None:
        """Save the cursor if the lease is still ours; raise :class:`LeaseLostError` if not."""
        store = self._store
        saved = await store._save(
            keys=[store._key("lease", self.open_kfid), store._key("cursor", self.open_kfid)],
            args=[self._owner, cursor, store._lease_ms],
        )
        if not saved:
            self._lost = True
            raise LeaseLostError(self.open_kfid)

    async def again(self) -> tuple[bool, str | None]:
        """Pull once more if another consumer was woken meanwhile, else release the lease."""
        store = self._store
        answer = await store._again(
            keys=[store._key("lease", self.open_kfid), store._key("wake", self.open_kfid)],
            args=[self._owner, store._lease_ms],
        )
        state = int(answer[0])
        if state < 0:
            self._lost = True
            raise LeaseLostError(self.open_kfid)
        if state == 0:
            self._released = True
            return False, None
        token = text(answer[1])
        return True, token or None

    async def _renew_forever(self) -> None:
        store = self._store
        lease_key = store._key("lease", self.open_kfid)
        while True:
            await asyncio.sleep(store.lease_ttl / 3)
            try:
                kept = await store._keep(keys=[lease_key], args=[self._owner, store._lease_ms])
            except Exception as exc:  # Redis away: the next save will tell
                logger.warning("%s: could not renew the consumer lease (%s)", self.open_kfid, exc)
                continue
            if not kept:
                logger.warning("%s: the consumer lease was lost", self.open_kfid)
                self._lost = True
                return
