"""``KfBot``: wake-ups in, typed messages out to handlers, one pull per wake-up.

A wake-up (a ``kf_msg_or_event`` callback, or a poll) names an account and maybe a
``Token``. The bot:

- drops a wake-up whose Token it has seen (WeCom repeats a callback it thinks was
  missed: one pull per Token); with a ``RedisCursorStore`` (or ``callback_tokens``)
  the Tokens already pulled with are shared by the fleet and survive a restart;
- runs one lane per account, coalescing wake-ups, and never lets a failed pull end
  it (see ``_lanes``: every failure logged, reported and retried with backoff; an
  unsaved cursor holds the account until it is saved);
- pulls with ``kf.messages.stream`` (cursor saved after each page, at least once;
  with a ``RedisCursorStore``, one process of a fleet at a time per account);
- hands each message to the handlers of its class in order, one message at a time
  per account (per-account order), with at most ``max_concurrency`` handlers
  running across accounts.

A handler that raises (a stray ``CancelledError`` included) is logged with the
msgid and the error hook is called; the stream goes on and the failing message is
**not** retried (its page's cursor is saved like any other), so record what you
must retry in the hook. The ASGI app (``asgi_app()``) is a shell over this class.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypeVar

from .. import _checks
from .._constants import LOGGER_NAME
from ..instrumentation.events import PullFinished, PullStarted
from ..messages.cursors import CursorStore, ExclusiveCursorStore
from ..models import Event, KfMessage, Message
from ._auth import AccountAuth, AuthHandler
from ._dispatch import ErrorHook, Handler, Handlers
from ._lanes import Lane, Lanes
from ._saves import watched
from ._tokens import TOKEN_LIFETIME, CallbackTokens, SeenTokens, fleet_tokens
from .asgi import DEFAULT_REPLAY_WINDOW, ASGIApp, callback_app, check_wake
from .events import KfCallback

if TYPE_CHECKING:
    from .._client import KfClient
    from .crypto import CallbackCrypto

__all__ = [
    "DEFAULT_BOT_CONCURRENCY",
    "DEFAULT_POLL_INTERVAL",
    "DEFAULT_REPLAY_WINDOW",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "CallbackTokens",
    "ErrorHook",
    "KfBot",
]

logger = logging.getLogger(LOGGER_NAME)

#: Handlers running at once across accounts (one at a time within an account).
DEFAULT_BOT_CONCURRENCY: Final = 16
#: Seconds ``aclose`` takes at most, lanes finishing the message in hand.
DEFAULT_SHUTDOWN_TIMEOUT: Final = 10.0
#: Seconds between two rounds of :meth:`KfBot.poll`.
DEFAULT_POLL_INTERVAL: Final = 5.0

_M = TypeVar("_M", bound=KfMessage)


class KfBot:
    """Delivers every account's messages to typed handlers (see the module).

    Args:
        kf: The client. One nobody has opened yet is opened by :meth:`start` and
            closed by :meth:`aclose`; one you opened stays yours.
        crypto: The callback's ``CallbackCrypto`` (for :meth:`asgi_app`).
        cursors: Where cursors are kept: ``FileCursorStore`` for one process,
            ``RedisCursorStore`` for a fleet (default: in memory, lost on exit).
        max_concurrency: Handlers running at once across accounts.
        shutdown_timeout: Seconds :meth:`aclose` takes at most, whatever handlers do.
        on_error: Called (sync or async) with ``(message, exception)`` when a
            handler raises.
        replay_window: Seconds a callback's signed ``timestamp`` may be from now
            (either way) before the app refuses it (``TimestampError``, 403); ``None``
            turns the check off.
        callback_tokens: Where the Tokens already pulled with are shared by a fleet
            (default: the ``RedisCursorStore``'s Redis if ``cursors`` is one, else
            this process's memory only).
        clock: The wall clock (epoch seconds) callbacks' timestamps are checked on.
        monotonic: The clock pulls are timed on.
        sleep: What the bot waits with (retries, polling, shutdown).
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
        replay_window: float | None = DEFAULT_REPLAY_WINDOW,
        callback_tokens: CallbackTokens | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        from ..messages.cursors import InMemoryCursorStore

        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise TypeError("max_concurrency must be an int")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if cursors is not None and not isinstance(cursors, CursorStore):
            raise TypeError("cursors must be a CursorStore (async get/set per open_kfid)")
        if callback_tokens is not None and not isinstance(callback_tokens, CallbackTokens):
            raise TypeError("callback_tokens must have async seen(token) and remember(token)")
        #: Seconds a callback's timestamp may be from now, or ``None``.
        self.replay_window = (
            None if replay_window is None else _seconds("replay_window", replay_window)
        )
        self.kf = kf
        self.crypto = crypto
        hooks = kf.instrumentation
        self._hooks = hooks
        self._pull_events = hooks.wants(PullStarted) or hooks.wants(PullFinished)
        self._table = Handlers(max_concurrency, on_error, hooks)
        self.cursors: CursorStore = cursors if cursors is not None else InMemoryCursorStore()
        self._watched = watched(self.cursors)
        self._clock = clock
        self._monotonic = monotonic
        ttl = max(TOKEN_LIFETIME, self.replay_window or 0.0)
        self._tokens = SeenTokens(callback_tokens or fleet_tokens(self.cursors, ttl))
        self._run = Lanes(
            kf,
            self._pull,
            self._watched,
            shutdown_timeout=_seconds("shutdown_timeout", shutdown_timeout, zero=True),
            sleep=sleep,
        )
        self._lanes = self._run.lanes
        self._stop = self._run.stop
        self._waiting_warned = False
        self._forget_waker: Callable[[], None] | None = None  # fleet: see _wake_for_note
        self._auth = AccountAuth()
        #: Pulls started, per account (for tests and metrics).
        self.pulls: dict[str, int] = {}

    @property
    def handled(self) -> int:
        """Messages handed to handlers so far (for tests and metrics)."""
        return self._table.handled

    @property
    def shutdown_timeout(self) -> float:
        """Seconds :meth:`aclose` takes at most."""
        return self._run.shutdown_timeout

    def __repr__(self) -> str:
        return f"<KfBot {self._run.state} accounts={len(self._lanes)}>"

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

    def on_account_auth_change(self, handler: AuthHandler) -> AuthHandler:
        """Register an async handler of ``kf_account_auth_change`` (page 97713); it gets
        the :class:`KfCallback` (``auth_add_open_kfids``, ``auth_del_open_kfids``).

        The bot itself consumes an authorised account at once and drops wake-ups of a
        withdrawn one, whatever handlers do; :meth:`poll` follows both."""
        return self._auth.register(handler)

    def account_auth_changed(self, callback: KfCallback) -> bool:
        """Take a ``kf_account_auth_change`` (the ASGI app calls this; returns at once).

        Returns ``False`` when the bot is closing (the app then answers 503, so WeCom
        repeats the callback).
        """
        if not self.accepting:
            return False
        self._auth.apply(callback)
        for open_kfid in callback.auth_add_open_kfids:
            self.wake(open_kfid)
        return True

    @property
    def withdrawn(self) -> frozenset[str]:
        """Accounts a ``kf_account_auth_change`` withdrew (their wake-ups are dropped)."""
        return frozenset(self._auth.withdrawn)

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
        """Start pulling (wake-ups that came before are pulled now).

        Opens the client if nobody has yet. Raises ``RuntimeError`` if the client is
        closed, or the bot was closed.
        """
        await self._run.start()
        if self._forget_waker is None and isinstance(self.cursors, ExclusiveCursorStore):
            # fleet: a wake note this bot left with no holder wakes it (_wake_for_note)
            self._forget_waker = self.cursors.add_waker(self._wake_for_note)

    async def aclose(self) -> None:
        """Stop, within ``shutdown_timeout`` whatever handlers do.

        Lanes finish the message in hand and save a finished page's cursor; at the
        end of the timeout the busy ones are cancelled (their page is read again
        next time, at least once) and one that will not stop is abandoned and
        logged. Then the client is closed if the bot opened it. Called from a
        handler, it starts the shutdown and returns at once; a second call waits
        for the first.
        """
        if self._forget_waker is not None:  # fleet: see _wake_for_note
            self._forget_waker()
            self._forget_waker = None
        # Auth-change handlers end alongside the lanes; the lanes' shutdown starts
        # first, in this very task (a handler that closes its bot returns at once).
        handlers = asyncio.ensure_future(self._auth.aclose(self.shutdown_timeout))
        try:
            await self._run.aclose()
        finally:
            await handlers

    @property
    def running(self) -> bool:
        """Whether the bot pulls (between ``start`` and ``aclose``)."""
        return self._run.state == "running"

    @property
    def accepting(self) -> bool:
        """Whether a wake-up will be pulled (the bot has not begun to close)."""
        return self._run.state in ("new", "running")

    # -- wake-ups ----------------------------------------------------------------

    def wake(self, open_kfid: str, token: str | None = None) -> bool:
        """Messages are waiting on *open_kfid*: pull them (returns at once).

        Returns ``False`` when the wake-up was dropped: a Token seen before, or a
        closing bot. A wake-up while the account's pull runs makes it pull once more
        afterwards, with the newest Token. Raises ``ValueError`` for an id or Token
        ``sync_msg`` would refuse.
        """
        check_wake(open_kfid, token, ("open_kfid", "token"))
        if not self.accepting:
            return False
        if not self._auth.serves(open_kfid):
            logger.info("%s was withdrawn from the app: wake-up dropped", open_kfid)
            return False
        if token is not None and not self._tokens.first_here(token):
            logger.debug("%s: callback repeated (same Token); one pull is enough", open_kfid)
            return False
        if self._run.state != "running" and not self._waiting_warned:
            self._waiting_warned = True
            logger.warning(
                "KfBot is not running yet: wake-ups wait until 'async with bot:' or the "
                "ASGI lifespan starts it"
            )
        self._run.wake(open_kfid, token)
        return True

    def _wake_for_note(self, open_kfid: str) -> None:
        """Fleet: a wake note this bot left has no holder any more (the holder let go
        without pulling, or its lease expired): pull, if the account is this bot's."""
        if open_kfid in self._lanes:
            self.wake(open_kfid)

    async def pulled_with(self, token: str) -> bool:
        """Whether the fleet's Token memory says a pull with *token* has ended.

        ``False`` without a shared memory, or when it fails or is slow (a repeated
        pull costs less than a lost wake-up).
        """
        return await self._tokens.pulled(token)

    # -- pulling -----------------------------------------------------------------

    async def _pull(self, open_kfid: str, token: str | None, lane: Lane) -> None:
        self.pulls[open_kfid] = self.pulls.get(open_kfid, 0) + 1
        if not self._pull_events:
            await self._read(open_kfid, token, lane)
            return
        started, before = self._monotonic(), self.handled
        self._hooks.emit(PullStarted(open_kfid=open_kfid, with_token=token is not None))
        error: str | None = None
        try:
            await self._read(open_kfid, token, lane)
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            self._hooks.emit(
                PullFinished(
                    open_kfid=open_kfid,
                    messages=self.handled - before,
                    duration=self._monotonic() - started,
                    error=error,
                )
            )

    async def _read(self, open_kfid: str, token: str | None, lane: Lane) -> None:
        stream = self.kf.messages.stream(open_kfid, token=token, cursors=self._watched)
        try:
            async for message in stream:
                lane.in_hand = message.msgid
                await self._table.dispatch(message)
                lane.in_hand = None
                if self._stop.is_set():
                    await stream.ack()
                    return
        finally:
            await stream.aclose()
        if token is not None:
            await self._tokens.remember(token)

    # -- sources of wake-ups -----------------------------------------------------

    async def poll(
        self, *, interval: float = DEFAULT_POLL_INTERVAL, open_kfids: Iterable[str] | None = None
    ) -> None:
        """Wake the accounts every *interval* seconds, without callbacks, until the bot stops.

        For development and for workers that cannot receive HTTP: calls without a
        Token run on the strict budget of ``sync_msg`` without one. Run it as a task
        inside ``async with bot:``. *open_kfids* defaults to every account of the
        corp (``kf.accounts.list()`` each round; a failed listing is logged and
        tried again next round). Accounts a ``kf_account_auth_change`` authorised are
        polled too, and withdrawn ones no longer.
        """
        if not interval > 0:
            raise ValueError(f"interval must be > 0, got {interval!r}")
        fixed = None if open_kfids is None else [_checks.open_kfid(k) for k in open_kfids]
        while not self._stop.is_set():
            kfids = fixed
            if kfids is None:
                try:
                    kfids = [account.open_kfid for account in await self.kf.accounts.list()]
                except Exception as exc:
                    logger.error("poll: listing the accounts failed (%r); next round", exc)
                    kfids = []
            for open_kfid in self._auth.accounts(kfids):
                try:
                    self.wake(open_kfid)
                except ValueError as exc:
                    logger.error("poll: %s", exc)
            if await self._run.stopped_within(interval):
                return

    def asgi_app(self) -> ASGIApp:
        """The ASGI app that receives WeCom's callbacks for this bot (see ``callback.asgi``)."""
        if self.crypto is None:
            raise ValueError("asgi_app() needs the bot's CallbackCrypto (KfBot(kf, crypto))")
        return callback_app(self, self.crypto, replay_window=self.replay_window, clock=self._clock)


def _seconds(name: str, value: float, *, zero: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a number of seconds, got {type(value).__name__}")
    if not (math.isfinite(value) and (value >= 0 if zero else value > 0)):
        raise ValueError(f"{name} must be {'>=' if zero else '>'} 0 seconds, got {value!r}")
    return float(value)
