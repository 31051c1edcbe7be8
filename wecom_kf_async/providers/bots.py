"""``ProviderBots``: one callback URL for every corp, each corp's callbacks to its own bot.

A provider configures one data callback URL for its app, whatever corp installed
it. Each POST names its corp (``ToUserName``, and the encrypted payload's receiveid);
the app hands it, unchanged, to that corp's :class:`~wecom_kf_async.KfBot`, made on
the first callback (its handlers registered by your ``setup`` function) and kept
until the corp cancels the authorisation or the bots close. Corps never wait on
each other; within a corp, each account's messages are handled in order by its bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from .._constants import LOGGER_NAME
from ..callback import _http
from ..callback._http import ASGIApp, Receive, Scope, Send, TooLarge, answer, read_capped
from ..callback.bot import KfBot
from ..callback.crypto import CallbackCrypto
from ..callback.errors import CallbackError
from ..callback.events import read_envelope
from .corps import CorpNotAuthorizedError, KfProvider

__all__ = ["ProviderBots"]

logger = logging.getLogger(LOGGER_NAME)

#: What ``setup`` is: called with each new bot and its corp, before it starts.
Setup = Callable[[str, KfBot], Awaitable[None] | None]


class ProviderBots:
    """A :class:`~wecom_kf_async.KfBot` per corp behind one callback URL (see the module).

    Args:
        provider: The open provider whose clients the bots use.
        token: The app's callback Token.
        encoding_aes_key: The app's EncodingAESKey.
        setup: Registers handlers on a new bot (``setup(corp_id, bot)``, sync or async).
        bot_options: Other :class:`~wecom_kf_async.KfBot` arguments for every bot
            (``max_concurrency``, ``replay_window``, ...), or a function of the corp id
            that returns them (``cursors`` per corp, say).
    """

    def __init__(
        self,
        provider: KfProvider,
        *,
        token: str,
        encoding_aes_key: str,
        setup: Setup,
        bot_options: Mapping[str, Any] | Callable[[str], Mapping[str, Any]] | None = None,
    ) -> None:
        self.provider = provider
        self._token = token
        self._key = encoding_aes_key
        self._setup = setup
        self._options = bot_options
        self._bots: dict[str, tuple[KfBot, contextlib.AsyncExitStack, ASGIApp]] = {}
        self._starting: dict[str, asyncio.Task[KfBot]] = {}
        self._closed = False
        receive_id = provider.suite.suite_id if provider.suite is not None else "unused"
        # URL verification (GET) carries no corp: it is checked against the suite.
        self._verifier = CallbackCrypto(token, encoding_aes_key, receive_id)
        provider.on_cancel(self.close_corp)

    def __repr__(self) -> str:
        return f"ProviderBots(bots={len(self._bots)})"

    @property
    def corps(self) -> list[str]:
        """The corps that have a bot now."""
        return list(self._bots)

    async def bot(self, corp_id: str) -> KfBot:
        """The corp's bot, made and started on first use (one at a time per corp)."""
        found = self._bots.get(corp_id)
        if found is not None:
            return found[0]
        if self._closed:
            raise RuntimeError("ProviderBots is closed")
        task = self._starting.get(corp_id)
        if task is None:
            task = self._starting[corp_id] = asyncio.create_task(self._start(corp_id))
            task.add_done_callback(lambda _: self._starting.pop(corp_id, None))
        return await asyncio.shield(task)

    async def _start(self, corp_id: str) -> KfBot:
        stack = contextlib.AsyncExitStack()
        try:
            kf = await stack.enter_async_context(self.provider.corp(corp_id))
            options = self._options(corp_id) if callable(self._options) else self._options
            crypto = CallbackCrypto(self._token, self._key, corp_id)
            bot = KfBot(kf, crypto, **dict(options or {}))
            outcome = self._setup(corp_id, bot)
            if outcome is not None:
                await outcome
            await bot.start()
            stack.push_async_callback(bot.aclose)
        except BaseException:
            await stack.aclose()
            raise
        self._bots[corp_id] = (bot, stack, bot.asgi_app())
        return bot

    async def close_corp(self, corp_id: str) -> None:
        """Stop the corp's bot (its authorisation was cancelled); a new callback makes
        another only if the corp authorises the app again."""
        found = self._bots.pop(corp_id, None)
        if found is not None:
            await found[1].aclose()

    async def aclose(self) -> None:
        """Stop every bot (each finishes the message in hand, bounded by its timeout)."""
        self._closed = True
        for task in list(self._starting.values()):
            task.cancel()
        bots, self._bots = list(self._bots.values()), {}
        await asyncio.gather(*(stack.aclose() for _, stack, _ in bots), return_exceptions=True)

    def asgi_app(self) -> ASGIApp:
        """The ASGI app of the one callback URL (a Starlette/FastAPI route, or uvicorn)."""
        return self._app

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _http.lifespan(receive, send, self.aclose)
            return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET":
            await self._verify(scope, send)
        elif scope["method"] == "POST":
            await self._route(scope, receive, send)
        else:
            await answer(send, 405, b"method not allowed")

    async def _verify(self, scope: Scope, send: Send) -> None:
        params = _http.query(scope)
        try:
            echo = self._verifier.verify_url(
                params["msg_signature"], params["timestamp"], params["nonce"], params["echostr"]
            )
        except KeyError:
            await answer(send, 400, b"missing query parameters")
            return
        except CallbackError as exc:
            logger.warning("callback URL check refused: %s", type(exc).__name__)
            await answer(send, 403, b"refused")
            return
        await answer(send, 200, echo.encode())

    async def _route(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await read_capped(scope, receive)
        except TooLarge:
            await answer(send, 413, b"too large")
            return
        try:
            corp_id = read_envelope(body).to_user_name
        except CallbackError:
            await answer(send, 400, b"bad body")
            return
        if not corp_id:
            await answer(send, 400, b"no ToUserName")
            return
        try:
            await self.bot(corp_id)
            app = self._bots[corp_id][2]
        except CorpNotAuthorizedError:
            # Perhaps its create_auth is still being handled: 503 makes WeCom retry.
            logger.warning("callback for corp %s, which has not authorised the app: 503", corp_id)
            await answer(send, 503, b"unknown corp")
            return
        except (RuntimeError, KeyError):  # closing, or closed for a cancel meanwhile
            await answer(send, 503, b"closing")
            return
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if replayed:
                return {"type": "http.disconnect"}
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await app(scope, replay, send)
