"""A polling echo bot: asyncio alone, no web framework and no public URL.

The bot asks WeCom every few seconds whether messages are waiting
(:meth:`KfBot.poll <wecom_kf_async.callback.KfBot.poll>`), welcomes each customer
who enters and echoes every text. Each account's cursor is kept in a file
(:class:`~wecom_kf_async.FileCursorStore`), so a restarted bot goes on where it
stopped and never answers a message twice. SIGINT (Ctrl-C) and SIGTERM stop it
cleanly: the message in hand is finished, the cursors are saved, the client is
closed, and the process exits 0.

Run the whole demo against the bundled simulator, served as WeCom on a loopback
port (no credentials needed)::

    python -m examples.polling_bot --simulate

Run it for real::

    python -m examples.polling_bot

Settings come from the environment:

- ``WECOM_CORP_ID`` and ``WECOM_KF_SECRET``: the credentials.
- ``WECOM_BASE_URL``: the API root (default: WeCom), e.g. a simulator's URL.
- ``KF_CURSOR_FILE``: where the cursors are kept (default ``kf_cursors.json``).
- ``KF_POLL_INTERVAL``: seconds between two polls (default 5).
- ``KF_OPEN_KFIDS``: the accounts to poll, comma-separated (default: every
  account of the corp, listed again at each poll).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import math
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TextIO

from wecom_kf_async import (
    ConfigurationError,
    CursorStore,
    EnterSessionEvent,
    EventCodeError,
    FileCursorStore,
    KfBot,
    KfClient,
    KfError,
    Origin,
    PermissionDeniedError,
    SendLimitError,
    Text,
    TextMessage,
)

__all__ = [
    "DEFAULT_CURSOR_FILE",
    "DEFAULT_INTERVAL",
    "DEMO_CUSTOMER",
    "DEMO_LATER_TEXT",
    "DEMO_TEXT",
    "WELCOME",
    "PollSettings",
    "SettingsError",
    "build_bot",
    "install_signal_handlers",
    "main",
    "run",
    "simulate",
]

ENV_CORP_ID: Final = "WECOM_CORP_ID"
ENV_SECRET: Final = "WECOM_KF_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_BASE_URL: Final = "WECOM_BASE_URL"
ENV_CURSOR_FILE: Final = "KF_CURSOR_FILE"
ENV_INTERVAL: Final = "KF_POLL_INTERVAL"
ENV_OPEN_KFIDS: Final = "KF_OPEN_KFIDS"

DEFAULT_CURSOR_FILE: Final = "kf_cursors.json"
#: Seconds between two polls. Polls carry no callback Token, so WeCom limits them
#: strictly; the client also keeps them to 1 call per second.
DEFAULT_INTERVAL: Final = 5.0

#: The welcome sent with each ``welcome_code``.
WELCOME: Final = "Welcome! Ask me anything."
#: The customer of the ``--simulate`` demo, and what they say before and after the restart.
DEMO_CUSTOMER: Final = "wmDemoCustomer"
DEMO_TEXT: Final = "Hello, bot!"
DEMO_LATER_TEXT: Final = "Are you still there?"

logger = logging.getLogger("examples.polling_bot")


class SettingsError(RuntimeError):
    """A setting is missing or malformed, or WeCom refused the credentials."""


@dataclass(frozen=True)
class PollSettings:
    """What the bot needs: credentials, where cursors go, how often to poll which accounts."""

    corp_id: str
    secret: str
    base_url: str | None = None
    cursor_file: str = DEFAULT_CURSOR_FILE
    interval: float = DEFAULT_INTERVAL
    open_kfids: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        # Never show the secret.
        return (
            f"PollSettings(corp_id={self.corp_id!r}, base_url={self.base_url!r}, "
            f"cursor_file={self.cursor_file!r}, interval={self.interval!r}, "
            f"open_kfids={self.open_kfids!r})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> PollSettings:
        """Read the settings from *environ* (default: ``os.environ``).

        Raises:
            SettingsError: A variable is missing or malformed.
        """
        env = os.environ if environ is None else environ
        corp_id = env.get(ENV_CORP_ID, "").strip()
        secret = env.get(ENV_SECRET, "").strip()
        missing = [
            name for name, value in ((ENV_CORP_ID, corp_id), (ENV_SECRET, secret)) if not value
        ]
        if missing:
            raise SettingsError(
                f"{', '.join(missing)} not set (or run the demo: python -m examples.polling_bot "
                "--simulate)"
            )
        base_url = env.get(ENV_BASE_URL, "").strip() or None
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            raise SettingsError(f"{ENV_BASE_URL} must be an http(s) URL, got {base_url!r}")
        raw_interval = env.get(ENV_INTERVAL, "").strip()
        try:
            interval = float(raw_interval) if raw_interval else DEFAULT_INTERVAL
        except ValueError:
            interval = math.nan
        if not 0 < interval < math.inf:
            raise SettingsError(
                f"{ENV_INTERVAL} must be a positive number of seconds, got {raw_interval!r}"
            )
        kfids = tuple(
            part.strip() for part in env.get(ENV_OPEN_KFIDS, "").split(",") if part.strip()
        )
        return cls(
            corp_id=corp_id,
            secret=secret,
            base_url=base_url,
            cursor_file=env.get(ENV_CURSOR_FILE, "").strip() or DEFAULT_CURSOR_FILE,
            interval=interval,
            open_kfids=kfids or None,
        )


def build_bot(kf: KfClient, cursors: CursorStore) -> KfBot:
    """The bot: a welcome for each customer who enters, an echo of each text.

    Args:
        kf: The client the handlers answer with.
        cursors: Where the bot keeps each account's cursor.

    Returns:
        The bot, not started (``async with bot:`` starts it). It has no
        ``CallbackCrypto``: it is woken by polls, not by callbacks.
    """
    bot = KfBot(kf, cursors=cursors)

    @bot.on(TextMessage)
    async def echo(msg: TextMessage) -> None:
        if msg.origin != Origin.CUSTOMER or msg.external_userid is None or msg.open_kfid is None:
            return  # a servicer's message from the WeCom app: not ours to answer
        try:
            await kf.messages.send(
                msg.external_userid, msg.open_kfid, Text(f"You said: {msg.text.content}")
            )
        except SendLimitError:
            # 5 answers since the customer's last message, or older than 48 hours.
            logger.info("%s: not echoed (send limit)", msg.msgid)
            return
        logger.info("%s: echoed to %s", msg.msgid, msg.external_userid)

    @bot.on_event(EnterSessionEvent)
    async def welcome(event: EnterSessionEvent) -> None:
        if not event.welcome_code:  # absent when WeCom greets the customer itself
            return
        try:
            await kf.messages.send_on_event(event.welcome_code, Text(WELCOME))
        except EventCodeError:
            # A welcome code lives 20 seconds: this customer entered long ago.
            logger.info("%s: welcome code expired, no welcome", event.msgid)
            return
        logger.info("%s: welcomed %s", event.msgid, event.external_userid)

    return bot


def _check_cursor_file(path: Path) -> None:
    """Fail at startup, not at the first pull, if the cursor file cannot be used."""
    if not path.parent.is_dir():
        raise SettingsError(f"{ENV_CURSOR_FILE}: the directory {str(path.parent)!r} does not exist")
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SettingsError(f"{ENV_CURSOR_FILE}: cannot read {str(path)!r}: {exc}") from exc
        if not isinstance(data, dict):
            raise SettingsError(f"{ENV_CURSOR_FILE}: {str(path)!r} is not a cursor file")


async def run(settings: PollSettings, stop: asyncio.Event) -> None:
    """Poll and answer until *stop* is set, then stop cleanly.

    The access token is fetched first, so wrong credentials stop the bot at once.
    When *stop* is set, the bot finishes the message in hand, saves the cursors of
    the pages it finished and closes the client before this returns.

    Raises:
        SettingsError: The cursor file cannot be used, or WeCom refused the
            credentials or this app.
    """
    path = Path(settings.cursor_file)
    _check_cursor_file(path)
    options: dict[str, Any] = {}
    if settings.base_url is not None:
        options["base_url"] = settings.base_url
    async with KfClient(corp_id=settings.corp_id, secret=settings.secret, **options) as kf:
        try:
            await kf.tokens.get()
        except (ConfigurationError, PermissionDeniedError) as exc:
            raise SettingsError(
                f"WeCom refused {ENV_CORP_ID}/{ENV_SECRET} or this app: {exc}"
            ) from exc
        except KfError as exc:  # maybe a passing outage: the polls will try again
            logger.warning("could not fetch an access token at startup (%s); going on", exc)
        bot = build_bot(kf, FileCursorStore(path))
        async with bot:
            poller = asyncio.create_task(
                bot.poll(interval=settings.interval, open_kfids=settings.open_kfids),
                name="kf-poll",
            )
            stopping = asyncio.create_task(stop.wait(), name="kf-stop")
            accounts = "every account" if settings.open_kfids is None else settings.open_kfids
            logger.info("polling %s every %g s; cursors in %s", accounts, settings.interval, path)
            await asyncio.wait({poller, stopping}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            if poller.done():
                poller.result()  # poll only returns when the bot stops: raise what stopped it
            logger.info("stopping: finishing the message in hand, saving the cursors")
        # Leaving `async with bot` stopped it, and poll() returns once the bot stops.
        await poller
    logger.info("stopped cleanly")


def install_signal_handlers(stop: asyncio.Event) -> None:
    """Make SIGINT (Ctrl-C) and SIGTERM set *stop*; a second one acts as usual (forces)."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def on_signal(signum: int) -> None:
        logger.info("%s received: stopping (send it again to force)", signal.Signals(signum).name)
        stop.set()
        for sig in signals:
            loop.remove_signal_handler(sig)

    for sig in signals:
        try:
            loop.add_signal_handler(sig, on_signal, sig)
        except NotImplementedError:  # Windows: the loop has no signal handlers
            signal.signal(sig, lambda signum, _frame: loop.call_soon_threadsafe(stop.set))


async def serve_until_signalled(settings: PollSettings) -> None:
    """Run the bot until SIGINT or SIGTERM."""
    stop = asyncio.Event()
    install_signal_handlers(stop)
    await run(settings, stop)


# -- the demo against the simulator ------------------------------------------------


async def _until(condition: Callable[[], bool], patience: float) -> bool:
    deadline = time.monotonic() + patience
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def simulate(out: TextIO = sys.stdout, *, patience: float = 30.0) -> int:
    """Run the demo: the simulator as WeCom on a loopback port, the bot polling it.

    A customer enters and says something; the bot welcomes and echoes; the bot
    is stopped and started again on the same cursor file, polls without answering
    anything twice, and answers what the customer says next. Prints what the bot
    sent; returns 0 (1 if something did not happen within *patience* seconds).
    """
    from wecom_kf_async.testing import SIM_SECRET, WeComSimulator, serve

    sim = WeComSimulator()
    open_kfid = sim.add_account("Support")
    ok = True

    def report(start: int) -> None:
        for sent in sim.sent[start:]:
            endpoint = sent.endpoint.removeprefix("kf/")
            print(f"bot sent ({endpoint}) to {sent.touser}: {sent.body.get('content')}", file=out)

    with tempfile.TemporaryDirectory() as workdir:
        async with serve(sim) as wecom_url:
            settings = PollSettings(
                corp_id=sim.corp_id,
                secret=SIM_SECRET,
                base_url=wecom_url,
                cursor_file=str(Path(workdir, DEFAULT_CURSOR_FILE)),
                interval=0.5,
            )
            print(
                f"simulated WeCom at {wecom_url}, polling every {settings.interval:g} s", file=out
            )
            sim.customer_enters(open_kfid, DEMO_CUSTOMER, scene="demo")
            sim.customer_says(open_kfid, DEMO_CUSTOMER, Text(DEMO_TEXT))
            print(f"customer {DEMO_CUSTOMER} entered and said {DEMO_TEXT!r}", file=out)

            stop = asyncio.Event()
            bot = asyncio.create_task(run(settings, stop))
            ok &= await _until(lambda: len(sim.sent) >= 2 or bot.done(), patience)
            stop.set()
            await bot
            report(0)
            print("bot stopped", file=out)

            # Start again on the same cursor file: nothing is answered twice.
            stop = asyncio.Event()
            polls = sim.stats.calls["kf/sync_msg"]
            bot = asyncio.create_task(run(settings, stop))
            ok &= await _until(lambda: sim.stats.calls["kf/sync_msg"] >= polls + 2, patience)
            repeated = len(sim.sent) - 2
            print(
                f"bot started again: polled twice, {repeated} message(s) answered again", file=out
            )
            sim.customer_says(open_kfid, DEMO_CUSTOMER, Text(DEMO_LATER_TEXT))
            print(f"customer {DEMO_CUSTOMER} said {DEMO_LATER_TEXT!r}", file=out)
            ok &= await _until(lambda: len(sim.sent) >= 3 or bot.done(), patience)
            stop.set()
            await bot
            report(2)
            print("bot stopped", file=out)
    if not ok or repeated or len(sim.sent) != 3:
        print(f"error: the bot did not answer as expected within {patience:g} s", file=out)
        return 1
    return 0


# -- the command line -----------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m examples.polling_bot",
        description="A WeCom KF echo bot that polls (no web framework, no public URL). "
        "Settings come from the environment; --simulate runs the demo against the "
        "bundled simulator.",
    )
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run the whole demo against the simulator (no settings needed), then exit",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 failed, 2 bad settings)."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per poll
    if args.simulate:
        for name in ("examples.polling_bot", "wecom_kf_async"):  # the demo prints its own lines
            logging.getLogger(name).setLevel(logging.WARNING)
        return asyncio.run(simulate())
    try:
        asyncio.run(serve_until_signalled(PollSettings.from_env()))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
