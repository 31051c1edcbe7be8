"""A service provider's app on FastAPI: one process, one KF bot per corp that installed it.

A third-party app (第三方应用) is installed by many corps. WeCom sends the app two
kinds of callbacks, to two URLs set next to each other in the provider's console:

- **instructions** (``/suite/receive``): a fresh ``suite_ticket`` every 10 minutes,
  and ``create_auth`` / ``cancel_auth`` when a corp installs or removes the app.
  :meth:`KfProvider.instruction_app` answers ``success`` at once and acts on each:
  it keeps the ticket, exchanges an install's auth code for the corp's permanent
  code (kept in a SQLite file here), drops a corp that cancelled;
- **data** (``/kf/callback``): every corp's ``kf_msg_or_event``, on one URL.
  :class:`ProviderBots` hands each to the :class:`~wecom_kf_async.KfBot` of its
  corp, made on the corp's first callback; this app's bots echo every text.

Run the whole demo against the bundled provider simulator, served as WeCom on a
loopback port (no credentials needed)::

    python -m examples.provider_app --simulate

Run it for real (the URLs to set in the provider's console are
``https://<your host>/suite/receive/`` and ``https://<your host>/kf/callback/``,
with the slash: Starlette redirects the bare paths, and WeCom is not known to
follow redirects)::

    python -m examples.provider_app --host 0.0.0.0 --port 8000
    # or: uvicorn --factory examples.provider_app:create_app --host 0.0.0.0 --port 8000

Settings come from the environment:

- ``WECOM_SUITE_ID`` and ``WECOM_SUITE_SECRET``: the third-party app's suite.
- ``WECOM_SUITE_CALLBACK_TOKEN`` and ``WECOM_SUITE_CALLBACK_AES_KEY``: the Token and
  EncodingAESKey set next to the app's callback URLs.
- ``WECOM_BASE_URL``: the API root (default: WeCom), e.g. a simulator's URL.
- ``KF_CORPS_DB``: the SQLite file of the corps' permanent codes (default
  ``kf_corps.db``; protect it like a secret).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TextIO

import uvicorn
from fastapi import FastAPI

from wecom_kf_async import KfBot, Origin, SendLimitError, Text, TextMessage
from wecom_kf_async.providers import (
    AuthorizedCorp,
    CorpCredentials,
    KfProvider,
    ProviderBots,
    Suite,
)

__all__ = [
    "INSTRUCTIONS_PATH",
    "KF_CALLBACK_PATH",
    "ProviderSettings",
    "SettingsError",
    "SqliteCorpCredentials",
    "create_app",
    "main",
    "simulate",
]

ENV_SUITE_ID: Final = "WECOM_SUITE_ID"
ENV_SUITE_SECRET: Final = "WECOM_SUITE_SECRET"  # noqa: S105 - the name of a variable
ENV_TOKEN: Final = "WECOM_SUITE_CALLBACK_TOKEN"  # noqa: S105 - the name of a variable
ENV_AES_KEY: Final = "WECOM_SUITE_CALLBACK_AES_KEY"
ENV_BASE_URL: Final = "WECOM_BASE_URL"
ENV_CORPS_DB: Final = "KF_CORPS_DB"

#: Where the instruction callback and the corps' KF callback are mounted.
INSTRUCTIONS_PATH: Final = "/suite/receive"
KF_CALLBACK_PATH: Final = "/kf/callback"

logger = logging.getLogger("examples.provider_app")


class SettingsError(RuntimeError):
    """A setting in the environment is missing or malformed."""


@dataclass(frozen=True)
class ProviderSettings:
    """The suite, the Token and key of its callbacks, where the corps are kept."""

    suite_id: str
    suite_secret: str
    callback_token: str
    encoding_aes_key: str
    base_url: str | None = None
    corps_db: str = "kf_corps.db"

    def __repr__(self) -> str:
        # Never show the suite secret, the callback token or the key.
        return f"ProviderSettings(suite_id={self.suite_id!r}, base_url={self.base_url!r})"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProviderSettings:
        """Read the settings from *environ* (default: ``os.environ``).

        Raises:
            SettingsError: A variable is missing.
        """
        env = os.environ if environ is None else environ
        names = (ENV_SUITE_ID, ENV_SUITE_SECRET, ENV_TOKEN, ENV_AES_KEY)
        values = {name: env.get(name, "").strip() for name in names}
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} not set (or run the demo: python -m examples.provider_app "
                "--simulate)"
            )
        return cls(
            suite_id=values[ENV_SUITE_ID],
            suite_secret=values[ENV_SUITE_SECRET],
            callback_token=values[ENV_TOKEN],
            encoding_aes_key=values[ENV_AES_KEY],
            base_url=env.get(ENV_BASE_URL, "").strip() or None,
            corps_db=env.get(ENV_CORPS_DB, "").strip() or "kf_corps.db",
        )


class SqliteCorpCredentials:
    """Each corp's permanent code in a SQLite file: a durable ``CorpCredentials``.

    WeCom hands a corp's permanent code out once, when the corp installs the app:
    keep it where a restart finds it. (SQLite's calls are short and local; a
    fleet would use its own database, through the same three methods.)
    """

    def __init__(self, path: str) -> None:
        self._db = sqlite3.connect(path)
        self._db.execute("CREATE TABLE IF NOT EXISTS corps (corp_id TEXT PRIMARY KEY, code TEXT)")

    def __repr__(self) -> str:
        return "SqliteCorpCredentials()"

    async def get(self, corp_id: str) -> str | None:
        """The corp's permanent code, or ``None``."""
        row = self._db.execute("SELECT code FROM corps WHERE corp_id = ?", (corp_id,)).fetchone()
        return str(row[0]) if row else None

    async def set(self, corp_id: str, credential: str) -> None:
        """Keep the corp's permanent code."""
        with self._db:
            self._db.execute("INSERT OR REPLACE INTO corps VALUES (?, ?)", (corp_id, credential))

    async def delete(self, corp_id: str) -> None:
        """Forget the corp (it removed the app)."""
        with self._db:
            self._db.execute("DELETE FROM corps WHERE corp_id = ?", (corp_id,))

    def close(self) -> None:
        """Close the file."""
        self._db.close()


def setup_bot(corp_id: str, bot: KfBot) -> None:
    """The handlers of each corp's bot: an echo of each text a customer sends."""
    kf = bot.kf  # this corp's client, with its own token and budgets

    @bot.on(TextMessage)
    async def echo(msg: TextMessage) -> None:
        if msg.origin != Origin.CUSTOMER or msg.external_userid is None or msg.open_kfid is None:
            return  # a servicer's message from the WeCom app: not ours to answer
        try:
            await kf.messages.send(
                msg.external_userid, msg.open_kfid, Text(f"You said: {msg.text.content}")
            )
        except SendLimitError:
            logger.info("corp %s, %s: send limit reached, not echoing", corp_id, msg.msgid)


async def _log_install(corp: AuthorizedCorp) -> None:
    # The permanent code is already in the credentials; the repr never shows it.
    logger.info("%s (%s) installed the app", corp.corp_name, corp.corp_id)


def create_app(
    settings: ProviderSettings | None = None,
    *,
    credentials: CorpCredentials | None = None,
    on_authorized: Callable[[AuthorizedCorp], Awaitable[None]] | None = None,
    transport: Any = None,
) -> FastAPI:
    """The FastAPI app: instructions at ``/suite/receive``, every corp's KF callback at
    ``/kf/callback``.

    Its lifespan opens the provider; on shutdown it stops the bots (each finishes the
    message in hand), waits for the instructions being handled, then closes the
    provider (every corp's client and the shared pool).

    Args:
        settings: The settings (default: :meth:`ProviderSettings.from_env`).
        credentials: Where the corps' permanent codes are kept (default:
            ``SqliteCorpCredentials(settings.corps_db)``).
        on_authorized: Called with each corp that installs the app (default: a log line).
        transport: An httpx transport for the provider's pool (the demo passes none).

    Raises:
        SettingsError: *settings* is None and the environment lacks some.
        ValueError: The callback token or key is malformed.
    """
    settings = settings or ProviderSettings.from_env()
    store = credentials if credentials is not None else SqliteCorpCredentials(settings.corps_db)
    options: dict[str, Any] = {}
    if settings.base_url is not None:
        options["base_url"] = settings.base_url
    provider = KfProvider(
        suite=Suite(settings.suite_id, settings.suite_secret),
        credentials=store,
        on_authorized=on_authorized or _log_install,
        transport=transport,
        **options,
    )
    instructions = provider.instruction_app(
        token=settings.callback_token, encoding_aes_key=settings.encoding_aes_key
    )
    bots = ProviderBots(
        provider,
        token=settings.callback_token,
        encoding_aes_key=settings.encoding_aes_key,
        setup=setup_bot,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Starlette runs no mounted app's lifespan: open and close everything here.
        async with provider:
            try:
                yield
            finally:
                await bots.aclose()
                await instructions.aclose()

    app = FastAPI(title="WeCom KF provider app", lifespan=lifespan)
    app.state.provider = provider
    app.state.bots = bots
    app.mount(INSTRUCTIONS_PATH, instructions)
    app.mount(KF_CALLBACK_PATH, bots.asgi_app())
    return app


# -- the demo against the provider simulator ------------------------------------------


@contextlib.asynccontextmanager
async def serve_app(app: FastAPI) -> AsyncIterator[str]:
    """Serve *app* under uvicorn (lifespan on) on a loopback port; yield its base URL."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped the startup
                raise RuntimeError("uvicorn stopped while starting")
            await asyncio.sleep(0.01)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        await task


async def _until(condition: Callable[[], Awaitable[bool]], patience: float) -> bool:
    deadline = time.monotonic() + patience
    while not await condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def simulate(out: TextIO = sys.stdout, *, patience: float = 30.0) -> int:
    """Run the demo: the simulator as WeCom, the app under uvicorn, real HTTP callbacks.

    The simulator pushes a suite ticket, two corps install the app, a customer of
    each writes and both are answered; then one corp removes the app, and its next
    callback is refused with 503. Returns 0 (1 if something did not happen within
    *patience* seconds).
    """
    from wecom_kf_async.providers import InMemoryCorpCredentials
    from wecom_kf_async.testing import serve
    from wecom_kf_async.testing.provider import (
        SIM_SUITE_AES_KEY,
        SIM_SUITE_ID,
        SIM_SUITE_SECRET,
        SIM_SUITE_TOKEN,
        ProviderSimulator,
    )

    sim = ProviderSimulator()
    credentials = InMemoryCorpCredentials()  # the demo keeps nothing on disk

    async def installed(corp: AuthorizedCorp) -> None:
        print(f"{corp.corp_name} ({corp.corp_id}) installed the app", file=out)

    async with serve(sim) as wecom_url:
        settings = ProviderSettings(
            suite_id=SIM_SUITE_ID,
            suite_secret=SIM_SUITE_SECRET,
            callback_token=SIM_SUITE_TOKEN,
            encoding_aes_key=SIM_SUITE_AES_KEY,
            base_url=wecom_url,
        )
        app = create_app(settings, credentials=credentials, on_authorized=installed)
        async with serve_app(app) as app_url:
            suite_url = f"{app_url}{INSTRUCTIONS_PATH}/"
            kf_url = f"{app_url}{KF_CALLBACK_PATH}/"
            print(f"simulated WeCom at {wecom_url}, the app at {app_url}", file=out)
            await sim.push_ticket_to(suite_url)
            print("suite_ticket pushed", file=out)

            installs = [sim.install("Acme"), sim.install("Globex")]
            for install in installs:
                answer = await sim.deliver(sim.create_auth_xml(install), suite_url)
                print(f"create_auth of {install.corp_id} answered: {answer.text}", file=out)

            async def all_installed() -> bool:
                codes = [await credentials.get(i.corp_id) for i in installs]
                return all(codes)

            ok = await _until(all_installed, patience)
            for install in installs:
                corp_id, corp, name = install.corp_id, install.sim, sim.corp_name(install.corp_id)
                account = corp.add_account("Support")
                corp.customer_says(account, f"wm{name}Customer", Text(f"Hello from {name}"))
                push = await sim.push_kf_callback(corp_id, account, kf_url)
                print(f"callback of {corp_id} answered: {push.status} {push.answer}", file=out)

            async def all_answered() -> bool:
                return all(i.sim.sent for i in installs)

            ok = ok and await _until(all_answered, patience)
            for install in installs:
                for sent in install.sim.sent:
                    text = sent.body.get("content")
                    print(f"{install.corp_id}: bot sent to {sent.touser}: {text}", file=out)

            gone = installs[0]
            sim.uninstall(gone.corp_id)
            answer = await sim.deliver(sim.cancel_auth_xml(gone.corp_id), suite_url)
            print(f"cancel_auth of {gone.corp_id} answered: {answer.text}", file=out)

            async def forgotten() -> bool:
                return await credentials.get(gone.corp_id) is None

            ok = ok and await _until(forgotten, patience)
            account = gone.sim.add_account("Support 2")
            push = await sim.push_kf_callback(gone.corp_id, account, kf_url)
            print(f"callback of {gone.corp_id} after it left answered: {push.status}", file=out)
            ok = ok and push.status == 503
    if not ok:
        print(f"error: the app did not answer within {patience:g} s", file=out)
        return 1
    return 0


# -- the command line -----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.provider_app",
        description="A WeCom KF provider app on FastAPI: serve it, or run the demo against "
        "the bundled provider simulator with --simulate.",
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
        app = create_app(ProviderSettings.from_env())
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(app, host=args.host, port=args.port, lifespan="on")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
