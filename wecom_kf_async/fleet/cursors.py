"""``RedisCursorStore``: sync_msg cursors shared by a fleet, and one consumer per account.

Two workers woken by the same callback must not read and handle the same page. The
store gives each account a lease, a Redis key holding a random owner that expires
unless renewed:

- the first worker takes the lease and pulls; a renewal task keeps it while the
  worker lives, so a crashed worker's lease ends within ``lease_ttl``;
- a worker that finds the lease taken leaves a "wake" note (with its callback
  token) and returns at once; while a waker is registered (a running ``KfBot``), it
  watches its note until a holder takes it, and wakes the bot to pull if the note is
  left with no holder (the holder let go without pulling, or its lease expired);
- before the holder lets go, one script either finds a note, deletes it and keeps
  the lease (the holder pulls once more, with that token), or finds none and
  deletes the lease: a wake-up is never lost between the check and the release;
  a holder that lets go otherwise (it stops, it failed) leaves the note in place;
- the cursor is saved by a script that checks the owner first, so a worker whose
  lease ran out (a long pause) cannot move the cursor under its successor, and the
  holder hands out no message once it knows, or must assume, its lease is gone;
- every script is safe to repeat, and one whose answer did not come is sent again
  as the same owner (see ``_lease``); a take that never got an answer is remembered,
  and the account's next consume in this process uses its owner, claiming the lease
  if Redis ran it late.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Final

from .._constants import LOGGER_NAME
from ._lease import LeaseKeys, LeaseScripts, RedisCursorLease, run_script
from ._redis import (
    DEFAULT_NAMESPACE,
    MISCONFIGURED,
    UNREACHABLE,
    Redis,
    check_namespace,
    close,
    open_client,
    positive,
    ready,
    tagged,
)

__all__ = ["DEFAULT_LEASE_TTL", "RedisCursorLease", "RedisCursorStore"]

logger = logging.getLogger(LOGGER_NAME)

#: Seconds an account's consumer lease lives without renewal: the longest a crashed
#: consumer keeps the others from its account.
DEFAULT_LEASE_TTL: Final = 10.0
#: Milliseconds a wake note waits for a holder to see it.
_WAKE_TTL_MS: Final = 600_000
#: What the note watcher's script answers.
_NO_NOTE, _HELD, _ORPHANED = 0, 1, 2


class RedisCursorStore:
    """Cursors on Redis, shared by every process, with one consumer per account at a time.

    It is an :class:`~wecom_kf_async.ExclusiveCursorStore`: ``kf.messages.stream``
    (and the bot) take the account's lease through :meth:`consume`. Keys:
    ``<namespace>:cursor:{<open_kfid>}``, ``<namespace>:lease:{<open_kfid>}`` and
    ``<namespace>:wake:{<open_kfid>}`` (one hash tag: one cluster slot per account);
    a cursor saved by a release before hash tags, ``<namespace>:cursor:<open_kfid>``,
    is read while the account has no other. Redis errors propagate once the lease
    scripts' own tries are spent: a cursor cannot be kept anywhere else without
    risking a skipped or repeated page.

    Replication is asynchronous: a failover can lose a lease or cursor write the old
    primary acknowledged (a page is then handled again; at least once still holds).
    ``wait_replicas`` narrows that window: each take and save then waits until that
    many replicas have it (Redis' ``WAIT``), at most ``wait_timeout`` seconds, and a
    write that fewer had in time is logged and counted in :attr:`unacknowledged`.

    Args:
        redis: A URL (see :func:`~wecom_kf_async.fleet.connect`; the store then owns
            and closes its client), or a client you own: a ``redis.asyncio.Redis``, a
            Sentinel's ``master_for()``, or a ``redis.asyncio.RedisCluster``.
        namespace: Prefix of the keys.
        lease_ttl: Seconds a lease lives without renewal (renewed every third of it
            while its consumer runs; a wake note is checked as often).
        monotonic: The clock that times the lease on this side: a holder whose last
            renewal is ``lease_ttl`` old takes its lease as lost.
        wait_replicas: Replicas that must have each take and save (0: don't wait).
        wait_timeout: Seconds to wait for them, at most.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        lease_ttl: float = DEFAULT_LEASE_TTL,
        monotonic: Callable[[], float] = time.monotonic,
        wait_replicas: int = 0,
        wait_timeout: float = 0.1,
    ) -> None:
        self.namespace = check_namespace(namespace)
        self.lease_ttl = positive("lease_ttl", lease_ttl)
        if isinstance(wait_replicas, bool) or not isinstance(wait_replicas, int):
            raise TypeError(f"wait_replicas must be an int, got {type(wait_replicas).__name__}")
        if wait_replicas < 0:
            raise ValueError(f"wait_replicas must be 0 or more, got {wait_replicas!r}")
        self.wait_replicas = wait_replicas
        self.wait_timeout = positive("wait_timeout", wait_timeout)
        self._redis, self._owned = open_client(redis)
        self._monotonic = monotonic
        self._scripts = LeaseScripts(
            self._redis,
            self.lease_ttl,
            monotonic,
            wait_replicas=wait_replicas,
            wait_timeout=self.wait_timeout,
        )
        #: Owner of a take whose answer never came, per account (claimed by the next one).
        self._unresolved: dict[str, str] = {}
        self._wakers: list[Callable[[str], object]] = []
        self._watchers: dict[str, asyncio.Task[None]] = {}

    def __repr__(self) -> str:
        return f"RedisCursorStore(namespace={self.namespace!r}, lease_ttl={self.lease_ttl!r})"

    def _keys(self, open_kfid: str) -> LeaseKeys:
        ns = self.namespace
        return LeaseKeys(
            tagged(ns, "lease", open_kfid),
            tagged(ns, "wake", open_kfid),
            tagged(ns, "cursor", open_kfid),
            f"{ns}:cursor:{open_kfid}",
        )

    @property
    def unacknowledged(self) -> int:
        """Lease takes and cursor saves that fewer than ``wait_replicas`` replicas had in time."""
        return self._scripts.unacknowledged

    async def get(self, open_kfid: str) -> str | None:
        """The saved cursor of *open_kfid*, or ``None``."""
        return await self._scripts.cursor(self._keys(open_kfid))

    async def set(self, open_kfid: str, cursor: str) -> None:
        """Save *cursor* for *open_kfid*, without a lease (for tools and migrations)."""
        await ready(self._redis)
        await self._redis.set(self._keys(open_kfid).cursor, cursor)

    # -- the lease -----------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def consume(
        self, open_kfid: str, token: str | None = None
    ) -> AsyncIterator[RedisCursorLease | None]:
        """Hold *open_kfid*'s lease for the block, or yield ``None`` (and leave a note).

        A note left while a waker is registered is watched (see :meth:`add_waker`).
        Leaving the block without :meth:`RedisCursorLease.again` saying "released"
        (a stop, an error) releases the lease and leaves any pending note in place.
        """
        keys = self._keys(open_kfid)
        owner = self._unresolved.pop(open_kfid, None) or secrets.token_hex(16)
        answered = False
        try:
            taken, since = await run_script(
                self._scripts.take,
                [keys.lease, keys.wake],
                [owner, self._scripts.lease_ms, token or "", _WAKE_TTL_MS],
                open_kfid=open_kfid,
                monotonic=self._monotonic,
            )
            answered = True
        finally:
            if not answered:  # Redis may still run it: the next consume claims the lease
                self._unresolved[open_kfid] = owner
        if not taken:
            self._watch(open_kfid)
            yield None
            return
        lease = RedisCursorLease(self._scripts, keys, open_kfid, owner, since)
        renewer = asyncio.create_task(lease._renew_forever(), name=f"kf-lease {open_kfid}")
        try:
            yield lease
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            if not lease._released:
                await self._let_go(keys, open_kfid, owner)

    async def _let_go(self, keys: LeaseKeys, open_kfid: str, owner: str) -> None:
        """Release a lease without pulling again; a pending note stays for its writer."""
        answered = False
        try:
            pending, _ = await run_script(
                self._scripts.release,
                [keys.lease, keys.wake],
                [owner],
                open_kfid=open_kfid,
                monotonic=self._monotonic,
                tries=1,
            )
            answered = True
        except Exception as exc:  # it expires on its own within lease_ttl anyway
            logger.warning(
                "%s: could not release the consumer lease (%s); it expires within %.1f s",
                open_kfid,
                exc,
                self.lease_ttl,
            )
        finally:
            if not answered:
                self._unresolved.setdefault(open_kfid, owner)
        if answered and pending:
            logger.info(
                "%s: released the consumer lease with a wake note pending; the worker "
                "that left it pulls",
                open_kfid,
            )

    # -- wake notes left with no holder --------------------------------------------

    def add_waker(self, wake: Callable[[str], object]) -> Callable[[], None]:
        """Call ``wake(open_kfid)`` when a wake note this store left has no holder any more.

        That happens when the holder let go without pulling again (it shut down, its
        pull failed) or its lease expired unrenewed (it crashed, or Redis ran a take
        its client had given up on): the account must be pulled, and nobody else will
        until the next callback or poll. While a waker is registered, each note this
        store leaves is checked every ``lease_ttl / 3`` seconds until a holder takes
        it. ``KfBot`` registers its own while it runs. *wake* is called in the event
        loop and must not block. Returns the function that removes it.
        """
        self._wakers.append(wake)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._wakers.remove(wake)

        return remove

    @property
    def watching(self) -> frozenset[str]:
        """The accounts whose wake note this store is watching now."""
        return frozenset(self._watchers)

    def _watch(self, open_kfid: str) -> None:
        if not self._wakers or open_kfid in self._watchers:
            return
        task = asyncio.get_running_loop().create_task(
            self._watch_note(open_kfid), name=f"kf-wake-note {open_kfid}"
        )
        self._watchers[open_kfid] = task
        task.add_done_callback(functools.partial(self._watched, open_kfid))

    def _watched(self, open_kfid: str, task: asyncio.Task[None]) -> None:
        if self._watchers.get(open_kfid) is task:
            del self._watchers[open_kfid]
        if not task.cancelled() and (exc := task.exception()) is not None:
            logger.error("%s: watching the wake note failed", open_kfid, exc_info=exc)

    async def _watch_note(self, open_kfid: str) -> None:
        """Until the note is taken or expires: wake the wakers if it is left holderless."""
        keys = self._keys(open_kfid)
        deadline = self._monotonic() + _WAKE_TTL_MS / 1000
        warned = False
        while self._monotonic() < deadline:
            await asyncio.sleep(self.lease_ttl / 3)
            try:
                state = int(await self._scripts.peek(keys=[keys.lease, keys.wake]))
            except MISCONFIGURED:
                raise
            except UNREACHABLE as exc:
                if not warned:
                    warned = True
                    logger.warning("%s: could not check the wake note (%s)", open_kfid, exc)
                continue
            if state == _NO_NOTE:  # a holder took it
                return
            if state == _ORPHANED:
                self._wake(open_kfid)
                return

    def _wake(self, open_kfid: str) -> None:
        wakers = list(self._wakers)
        if not wakers:
            logger.warning(
                "%s: a wake note has no holder and nobody here pulls; it waits for the "
                "next callback or poll",
                open_kfid,
            )
            return
        logger.info("%s: a wake note has no holder any more; pulling", open_kfid)
        for wake in wakers:
            try:
                wake(open_kfid)
            except Exception:
                logger.exception("%s: a waker raised", open_kfid)

    async def aclose(self) -> None:
        """Stop watching wake notes; close the Redis client if the store created it."""
        watchers = list(self._watchers.values())
        for task in watchers:
            task.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        if self._owned:
            await close(self._redis)
