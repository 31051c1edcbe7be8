"""The ASGI app that receives WeCom's ``kf_msg_or_event`` callbacks: a thin shell over a bot.

- ``GET`` (URL verification, when an admin saves the callback URL): verify the
  signature, decrypt ``echostr``, answer the bare plaintext.
- ``POST``: verify, decrypt, check the timestamp against the replay window, hand
  the account and its ``Token`` to the bot (a wake-up) and answer ``success`` at
  once, whatever the handlers then do.
- A bad signature or a timestamp outside the window gets 403, a malformed request
  (an OpenKfId or Token the API would refuse included) 400, a body over
  ``MAX_CALLBACK_BODY_BYTES`` 413 (from ``Content-Length`` alone when it says so,
  else read no further), and a bot that will not pull (closing or closed) 503, so
  that WeCom repeats the callback. Each is logged with its reason, never with the
  body. Nothing WeCom sends correctly is answered 500.
- The ASGI lifespan starts and stops the bot (``start``: a failure is reported as
  ``lifespan.startup.failed`` with its reason). Mounted in a framework that does
  not pass the lifespan on, use ``async with bot:`` in the framework's own.

This module knows the bot only by the :class:`CallbackTarget` protocol: ``KfBot``
builds the app (``bot.asgi_app()``), never the other way round.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, Protocol

from .. import _checks
from .._constants import LOGGER_NAME
from ..instrumentation.events import CallbackAnswered, CallbackReceived, CallbackRejected
from ._http import ASGIApp, Receive, Scope, Send
from ._http import TooLarge as _TooLarge
from ._http import answer as _answer
from ._http import query as _query
from ._http import read_capped as _read_capped
from .errors import CallbackError, SignatureError, TimestampError
from .events import MAX_CALLBACK_BODY_BYTES, KfCallback, parse_callback

if TYPE_CHECKING:
    from .._client import KfClient
    from .crypto import CallbackCrypto

__all__ = [
    "DEFAULT_REPLAY_WINDOW",
    "ASGIApp",
    "CallbackTarget",
    "callback_app",
    "check_timestamp",
    "check_wake",
]

logger = logging.getLogger(LOGGER_NAME)


#: Seconds a callback's signed timestamp may be from now, either way (5 minutes).
DEFAULT_REPLAY_WINDOW: Final = 300.0

_KF_EVENT = "kf_msg_or_event"
_BODIES = {403: b"forbidden", 413: b"too large", 503: b"unavailable"}
#: Longest ``timestamp`` taken for a number (epoch seconds have 10 digits until 2286).
_MAX_TIMESTAMP_DIGITS = 12


class CallbackTarget(Protocol):
    """What the app drives (``KfBot`` is one)."""

    kf: KfClient

    @property
    def accepting(self) -> bool:
        """Whether a wake-up will be pulled."""

    async def start(self) -> None:
        """Start pulling."""

    async def aclose(self) -> None:
        """Stop."""

    async def pulled_with(self, token: str) -> bool:
        """Whether the fleet has already pulled with this callback Token."""

    def wake(self, open_kfid: str, token: str | None = None) -> bool:
        """Pull *open_kfid* (``False``: dropped, a Token seen before)."""

    def account_auth_changed(self, callback: KfCallback) -> bool:
        """Take a ``kf_account_auth_change`` (``False``: closing, answer 503)."""


def check_wake(
    open_kfid: str, token: str | None, names: tuple[str, str] = ("OpenKfId", "Token")
) -> None:
    """Raise ``ValueError`` unless ``sync_msg`` would take *open_kfid* and *token*."""
    _checks.open_kfid(open_kfid, names[0])
    if token is not None:
        try:
            _checks.sync_token(token, names[1])
        except ValueError:
            # The check's text may quote the Token: never in a log or an exception.
            raise ValueError(
                f"{names[1]} is not one sync_msg accepts (1 to 128 bytes, no whitespace)"
            ) from None


def check_timestamp(timestamp: str, now: float, window: float) -> None:
    """Raise :class:`TimestampError` unless *timestamp* is within *window* seconds of *now*."""
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise TimestampError("the timestamp is not a number of seconds")
    offset = int(timestamp) - now
    if abs(offset) > window:
        raise TimestampError(
            f"the timestamp is {offset:+.0f} s from now, outside the replay window of {window:g} s"
        )


def callback_app(
    bot: CallbackTarget,
    crypto: CallbackCrypto,
    *,
    replay_window: float | None = DEFAULT_REPLAY_WINDOW,
    clock: Callable[[], float] = time.time,
) -> ASGIApp:
    """The callback ASGI app of *bot*, checking requests with *crypto*.

    A POST whose signed ``timestamp`` is more than *replay_window* seconds from
    *clock* (either way) is refused (``None``: not checked).
    """
    hooks = bot.kf.instrumentation
    observed = hooks.wants(CallbackReceived) or hooks.wants(CallbackAnswered)

    async def reject(send: Send, status: int, reason: str, code: int | None = None) -> None:
        hooks.emit(CallbackRejected(status=status, reason=reason, code=code))
        await _answer(send, status, _BODIES.get(status, b"bad request"))

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await bot.start()
                except Exception as exc:
                    logger.exception("the callback app's lifespan could not start the bot")
                    failed = f"{type(exc).__name__}: {exc}"
                    await send({"type": "lifespan.startup.failed", "message": failed})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await bot.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def signed(query: dict[str, str]) -> tuple[str, str, str] | None:
        found = query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        return found if all(found) else None

    async def verify(scope: Scope, send: Send) -> None:
        query = _query(scope)
        found, echostr = signed(query), query.get("echostr", "")
        if found is None or not echostr:
            logger.warning("callback GET without msg_signature/timestamp/nonce/echostr: 400")
            await reject(send, 400, "missing query parameters")
            return
        try:
            plaintext = crypto.verify_url(*found, echostr)
        except CallbackError as exc:
            await refuse(send, exc, "GET")
            return
        await _answer(send, 200, plaintext.encode())

    async def deliver(scope: Scope, receive: Receive, send: Send) -> None:
        found = signed(_query(scope))
        try:
            body = await _read_capped(scope, receive)
        except _TooLarge:
            logger.warning("callback POST over %d bytes: 413", MAX_CALLBACK_BODY_BYTES)
            await reject(send, 413, "too large")
            return
        if found is None:
            logger.warning("callback POST without msg_signature/timestamp/nonce: 400")
            await reject(send, 400, "missing query parameters")
            return
        try:
            event = parse_callback(crypto.decrypt(*found, body))
            if replay_window is not None:
                check_timestamp(found[1], clock(), replay_window)
        except CallbackError as exc:
            await refuse(send, exc, "POST")
            return
        if event.is_account_auth_change:
            await auth_change(send, event)
            return
        if event.event != _KF_EVENT or not event.open_kfid:
            logger.debug("callback of another kind (%s/%s): ignored", event.msg_type, event.event)
            await _answer(send, 200, b"success")
            return
        open_kfid, token = event.open_kfid, event.token
        try:
            check_wake(open_kfid, token)
        except ValueError as exc:
            logger.warning("callback POST with an OpenKfId or Token the API refuses (%s): 400", exc)
            await reject(send, 400, "bad OpenKfId or Token")
            return
        repeated = token is not None and bot.accepting and await bot.pulled_with(token)
        if not bot.accepting:  # no await from here to the wake-up: it cannot close between
            await unavailable(send)
            return
        if observed:
            # Received goes first: a tracing hook's span is current when the
            # wake-up starts the pull, so callback, pull and handlers share a trace.
            hooks.emit(CallbackReceived(open_kfid=open_kfid, with_token=token is not None))
        woke = not repeated and bot.wake(open_kfid, token)
        if repeated:
            logger.debug("%s: callback repeated (a Token the fleet pulled with)", open_kfid)
        if observed:
            hooks.emit(CallbackAnswered(open_kfid=open_kfid, woke=woke))
        await _answer(send, 200, b"success")

    async def auth_change(send: Send, event: KfCallback) -> None:
        try:
            for open_kfid in (*event.auth_add_open_kfids, *event.auth_del_open_kfids):
                _checks.open_kfid(open_kfid, "AuthAddOpenKfId/AuthDelOpenKfId")
        except ValueError:
            logger.warning("kf_account_auth_change with an account id the API refuses: 400")
            await reject(send, 400, "bad account id")
            return
        if not bot.account_auth_changed(event):
            await unavailable(send)
            return
        await _answer(send, 200, b"success")

    async def unavailable(send: Send) -> None:
        logger.warning("callback POST while the bot is closing or closed: 503 (WeCom repeats it)")
        await reject(send, 503, "bot not running")

    async def refuse(send: Send, exc: CallbackError, method: str) -> None:
        status = 403 if isinstance(exc, SignatureError | TimestampError) else 400
        logger.warning(
            "callback %s refused (%s, code %d: %s): %d",
            method,
            type(exc).__name__,
            exc.code,
            exc,
            status,
        )
        await reject(send, status, type(exc).__name__, exc.code)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method == "GET":
            await verify(scope, send)
        elif method == "POST":
            await deliver(scope, receive, send)
        else:
            await _answer(send, 405, b"method not allowed")

    return app
