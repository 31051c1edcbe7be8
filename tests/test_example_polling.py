"""The polling example end to end: a real process polling the simulator on a loopback port.

The simulator runs in the test's event loop (``serve``), so the test writes the
customers' messages into it and reads what the bot sent from ``sim.sent`` while
the bot, ``python -m examples.polling_bot``, runs as a child process configured
only through its environment, as in production.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from examples import polling_bot
from wecom_kf_async import Text
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator, serve

ROOT = Path(__file__).resolve().parents[1]
#: Seconds any one wait may take before the test gives up (never slept through).
PATIENCE = 60.0

needs_signals = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


async def wait_until(condition: Callable[[], bool], what: str, bot: Bot) -> None:
    """Let the event loop run (the simulator answers the bot) until *condition* holds."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{bot.output}")
        await asyncio.sleep(0.02)


class Bot:
    """``python -m examples.polling_bot`` in a child process, its output in a file."""

    def __init__(self, process: asyncio.subprocess.Process, log: Path) -> None:
        self.process = process
        self.log = log

    @classmethod
    async def start(cls, env: dict[str, str], log: Path, *args: str) -> Bot:
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "examples.polling_bot",
                *args,
                cwd=ROOT,
                env=env,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
            )
        return cls(process, log)

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    async def stop(self, signum: int) -> int:
        """Send *signum* and wait for the exit status."""
        self.process.send_signal(signum)
        return await self.wait()

    async def wait(self) -> int:
        try:
            return await asyncio.wait_for(self.process.wait(), PATIENCE)
        finally:
            if self.process.returncode is None:
                self.process.kill()
                await self.process.wait()


def bot_env(wecom_url: str, cursor_file: Path, **extra: str) -> dict[str, str]:
    """The environment of a bot process polling the simulator at *wecom_url*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "KF_"))}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(
        WECOM_CORP_ID="wwsimcorp",
        WECOM_KF_SECRET=SIM_SECRET,
        WECOM_BASE_URL=wecom_url,
        KF_CURSOR_FILE=str(cursor_file),
        KF_POLL_INTERVAL="0.2",
    )
    env.update(extra)
    return env


@pytest.fixture
async def wecom(sim: WeComSimulator) -> AsyncIterator[str]:
    """The simulator served on a loopback port; yields its URL."""
    async with serve(sim) as url:
        yield url


@needs_signals
async def test_bot_answers_stops_on_signals_and_never_answers_twice(
    sim: WeComSimulator, wecom: str, tmp_path: Path
) -> None:
    """Welcome and echo; SIGTERM exits 0; a restart answers only what is new; SIGINT exits 0."""
    kfid = sim.add_account("Support")
    cursors = tmp_path / "kf_cursors.json"
    env = bot_env(wecom, cursors)
    log = tmp_path / "bot.log"
    sim.customer_enters(kfid, "wmAlice", scene="spring_sale")
    sim.customer_says(kfid, "wmAlice", Text("Hello!"))
    sim.servicer_says(kfid, "wmAlice", "zhangsan", Text("Hi, I am a person"))  # not echoed

    bot = await Bot.start(env, log)
    await wait_until(lambda: len(sim.sent) >= 2, "the welcome and the echo", bot)
    assert await bot.stop(signal.SIGTERM) == 0, bot.output
    assert "SIGTERM received: stopping" in bot.output
    assert "stopped cleanly" in bot.output
    assert [(s.endpoint, s.touser, s.body) for s in sim.sent] == [
        ("kf/send_msg_on_event", "wmAlice", {"content": polling_bot.WELCOME}),
        ("kf/send_msg", "wmAlice", {"content": "You said: Hello!"}),
    ]
    assert set(json.loads(cursors.read_text(encoding="utf-8"))) == {kfid}

    # A restart on the same cursor file polls from where the bot stopped.
    polls = sim.stats.calls["kf/sync_msg"]
    bot = await Bot.start(env, log)
    await wait_until(lambda: sim.stats.calls["kf/sync_msg"] >= polls + 2, "two polls", bot)
    assert len(sim.sent) == 2, "a restarted bot answered again"
    sim.customer_says(kfid, "wmAlice", Text("Still there?"))
    await wait_until(lambda: len(sim.sent) >= 3, "the echo after the restart", bot)
    assert await bot.stop(signal.SIGINT) == 0, bot.output
    assert [(s.endpoint, s.body) for s in sim.sent[2:]] == [
        ("kf/send_msg", {"content": "You said: Still there?"})
    ]
    assert "SIGINT received: stopping" in bot.output
    assert "Traceback" not in bot.output
    assert SIM_SECRET not in bot.output


@needs_signals
async def test_bot_polls_only_the_accounts_given(
    sim: WeComSimulator, wecom: str, tmp_path: Path
) -> None:
    """KF_OPEN_KFIDS: the other accounts are not read, and the accounts are not listed."""
    mine, other = sim.add_account("Mine"), sim.add_account("Other")
    sim.customer_says(mine, "wmAlice", Text("one"))
    sim.customer_says(other, "wmBob", Text("two"))
    log = tmp_path / "bot.log"
    bot = await Bot.start(bot_env(wecom, tmp_path / "c.json", KF_OPEN_KFIDS=mine), log)
    await wait_until(lambda: len(sim.sent) >= 1, "the echo", bot)
    polls = sim.stats.calls["kf/sync_msg"]
    await wait_until(lambda: sim.stats.calls["kf/sync_msg"] >= polls + 1, "another poll", bot)
    assert await bot.stop(signal.SIGTERM) == 0, bot.output
    assert [(s.touser, s.body) for s in sim.sent] == [("wmAlice", {"content": "You said: one"})]
    assert sim.stats.calls["kf/account/list"] == 0


async def test_wrong_credentials_stop_the_bot_at_startup(wecom: str, tmp_path: Path) -> None:
    """WeCom refusing the secret exits 2 at once with a message naming the variables."""
    log = tmp_path / "bot.log"
    env = bot_env(wecom, tmp_path / "c.json", WECOM_KF_SECRET="not-the-secret")
    bot = await Bot.start(env, log)
    assert await bot.wait() == 2, bot.output
    assert "WeCom refused WECOM_CORP_ID/WECOM_KF_SECRET" in bot.output
    assert "not-the-secret" not in bot.output
    assert "Traceback" not in bot.output


async def test_simulate_runs_the_whole_demo(tmp_path: Path) -> None:
    """``python -m examples.polling_bot --simulate``: answers, a restart that repeats nothing."""
    log = tmp_path / "demo.log"
    bot = await Bot.start(bot_env("http://unused.invalid", tmp_path / "c.json"), log, "--simulate")
    assert await bot.wait() == 0, bot.output
    lines = bot.output.splitlines()
    customer = polling_bot.DEMO_CUSTOMER
    assert [line for line in lines if line.startswith("bot sent")] == [
        f"bot sent (send_msg_on_event) to {customer}: {polling_bot.WELCOME}",
        f"bot sent (send_msg) to {customer}: You said: {polling_bot.DEMO_TEXT}",
        f"bot sent (send_msg) to {customer}: You said: {polling_bot.DEMO_LATER_TEXT}",
    ], bot.output
    assert "bot started again: polled twice, 0 message(s) answered again" in lines
    assert "Traceback" not in bot.output


def test_settings_come_from_the_environment_and_hide_the_secret() -> None:
    """Missing and malformed variables are named; the repr never shows the secret."""
    with pytest.raises(polling_bot.SettingsError, match="WECOM_CORP_ID, WECOM_KF_SECRET"):
        polling_bot.PollSettings.from_env({})
    env = {"WECOM_CORP_ID": "ww1", "WECOM_KF_SECRET": "topsecret"}
    settings = polling_bot.PollSettings.from_env(env)
    assert (settings.base_url, settings.cursor_file, settings.interval, settings.open_kfids) == (
        None,
        "kf_cursors.json",
        polling_bot.DEFAULT_INTERVAL,
        None,
    )
    assert "topsecret" not in repr(settings)
    for bad in ("0", "-1", "soon", "nan", "inf"):
        with pytest.raises(polling_bot.SettingsError, match="KF_POLL_INTERVAL"):
            polling_bot.PollSettings.from_env({**env, "KF_POLL_INTERVAL": bad})
    with pytest.raises(polling_bot.SettingsError, match="WECOM_BASE_URL"):
        polling_bot.PollSettings.from_env({**env, "WECOM_BASE_URL": "wecom.local"})
    kfids = polling_bot.PollSettings.from_env({**env, "KF_OPEN_KFIDS": " wkA, ,wkB "}).open_kfids
    assert kfids == ("wkA", "wkB")


async def test_an_unusable_cursor_file_stops_the_bot_before_any_call(
    sim: WeComSimulator, tmp_path: Path
) -> None:
    """A missing directory or a file that is not a cursor file: SettingsError, nothing sent."""
    base = {"WECOM_CORP_ID": "wwsimcorp", "WECOM_KF_SECRET": SIM_SECRET}
    missing = tmp_path / "nowhere" / "c.json"
    broken = tmp_path / "broken.json"
    broken.write_text("[1, 2", encoding="utf-8")
    for path, message in ((missing, "does not exist"), (broken, "cannot read")):
        settings = polling_bot.PollSettings.from_env({**base, "KF_CURSOR_FILE": str(path)})
        with pytest.raises(polling_bot.SettingsError, match=message):
            await polling_bot.run(settings, asyncio.Event())
    assert sum(sim.stats.calls.values()) == 0
