"""``kf.messages.stream``: every message of an account, at least once, cursor saved after each page.

The guarantee: a page's cursor is saved only after the consumer has taken every
message of that page (when it asks for the message after the page's last one, or
calls :meth:`MessageStream.ack`), so a consumer killed at any point re-reads at
most the page it was working on and never skips a message. Messages already
handed out in this stream are dropped by ``msgid`` (a bounded window), so a
restart delivers each message at most once more. The stream holds one page.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Final

import attrs

from .._constants import LOGGER_NAME
from .._errors import InvalidSyncTokenError, SyncCursorError
from ..models import KfMessage, SyncPage
from .cursors import CursorStore, ExclusiveCursorStore

__all__ = ["DEFAULT_DEDUP_WINDOW", "MessageStream", "RecentIds"]

logger = logging.getLogger(LOGGER_NAME)

#: How many recent msgids a stream remembers to drop duplicates.
DEFAULT_DEDUP_WINDOW: Final = 10_000

#: Fetches one page: ``(cursor, token) -> SyncPage``.
FetchPage = Callable[[str | None, str | None], Awaitable[SyncPage]]


class RecentIds:
    """The last *size* distinct ids seen, oldest forgotten first."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._order: deque[str] = deque()
        self._seen: set[str] = set()

    def add(self, msgid: str) -> bool:
        """Remember *msgid*; return whether it was new."""
        if msgid in self._seen:
            return False
        self._seen.add(msgid)
        self._order.append(msgid)
        if len(self._order) > self._size:
            self._seen.discard(self._order.popleft())
        return True

    def __len__(self) -> int:
        return len(self._order)


@attrs.define
class _Page:
    """The page in hand: its cursor waits to be saved until all of it was taken."""

    cursor: str | None
    save: Callable[[str], Awaitable[None]]
    remaining: int


class MessageStream:
    """The async iterator of one account's messages (see the module for its guarantee).

    Iterate with ``async for``. The cursor of a page is saved when the consumer asks
    for the message after the page's last one; :meth:`ack` saves it at once, for a
    consumer about to stop after the last message of a page. Leaving the loop early
    saves nothing that was not taken, so the page in hand is read again next time.
    """

    def __init__(
        self,
        fetch: FetchPage,
        open_kfid: str,
        *,
        cursors: CursorStore,
        token: str | None = None,
        dedup_window: int = DEFAULT_DEDUP_WINDOW,
        on_page: Callable[[SyncPage], None] | None = None,
    ) -> None:
        self.open_kfid = open_kfid
        self._on_page = on_page
        self._fetch = fetch
        self._cursors = cursors
        self._token = token
        self._recent = RecentIds(dedup_window)
        self._page: _Page | None = None
        self._run = self._messages()
        #: Pages read so far (empty ones included).
        self.pages = 0
        #: Messages dropped as duplicates of recent ones.
        self.duplicates = 0

    def __repr__(self) -> str:
        return f"<MessageStream {self.open_kfid} pages={self.pages}>"

    def __aiter__(self) -> MessageStream:
        return self

    async def __anext__(self) -> KfMessage:
        return await self._run.__anext__()

    async def aclose(self) -> None:
        """Stop: nothing more is read, and the page in hand is not marked as taken."""
        await self._run.aclose()

    async def ack(self) -> bool:
        """Save the cursor now if every message of the page in hand was taken.

        Returns whether a cursor was saved (``False`` in the middle of a page: its
        cursor is only ever saved with all of it).
        """
        page = self._page
        if page is None or page.remaining or page.cursor is None:
            return False
        cursor, page.cursor = page.cursor, None
        await page.save(cursor)
        return True

    async def _messages(self) -> AsyncGenerator[KfMessage, None]:
        store = self._cursors
        kfid = self.open_kfid
        if not isinstance(store, ExclusiveCursorStore):
            async for message in self._pages(await store.get(kfid), _saver(store, kfid)):
                yield message
            return
        async with store.consume(kfid, self._token) as lease:
            if lease is None:
                logger.info("%s: another consumer holds the account; it will pull again", kfid)
                return
            while True:
                async for message in self._pages(await lease.get(), lease.set):
                    lease.ensure_held()  # lost, or not renewed in time: hand out nothing more
                    yield message
                again, token = await lease.again()
                if not again:
                    return
                self._token = token or self._token

    async def _pages(
        self, cursor: str | None, save: Callable[[str], Awaitable[None]]
    ) -> AsyncIterator[KfMessage]:
        while True:
            page = await self._next_page(cursor)
            self.pages += 1
            if self._on_page is not None:
                self._on_page(page)
            # An unknown item may come without a msgid (""): never taken for a duplicate.
            fresh = [m for m in page.messages if not m.msgid or self._recent.add(m.msgid)]
            self.duplicates += len(page.messages) - len(fresh)
            held = self._page = _Page(cursor=page.next_cursor, save=save, remaining=len(fresh))
            for message in fresh:
                held.remaining -= 1
                yield message
            if held.cursor is not None:  # not saved by ack() already
                await save(held.cursor)
                held.cursor = None
            cursor = page.next_cursor or cursor
            if not page.has_more:
                return

    async def _next_page(self, cursor: str | None) -> SyncPage:
        """One page, dropping a spent token or an expired cursor (each at most once:
        the same error again, with nothing left to drop, raises)."""
        while True:
            try:
                return await self._fetch(cursor, self._token)
            except InvalidSyncTokenError:
                if self._token is None:
                    raise
                logger.info(
                    "%s: the callback's token is spent; going on without it", self.open_kfid
                )
                self._token = None
            except SyncCursorError:
                if cursor is None:
                    raise
                logger.warning(
                    "%s: the saved cursor is no longer valid; reading again from the oldest "
                    "message of the last 3 days",
                    self.open_kfid,
                )
                cursor = None


def _saver(store: CursorStore, open_kfid: str) -> Callable[[str], Awaitable[None]]:
    async def save(cursor: str) -> None:
        await store.set(open_kfid, cursor)

    return save
