"""The bot's cursor store, watched: which account has handled messages whose cursor was not saved.

The bot hands the stream a thin wrapper of its store. Each read records the cursor
the store holds; a save that fails (a full or read-only disk, Redis away) records
the cursor the handled messages reached, with the one the store still holds. That
account is then held (see the lanes): pulling again would hand the same messages
out again on every try. :meth:`WatchedCursors.settle` saves the recorded cursor
once the store works again, unless the store moved meanwhile (another consumer
read the account): then that consumer's cursor stands.

A lost lease (:class:`~wecom_kf_async.LeaseLostError`) is no store failure: another
consumer holds the account, and its cursor stands.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager

import attrs

from .._constants import LOGGER_NAME
from .._errors import LeaseLostError
from ..messages.cursors import CursorLease, CursorStore, ExclusiveCursorStore

__all__ = ["Unsaved", "WatchedCursors", "watched"]

logger = logging.getLogger(LOGGER_NAME)


@attrs.frozen
class Unsaved:
    """A cursor the handled messages reached that the store did not take."""

    #: What the store held when the account's pull read it.
    base: str | None
    #: Where the handled messages reached.
    cursor: str


class WatchedCursors:
    """A ``CursorStore`` that records the account whose cursor could not be saved."""

    def __init__(self, store: CursorStore) -> None:
        self.store = store
        self._held: dict[str, str | None] = {}
        #: Per account, the cursor that could not be saved.
        self.unsaved: dict[str, Unsaved] = {}

    def __repr__(self) -> str:
        return f"<WatchedCursors {self.store!r} unsaved={len(self.unsaved)}>"

    async def get(self, open_kfid: str) -> str | None:
        """The saved cursor (recorded as what the store holds)."""
        return self._read(open_kfid, await self.store.get(open_kfid))

    async def set(self, open_kfid: str, cursor: str) -> None:
        """Save *cursor*; a failure is recorded, then raised."""
        await self._save(open_kfid, cursor, self.store.set(open_kfid, cursor))

    def _read(self, open_kfid: str, cursor: str | None) -> str | None:
        self._held[open_kfid] = cursor
        return cursor

    async def _save(self, open_kfid: str, cursor: str, saving: Awaitable[None]) -> None:
        try:
            await saving
        except LeaseLostError:
            raise
        except Exception:
            before = self.unsaved.get(open_kfid)
            base = before.base if before is not None else self._held.get(open_kfid)
            self.unsaved[open_kfid] = Unsaved(base, cursor)
            raise
        self._held[open_kfid] = cursor

    async def settle(self, open_kfid: str) -> bool:
        """Save the account's unsaved cursor, if any (raises while the store fails).

        Returns whether there was one.
        """
        unsaved = self.unsaved.get(open_kfid)
        if unsaved is None:
            return False
        if await self.store.get(open_kfid) == unsaved.base:
            await self.store.set(open_kfid, unsaved.cursor)
        else:
            logger.warning("%s: the saved cursor moved meanwhile; it stands", open_kfid)
        self._forget(open_kfid, unsaved)
        return True

    def _forget(self, open_kfid: str, unsaved: Unsaved) -> None:
        del self.unsaved[open_kfid]
        self._held[open_kfid] = unsaved.cursor


class WatchedExclusiveCursors(WatchedCursors):
    """The same over an ``ExclusiveCursorStore``: leases pass through, their saves watched."""

    store: ExclusiveCursorStore

    def consume(
        self, open_kfid: str, token: str | None = None
    ) -> AbstractAsyncContextManager[CursorLease | None]:
        """The store's lease on *open_kfid*, its saves watched (``None``: another holds it)."""
        return self._consume(open_kfid, token)

    def add_waker(self, wake: Callable[[str], object]) -> Callable[[], None]:
        """The store's wake-up for notes left with no holder (see ``ExclusiveCursorStore``)."""
        return self.store.add_waker(wake)

    @contextlib.asynccontextmanager
    async def _consume(
        self, open_kfid: str, token: str | None
    ) -> AsyncIterator[CursorLease | None]:
        async with self.store.consume(open_kfid, token) as lease:
            yield None if lease is None else _WatchedLease(self, open_kfid, lease)

    async def settle(self, open_kfid: str) -> bool:
        """Save the unsaved cursor under the account's lease (see the module)."""
        unsaved = self.unsaved.get(open_kfid)
        if unsaved is None:
            return False
        async with self.store.consume(open_kfid) as lease:
            if lease is None:
                logger.warning(
                    "%s: another consumer holds the account; its cursor stands", open_kfid
                )
            elif await lease.get() == unsaved.base:
                await lease.set(unsaved.cursor)
        self._forget(open_kfid, unsaved)
        return True


class _WatchedLease:
    """A lease whose reads and saves the watcher records."""

    def __init__(self, watcher: WatchedCursors, open_kfid: str, lease: CursorLease) -> None:
        self._watcher = watcher
        self._open_kfid = open_kfid
        self._lease = lease

    def __repr__(self) -> str:
        return f"<watched {self._lease!r}>"

    async def get(self) -> str | None:
        return self._watcher._read(self._open_kfid, await self._lease.get())

    async def set(self, cursor: str) -> None:
        await self._watcher._save(self._open_kfid, cursor, self._lease.set(cursor))

    async def again(self) -> tuple[bool, str | None]:
        return await self._lease.again()

    def ensure_held(self) -> None:
        self._lease.ensure_held()


def watched(store: CursorStore) -> WatchedCursors:
    """The watcher of *store*, exclusive if *store* is."""
    if isinstance(store, ExclusiveCursorStore):
        return WatchedExclusiveCursors(store)
    return WatchedCursors(store)
