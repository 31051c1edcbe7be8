"""``KfBot``: wake-ups in, typed messages out to handlers, one pull per wake-up.

A wake-up (a ``kf_msg_or_event`` callback, or a poll) names an account and maybe a
``Token``. The bot:

- drops a wake-up whose Token it has seen (WeCom repeats a callback it thinks was
  missed: one pull per Token);
- runs one lane per account: a wake-up that arrives while the account's pull runs
  is noted, and however many arrive, the lane pulls once more afterwards, with the
  newest Token (coalescing);
- pulls with ``kf.messages.stream`` (cursor saved after each page, at least once;
  with a ``RedisCursorStore``, one process of a fleet at a time per account);
- hands each message to the handlers of its class in order, one message at a time
  per account (per-account order), with at most ``max_concurrency`` handlers
  running across accounts.

A handler that raises is logged with the msgid and the error hook is called; the
stream goes on and the failing message is **not** retried (its page's cursor is
saved like any other), so record what you must retry in the hook.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

import attrs

from .._constants import LOGGER_NAME
from .._errors import KfError
from ..instrumentation.events import PullFinished, PullStarted
from ..messages.cursors import CursorStore, ExclusiveCursorStore
from ..messages.stream import RecentIds
from ..models import Event, KfMessage, Message
from ._dispatch import ErrorHook, Handler, Handlers

if TYPE_CHECKING:
    from .._client import KfClient
    from .asgi import ASGIApp
    from .crypto import CallbackCrypto

__all__ = [
    "DEFAULT_BOT_CONCURRENCY",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "ErrorHook",
    "KfBot",
]

logger = logging.getLogger(LOGGER_NAME)

#: Handlers running at once across accounts (one at a time within an account).
DEFAULT_BOT_CONCURRENCY: Final = 16
#: Seconds ``aclose`` waits for lanes to finish the message in hand.
DEFAULT_SHUTDOWN_TIMEOUT: Final = 10.0
#: Seconds between two rounds of :meth:`KfBot.poll`.
DEFAULT_POLL_INTERVAL: Final = 5.0
#: Tokens remembered to drop repeated callbacks.
_TOKEN_MEMORY: Final = 10_000
#: Tries of one pull that fails (the wake-up is not dropped on a blip).
_PULL_TRIES: Final = 3

_M = TypeVar("_M", bound=KfMessage)


@attrs.define
class _Lane:
    """One account's pulls: the one running, and whether another is due."""

    task: asyncio.Task[None] | None = None
    again: bool = False
    token: str | None = None


class KfBot:
    """Delivers every account's messages to typed handlers (see the module).

    Args:
        kf: An open (or soon opened) client.
        crypto: The callback's ``CallbackCrypto`` (for :meth:`asgi_app`).
        cursors: Where cursors are kept: ``FileCursorStore`` for one process,
            ``RedisCursorStore`` for a fleet (default: in memory, lost on exit).
        max_concurrency: Handlers running at once across accounts.
        shutdown_timeout: Seconds :meth:`aclose` waits for the messages in hand.
        on_error: Called (sync or async) with ``(message, exception)`` when a
            handler raises.
    """

    def __init__(
        self,
        kf: KfClient,
        crypto: CallbackCrypto | None = None,
        *,
        cursors: CursorStore | None = None,
        max_concurrency: int = DEFAULT_BOT_CONCURRENCY,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        on_error: ErrorHook | None = None,
    ) -> None:
        from ..messages.cursors import InMemoryCursorStore

        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise TypeError("max_concurrency must be an int")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if cursors is not None and not isinstance(cursors, CursorStore):
            raise TypeError("cursors must be a CursorStore (async get/set per open_kfid)")
        self.kf = kf
        self.crypto = crypto
        hooks = kf.instrumentation
        self._hooks = hooks
        self._pull_events = hooks.wants(PullStarted) or hooks.wants(PullFinished)
        self._table = Handlers(max_concurrency, on_error, hooks)
        self.cursors: CursorStore = cursors if cursors is not None else InMemoryCursorStore()
        self.shutdown_timeout = float(shutdown_timeout)
        self._tokens = RecentIds(_TOKEN_MEMORY)
        self._lanes: dict[str, _Lane] = {}
        self._state = "new"
        self._stop = asyncio.Event()
        self._closed = asyncio.Event()
        self._waiting_warned = False
        self._forget_waker: Callable[[], None] | None = None  # fleet: see _wake_for_note
        #: Pulls started, per account (for tests and metrics).
        self.pulls: dict[str, int] = {}

    @property
    def handled(self) -> int:
        """Messages handed to handlers so far (for tests and metrics)."""
        return self._table.handled

    def __repr__(self) -> str:
        return f"<KfBot {self._state} accounts={len(self._lanes)}>"

    # -- handlers ----------------------------------------------------------------

    def on(self, cls: type[_M]) -> Callable[[Callable[[_M], Awaitable[None]]], Any]:
        """Register an async handler for messages of *cls* (a ``Message`` class) and subclasses.

        Use as a decorator: ``@bot.on(TextMessage)``. Several handlers of one
        class run in the order they were registered; a message goes to the
        handlers of its nearest class that has some.
        """
        return self._table.register(cls, Message, "on")

    def on_event(self, cls: type[_M]) -> Callable[[Callable[[_M], Awaitable[None]]], Any]:
        """Register an async handler for events of *cls* (an ``Event`` class) and subclasses."""
        return self._table.register(cls, Event, "on_event")

    def fallback(self, handler: Callable[[KfMessage], Awaitable[None]]) -> Any:
        """Register an async handler for every message and event no other handler takes."""
        self._table.add_fallback(handler)
        return handler

    def handlers_for(self, cls: type[KfMessage]) -> list[Handler]:
        """The handlers of a message of *cls*: its nearest registered class's, or the fallback."""
        return self._table.for_class(cls)

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def start(self) -> None:
        """Start pulling (wake-ups that came before are pulled now)."""
        if self._state == "running":
            return
        if self._state == "closed":
            raise RuntimeError("KfBot cannot be started again after aclose()")
        self._state = "running"
        if isinstance(self.cursors, ExclusiveCursorStore):  # fleet: see _wake_for_note
            self._forget_waker = self.cursors.add_waker(self._wake_for_note)
        for open_kfid, lane in self._lanes.items():
            if lane.again and lane.task is None:
                lane.again = False
                self._start_lane(open_kfid, lane, lane.token)

    async def aclose(self) -> None:
        """Stop: lanes finish the message in hand and save a finished page's cursor.

        Lanes still busy after ``shutdown_timeout`` are cancelled; their page is
        read again next time (at least once). A second call (say, a signal handler's
        while ``async with bot:`` exits) returns when the first is done.
        """
        if self._state == "closed":
            await self._closed.wait()
            return
        self._state = "closed"
        self._stop.set()
        if self._forget_waker is not None:  # fleet: see _wake_for_note
            self._forget_waker()
        try:
            tasks = [lane.task for lane in self._lanes.values() if lane.task is not None]
            if tasks:
                _, busy = await asyncio.wait(tasks, timeout=self.shutdown_timeout)
                for task in busy:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            self._closed.set()

    @property
    def running(self) -> bool:
        """Whether the bot pulls (between ``start`` and ``aclose``)."""
        return self._state == "running"

    # -- wake-ups ----------------------------------------------------------------

    def wake(self, open_kfid: str, token: str | None = None) -> bool:
        """Messages are waiting on *open_kfid*: pull them (returns at once).

        Returns ``False`` when the wake-up was dropped: a Token seen before, or a
        closed bot. A wake-up while the account's pull runs makes it pull once more
        afterwards, with the newest Token.
        """
        if self._state == "closed":
            return False
        if token is not None and not self._tokens.add(token):
            logger.debug("%s: callback repeated (same Token); one pull is enough", open_kfid)
            return False
        lane = self._lanes.get(open_kfid)
        if lane is None:
            lane = self._lanes[open_kfid] = _Lane()
        if lane.task is not None or self._state != "running":
            lane.again = True
            lane.token = token or lane.token
            if self._state != "running" and not self._waiting_warned:
                self._waiting_warned = True
                logger.warning(
                    "KfBot is not running yet: wake-ups wait until 'async with bot:' or the "
                    "ASGI lifespan starts it"
                )
            return True
        self._start_lane(open_kfid, lane, token)
        return True

    def _wake_for_note(self, open_kfid: str) -> None:
        """Fleet: a wake note this bot left has no holder any more (the holder let go
        without pulling, or its lease expired): pull, if the account is this bot's."""
        if open_kfid in self._lanes:
            self.wake(open_kfid)

    def _start_lane(self, open_kfid: str, lane: _Lane, token: str | None) -> None:
        lane.token = None
        lane.task = asyncio.get_running_loop().create_task(
            self._run_lane(open_kfid, lane, token), name=f"kf-bot {open_kfid}"
        )

    async def _run_lane(self, open_kfid: str, lane: _Lane, token: str | None) -> None:
        try:
            while not self._stop.is_set():
                await self._pull(open_kfid, token)
                if not lane.again:
                    return
                lane.again, token, lane.token = False, lane.token, None
        finally:
            lane.task = None

    async def _pull(self, open_kfid: str, token: str | None) -> None:
        self.pulls[open_kfid] = self.pulls.get(open_kfid, 0) + 1
        if not self._pull_events:
            await self._pull_tries(open_kfid, token)
            return
        monotonic = time.monotonic
        started, before = monotonic(), self.handled
        self._hooks.emit(PullStarted(open_kfid=open_kfid, with_token=token is not None))
        error: str | None = None
        try:
            await self._pull_tries(open_kfid, token)
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            self._hooks.emit(
                PullFinished(
                    open_kfid=open_kfid,
                    messages=self.handled - before,
                    duration=monotonic() - started,
                    error=error,
                )
            )

    async def _pull_tries(self, open_kfid: str, token: str | None) -> None:
        for attempt in range(1, _PULL_TRIES + 1):
            stream = self.kf.messages.stream(open_kfid, token=token, cursors=self.cursors)
            try:
                async for message in stream:
                    await self._table.dispatch(message)
                    if self._stop.is_set():
                        await stream.ack()
                        return
                return
            except KfError as exc:
                logger.warning(
                    "%s: pulling messages failed (try %d of %d): %s",
                    open_kfid,
                    attempt,
                    _PULL_TRIES,
                    exc,
                )
                token = None  # a retried pull never reuses a token
                if attempt == _PULL_TRIES or await self._stopped_within(2.0**attempt):
                    return
            finally:
                await stream.aclose()

    async def _stopped_within(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return False
        return True

    # -- sources of wake-ups -----------------------------------------------------

    async def poll(
        self, *, interval: float = DEFAULT_POLL_INTERVAL, open_kfids: Iterable[str] | None = None
    ) -> None:
        """Wake the accounts every *interval* seconds, without callbacks, until the bot stops.

        For development and for workers that cannot receive HTTP: calls without a
        Token run on the strict budget of ``sync_msg`` without one. Run it as a task
        inside ``async with bot:``. *open_kfids* defaults to every account of the
        corp (``kf.accounts.list()`` each round).
        """
        if not interval > 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        fixed = None if open_kfids is None else list(open_kfids)
        while not self._stop.is_set():
            if fixed is None:
                try:
                    kfids = [account.open_kfid for account in await self.kf.accounts.list()]
                except KfError as exc:
                    logger.warning("poll: listing the accounts failed: %s", exc)
                    kfids = []
            else:
                kfids = fixed
            for open_kfid in kfids:
                self.wake(open_kfid)
            if await self._stopped_within(interval):
                return

    def asgi_app(self) -> ASGIApp:
        """The ASGI app that receives WeCom's callbacks for this bot (see ``callback.asgi``)."""
        from .asgi import callback_app

        if self.crypto is None:
            raise ValueError("asgi_app() needs the bot's CallbackCrypto (KfBot(kf, crypto))")
        return callback_app(self, self.crypto)
