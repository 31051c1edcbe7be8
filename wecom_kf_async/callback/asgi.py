"""The ASGI app that receives WeCom's ``kf_msg_or_event`` callbacks for a :class:`KfBot`.

- ``GET`` (URL verification, when an admin saves the callback URL): verify the
  signature, decrypt ``echostr``, answer the bare plaintext.
- ``POST``: verify, decrypt, answer ``success`` at once, and hand the account and
  its ``Token`` to the bot (a wake-up), whatever the handlers then do.
- A bad signature gets 403, a malformed request 400, a body over
  ``MAX_CALLBACK_BODY_BYTES`` 413 (read no further); each is logged with its
  reason, never with the body. Nothing WeCom sends correctly is answered 500.
- The ASGI lifespan starts and stops the bot (when mounted in a framework that
  does not pass the lifespan on, use ``async with bot:`` in the framework's own).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import parse_qs

from .._constants import LOGGER_NAME
from ..instrumentation.events import CallbackAnswered, CallbackReceived, CallbackRejected
from .errors import CallbackError, SignatureError
from .events import MAX_CALLBACK_BODY_BYTES, parse_callback

if TYPE_CHECKING:
    from .bot import KfBot
    from .crypto import CallbackCrypto

__all__ = ["ASGIApp", "callback_app"]

logger = logging.getLogger(LOGGER_NAME)

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
#: An ASGI 3 application.
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]

_TEXT = [(b"content-type", b"text/plain; charset=utf-8")]
_KF_EVENT = "kf_msg_or_event"


class _TooLarge(Exception):
    """The body passed the size cap (read no further)."""


async def _answer(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*_TEXT, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_capped(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_CALLBACK_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _query(scope: Scope) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin-1")
    return {key: values[0] for key, values in parse_qs(raw, keep_blank_values=True).items()}


def callback_app(bot: KfBot, crypto: CallbackCrypto) -> ASGIApp:
    """The callback ASGI app of *bot*, checking requests with *crypto*."""
    hooks = bot.kf.instrumentation
    observed = hooks.wants(CallbackReceived) or hooks.wants(CallbackAnswered)

    async def reject(send: Send, status: int, reason: str, code: int | None = None) -> None:
        hooks.emit(CallbackRejected(status=status, reason=reason, code=code))
        body = {403: b"forbidden", 413: b"too large"}.get(status, b"bad request")
        await _answer(send, status, body)

    async def lifespan(receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await bot.start()
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
            body = await _read_capped(receive)
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
        except CallbackError as exc:
            await refuse(send, exc, "POST")
            return
        if event.event == _KF_EVENT and event.open_kfid:
            if observed:
                # Received goes first: a tracing hook's span is current when the
                # wake-up starts the pull, so callback, pull and handlers share a trace.
                open_kfid, token = event.open_kfid, event.token
                hooks.emit(CallbackReceived(open_kfid=open_kfid, with_token=token is not None))
                woke = bot.wake(open_kfid, token)
                hooks.emit(CallbackAnswered(open_kfid=open_kfid, woke=woke))
            else:
                bot.wake(event.open_kfid, event.token)
        else:
            logger.debug("callback of another kind (%s/%s): ignored", event.msg_type, event.event)
        await _answer(send, 200, b"success")

    async def refuse(send: Send, exc: CallbackError, method: str) -> None:
        status = 403 if isinstance(exc, SignatureError) else 400
        logger.warning(
            "callback %s refused (%s, code %d): %d", method, type(exc).__name__, exc.code, status
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
