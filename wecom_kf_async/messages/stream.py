"""``kf.messages.stream``: every message of an account, at least once, cursor saved after each page.

The guarantee: a page's cursor is saved only after the consumer has taken every
message of that page (when it asks for the message after the page's last one, or
calls :meth:`MessageStream.ack`), so a consumer killed at any point re-reads at
most the page it was working on and never skips a message. Messages already
handed out in this stream are dropped by ``msgid`` (a bounded window), so a
restart delivers each message at most once more. The stream holds one page.

A server that makes no progress (page after page with ``has_more``, no new
message and the same cursor) is waited out with a growing backoff, then given up
on with :class:`~wecom_kf_async.StreamStalledError`: the stream never spins.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from typing import Final

import attrs

from .. import _checks
from .._constants import LOGGER_NAME
from .._errors import InvalidSyncTokenError, StreamStalledError, SyncCursorError
from .._retry import is_testing
from ..models import KfMessage, SyncPage
from .cursors import CursorStore, ExclusiveCursorStore

__all__ = ["DEFAULT_DEDUP_WINDOW", "DEFAULT_MAX_STALLED_PAGES", "MessageStream", "RecentIds"]

logger = logging.getLogger(LOGGER_NAME)

#: How many recent msgids a stream remembers to drop duplicates.
DEFAULT_DEDUP_WINDOW: Final = 10_000
#: Pages in a row without progress (``has_more``, no new message, the same cursor)
#: after which a stream gives up. Between them it waits 0.5 s, 1 s, 2 s, ... (at
#: most 30 s, the upper half jittered): about a minute in all by default.
DEFAULT_MAX_STALLED_PAGES: Final = 8
_STALL_BACKOFF_BASE: Final = 0.5
_STALL_BACKOFF_CAP: Final = 30.0

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
    After *max_stalled_pages* pages in a row without progress it raises
    :class:`~wecom_kf_async.StreamStalledError`, having waited on *sleep* between them.
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
        max_stalled_pages: int = DEFAULT_MAX_STALLED_PAGES,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        on_stall: Callable[[int], None] | None = None,
    ) -> None:
        self.open_kfid = open_kfid
        self._on_page = on_page
        self._max_stalled = _checks.bounded_int("max_stalled_pages", max_stalled_pages, 1, 10_000)
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._on_stall = on_stall
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
        self, saved: str | None, save: Callable[[str], Awaitable[None]]
    ) -> AsyncIterator[KfMessage]:
        cursor = self._sendable(saved)
        stalled = 0
        while True:
            page, cursor = await self._next_page(cursor)
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
            if not page.has_more:
                return
            # Progress: a new message (one without a msgid cannot tell) or a cursor moved on.
            moved = page.next_cursor is not None and page.next_cursor != cursor
            stalled = 0 if moved or any(m.msgid for m in fresh) else stalled + 1
            if stalled:
                await self._stalled(stalled)
            cursor = page.next_cursor or cursor

    async def _stalled(self, pages: int) -> None:
        """Back off after the *pages*-th page in a row without progress; give up at the bound."""
        if pages >= self._max_stalled:
            if self._on_stall is not None:
                self._on_stall(pages)
            raise StreamStalledError(self.open_kfid, pages)
        ceiling = min(_STALL_BACKOFF_CAP, _STALL_BACKOFF_BASE * 2.0 ** (pages - 1))
        wait = 0.0 if is_testing() else self._rng.uniform(ceiling / 2, ceiling)
        logger.info(
            "%s: page %d in a row without progress (has_more, no new message, the same "
            "cursor); waiting %.2fs",
            self.open_kfid,
            pages,
            wait,
        )
        await self._sleep(wait)

    def _sendable(self, cursor: str | None) -> str | None:
        """The saved cursor, or ``None`` if our own checks refuse it (saved before they ran)."""
        if cursor is None:
            return None
        try:
            return _checks.cursor(cursor)
        except (TypeError, ValueError):
            logger.warning(
                "%s: the saved cursor is malformed and cannot be sent; reading again from the "
                "oldest message of the last 3 days",
                self.open_kfid,
            )
            return None

    async def _next_page(self, cursor: str | None) -> tuple[SyncPage, str | None]:
        """One page and the cursor it was read from, dropping a spent token or an expired
        cursor (each at most once: the same error again, with nothing left to drop, raises)."""
        while True:
            try:
                return await self._fetch(cursor, self._token), cursor
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
