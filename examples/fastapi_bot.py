"""A FastAPI echo bot for WeChat Customer Service: it welcomes each customer and echoes texts.

WeCom POSTs an encrypted ``kf_msg_or_event`` to the callback URL when messages
wait; :class:`~wecom_kf_async.callback.KfBot` (mounted at ``/callback``) checks it,
answers ``success`` at once and pulls the messages with the callback's Token, one
pull per wake-up, handing each message to the handlers below. The app also has a
small API of its own: ``GET /customers/{external_userid}`` looks a customer up.

Run the whole demo against the bundled simulator, served as WeCom on a loopback
port (no credentials needed)::

    python -m examples.fastapi_bot --simulate

Run it for real (the callback URL to save in WeCom's admin console is
``https://<your host>/callback/``, with the slash: Starlette redirects
``/callback`` there, and WeCom is not known to follow redirects)::

    python -m examples.fastapi_bot --host 0.0.0.0 --port 8000
    # or: uvicorn --factory examples.fastapi_bot:create_app --host 0.0.0.0 --port 8000

Settings come from the environment:

- ``WECOM_CORP_ID`` and ``WECOM_KF_SECRET``: the credentials.
- ``WECOM_CALLBACK_TOKEN`` and ``WECOM_CALLBACK_AES_KEY``: the callback's Token and
  EncodingAESKey, as set in WeCom's admin console.
- ``WECOM_BASE_URL``: the API root (default: WeCom), e.g. a simulator's URL.
- ``KF_CURSOR_FILE``: where the cursors are kept (default ``kf_cursors.json``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TextIO

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException

from wecom_kf_async import (
    CallbackCrypto,
    CursorStore,
    EnterSessionEvent,
    FileCursorStore,
    InMemoryCursorStore,
    KfBot,
    KfClient,
    KfError,
    Origin,
    SendLimitError,
    Text,
    TextMessage,
)

__all__ = [
    "CALLBACK_PATH",
    "DEMO_AES_KEY",
    "DEMO_CALLBACK_TOKEN",
    "DEMO_CUSTOMER",
    "DEMO_TEXT",
    "WELCOME",
    "BotSettings",
    "SettingsError",
    "build_bot",
    "create_app",
    "main",
    "serve_app",
    "simulate",
]

ENV_CORP_ID: Final = "WECOM_CORP_ID"
ENV_SECRET: Final = "WECOM_KF_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_CALLBACK_TOKEN: Final = "WECOM_CALLBACK_TOKEN"  # noqa: S105 - a variable's name
ENV_AES_KEY: Final = "WECOM_CALLBACK_AES_KEY"
ENV_BASE_URL: Final = "WECOM_BASE_URL"
ENV_CURSOR_FILE: Final = "KF_CURSOR_FILE"

#: The welcome sent with each ``welcome_code``.
WELCOME: Final = "Welcome! Ask me anything."
#: Where the callback ASGI app is mounted.
CALLBACK_PATH: Final = "/callback"
#: The callback Token and EncodingAESKey of the ``--simulate`` demo (public test values).
DEMO_CALLBACK_TOKEN: Final = "simulatedCallbackToken"  # noqa: S105 - a public demo value
DEMO_AES_KEY: Final = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
#: The customer of the ``--simulate`` demo, and what they say.
DEMO_CUSTOMER: Final = "wmDemoCustomer"
DEMO_TEXT: Final = "Hello, bot!"

logger = logging.getLogger("examples.fastapi_bot")


class SettingsError(RuntimeError):
    """A setting in the environment is missing or malformed."""


@dataclass(frozen=True)
class BotSettings:
    """What the app needs: credentials, the callback's crypto settings, where cursors go."""

    corp_id: str
    secret: str
    callback_token: str
    encoding_aes_key: str
    base_url: str | None = None
    cursor_file: str = "kf_cursors.json"

    def __repr__(self) -> str:
        # Never show the secret, the callback token or the key.
        return f"BotSettings(corp_id={self.corp_id!r}, base_url={self.base_url!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> BotSettings:
        """Read the settings from *environ* (default: ``os.environ``).

        Raises:
            SettingsError: A variable is missing, or ``WECOM_BASE_URL`` is not a URL.
        """
        env = os.environ if environ is None else environ
        names = (ENV_CORP_ID, ENV_SECRET, ENV_CALLBACK_TOKEN, ENV_AES_KEY)
        values = {name: env.get(name, "").strip() for name in names}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} not set (or run the demo: python -m examples.fastapi_bot "
                "--simulate)"
            )
        base_url = env.get(ENV_BASE_URL, "").strip() or None
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise SettingsError(f"{ENV_BASE_URL} must be an http(s) URL, got {base_url!r}")
        return cls(
            corp_id=values[ENV_CORP_ID],
            secret=values[ENV_SECRET],
            callback_token=values[ENV_CALLBACK_TOKEN],
            encoding_aes_key=values[ENV_AES_KEY],
            base_url=base_url,
            cursor_file=env.get(ENV_CURSOR_FILE, "").strip() or "kf_cursors.json",
        )


def build_bot(kf: KfClient, crypto: CallbackCrypto, cursors: CursorStore) -> KfBot:
    """The bot: a welcome for each customer who enters, an echo of each text.

    Args:
        kf: The client the handlers answer with.
        crypto: The callback's crypto (Token, EncodingAESKey, corp id).
        cursors: Where the bot keeps each account's cursor.

    Returns:
        The bot, not started (``async with bot:`` starts it).
    """
    bot = KfBot(kf, crypto, cursors=cursors)

    @bot.on(TextMessage)
    async def echo(msg: TextMessage) -> None:
        if msg.origin != Origin.CUSTOMER or msg.external_userid is None or msg.open_kfid is None:
            return  # a servicer's message from the WeCom app: not ours to answer
        try:
            await kf.messages.send(
                msg.external_userid, msg.open_kfid, Text(f"You said: {msg.text.content}")
            )
        except SendLimitError:
            # 5 answers since the customer's last message: wait for them to speak.
            logger.info("%s: send limit reached, not echoing", msg.msgid)

    @bot.on_event(EnterSessionEvent)
    async def welcome(event: EnterSessionEvent) -> None:
        if event.welcome_code:  # absent when WeCom greets the customer itself
            await kf.messages.send_on_event(event.welcome_code, Text(WELCOME))

    return bot


def create_app(
    settings: BotSettings | None = None,
    *,
    kf: KfClient | None = None,
    cursors: CursorStore | None = None,
) -> FastAPI:
    """The FastAPI app: the bot at ``/callback``, a customer lookup at ``/customers/{id}``.

    Its lifespan opens the client and starts the bot, and on shutdown stops the bot
    (handlers in flight finish, cursors are saved) before closing the client.

    Args:
        settings: The settings (default: :meth:`BotSettings.from_env`).
        kf: A client to use instead of one built from *settings* (tests pass one
            wired to a simulator); the app opens and closes it.
        cursors: A cursor store (default: ``FileCursorStore(settings.cursor_file)``).

    Raises:
        SettingsError: *settings* is None and the environment lacks some.
        ValueError: The callback token or key is malformed.
    """
    settings = settings or BotSettings.from_env()
    if kf is None:
        options: dict[str, Any] = {}
        if settings.base_url is not None:
            options["base_url"] = settings.base_url
        kf = KfClient(corp_id=settings.corp_id, secret=settings.secret, **options)
    client = kf
    crypto = CallbackCrypto(settings.callback_token, settings.encoding_aes_key, settings.corp_id)
    store = cursors if cursors is not None else FileCursorStore(settings.cursor_file)
    bot = build_bot(client, crypto, store)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Starlette does not run a mounted app's lifespan: start the bot here.
        async with client, bot:
            yield

    app = FastAPI(title="WeCom KF echo bot", lifespan=lifespan)
    app.state.kf = client
    app.state.bot = bot
    app.mount(CALLBACK_PATH, bot.asgi_app())

    @app.get("/customers/{external_userid}")
    async def customer(external_userid: str) -> dict[str, Any]:
        """Look a customer up with ``customer/batchget``: 404 if WeCom does not know them."""
        try:
            result = await client.customers.batch_get([external_userid])
        except ValueError as exc:  # a malformed id: nothing was sent
            raise HTTPException(422, str(exc)) from exc
        except KfError as exc:  # wrong credentials, API not allowed, IP not allowed
            raise HTTPException(502, f"WeCom refused: {type(exc).__name__}") from exc
        found = result.get(external_userid)
        if found is not None:
            return {
                "external_userid": found.external_userid,
                "nickname": found.nickname,
                "gender": int(found.gender),
                "avatar": found.avatar,
                "unionid": found.unionid,
            }
        if external_userid in result.failed:
            raise HTTPException(
                502, f"WeCom failed: {type(result.failed[external_userid]).__name__}"
            )
        raise HTTPException(404, "unknown customer (no session with this app in 48 hours)")

    return app


# -- the demo against the simulator ------------------------------------------------


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[str]:
    """Serve *app* under uvicorn (lifespan on) in the running loop; yield its base URL."""
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the startup
                raise RuntimeError("uvicorn stopped while starting")
            await asyncio.sleep(0.01)
        bound_host, bound_port = server.servers[0].sockets[0].getsockname()[:2]
        yield f"http://{bound_host}:{bound_port}"
    finally:
        server.should_exit = True
        await task


async def _until(condition: Callable[[], bool], patience: float) -> bool:
    deadline = time.monotonic() + patience
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def simulate(out: TextIO = sys.stdout, *, patience: float = 30.0) -> int:
    """Run the demo: the simulator as WeCom, the app under uvicorn, real HTTP callbacks.

    A customer enters and says something; the simulator pushes an encrypted callback
    for each; the bot pulls, welcomes and echoes. Prints what the bot sent and the
    customer lookup, and returns 0 (1 if the bot did not answer within *patience* seconds).
    """
    from wecom_kf_async.testing import SIM_SECRET, WeComSimulator, serve

    sim = WeComSimulator()
    open_kfid = sim.add_account("Support")
    async with serve(sim) as wecom_url:
        settings = BotSettings(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            callback_token=DEMO_CALLBACK_TOKEN,
            encoding_aes_key=DEMO_AES_KEY,
            base_url=wecom_url,
        )
        app = create_app(settings, cursors=InMemoryCursorStore())
        async with serve_app(app) as app_url:
            callback_url = f"{app_url}{CALLBACK_PATH}/"
            print(f"simulated WeCom at {wecom_url}, the bot at {app_url}", file=out)
            sim.set_callback(callback_url, token=DEMO_CALLBACK_TOKEN, encoding_aes_key=DEMO_AES_KEY)
            await sim.verify_callback_url()
            check = sim.url_checks[-1]
            print(f"URL verification of {callback_url}: {'ok' if check.ok else 'FAILED'}", file=out)

            sim.auto_callback = True
            sim.customer_enters(open_kfid, DEMO_CUSTOMER, scene="demo")
            sim.customer_says(open_kfid, DEMO_CUSTOMER, Text(DEMO_TEXT))
            print(f"customer {DEMO_CUSTOMER} entered and said {DEMO_TEXT!r}", file=out)
            for push in await sim.drain_callbacks():
                answer = push.error or f"{push.status} {push.answer}"
                print(f"callback (Token {push.token[:10]}...) answered: {answer}", file=out)

            answered = await _until(lambda: len(sim.sent) >= 2, patience)
            for sent in sim.sent:
                endpoint = sent.endpoint.removeprefix("kf/")
                print(
                    f"bot sent ({endpoint}) to {sent.touser}: {sent.body.get('content')}", file=out
                )
            async with httpx.AsyncClient(base_url=app_url, trust_env=False) as http:
                response = await http.get(f"/customers/{DEMO_CUSTOMER}")
            print(
                f"GET /customers/{DEMO_CUSTOMER}: {response.status_code} {response.text}", file=out
            )
    if not (answered and check.ok):
        print(f"error: the bot did not answer within {patience:g} s", file=out)
        return 1
    return 0


# -- the command line -----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.fastapi_bot",
        description="A WeCom KF echo bot on FastAPI: serve it, or run the demo against "
        "the bundled simulator with --simulate.",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run the whole demo against the simulator (no settings needed), then exit",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to serve on (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to serve on (8000)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 bad settings)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.simulate:
        return asyncio.run(simulate())
    try:
        settings = BotSettings.from_env()
        app = create_app(settings)
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, lifespan="on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
