"""KfBot when a pull fails: any failure logged, reported, retried with backoff; no lane dies.

The failures are real: a cursor file that is not JSON, a file where the cursor
directory should be, a directory that refuses new files, a Redis nobody listens
for, a client closed under the bot. Time is the bot's injected sleep (a fake
clock), never the wall clock.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from wecom_kf_async import CursorStore, FileCursorStore, KfBot, KfClient, Text, TextMessage
from wecom_kf_async.instrumentation import PullFailed, PullRecovered
from wecom_kf_async.testing import WeComSimulator

from .conftest import FakeClock, FakeSleep, Recorder, client_for, until

SYNC = "kf/sync_msg"
#: Event-loop turns a test waits for the bot (bounded, no wall clock).
TURNS = 200_000


@pytest.fixture(name="kf")
def _kf(hooked_kf: KfClient) -> KfClient:
    """The client, reporting to ``hook``."""
    return hooked_kf


@pytest.fixture
def make_bot(
    kf: KfClient, clock: FakeClock, fake_sleep: FakeSleep
) -> Callable[[CursorStore], KfBot]:
    """Bots on ``kf`` with a cursor store, waiting on the fake sleep."""

    def make(cursors: CursorStore) -> KfBot:
        return KfBot(kf, cursors=cursors, sleep=fake_sleep, monotonic=clock)

    return make


def texts_of(bot: KfBot) -> list[str]:
    """Register a handler recording texts; return the list it fills."""
    seen: list[str] = []

    @bot.on(TextMessage)
    async def record(msg: TextMessage) -> None:
        seen.append(msg.text.content)

    return seen


def lane_alive(bot: KfBot, kfid: str) -> bool:
    """Whether the account's lane task runs (it must, while its pulls fail)."""
    lane = bot._lanes.get(kfid)
    return lane is not None and lane.task is not None and not lane.task.done()


def _corrupt(path: Path) -> Callable[[], None]:
    path.write_text("{not json", encoding="utf-8")

    def repair() -> None:
        path.write_text("{}", encoding="utf-8")

    return repair


def _file_for_dir(path: Path) -> Callable[[], None]:
    path.parent.rmdir()
    path.parent.write_text("a file where the cursor directory should be", encoding="utf-8")

    def repair() -> None:
        path.parent.unlink()
        path.parent.mkdir()

    return repair


@pytest.mark.parametrize(
    ("breakage", "error"),
    [(_corrupt, "JSONDecodeError"), (_file_for_dir, "NotADirectoryError")],
    ids=["corrupted-file", "file-where-a-directory-should-be"],
)
async def test_an_unreadable_cursor_store_is_logged_reported_and_retried_until_repaired(
    make_bot: Callable[[CursorStore], KfBot],
    sim: WeComSimulator,
    kfid: str,
    hook: Recorder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    breakage: Callable[[Path], Callable[[], None]],
    error: str,
) -> None:
    """Nothing is handled or fetched while the cursor cannot be read; the lane lives and
    backs off 1, 2, 4 s; once the store is repaired the message is handled, once."""
    path = tmp_path / "state" / "kf_cursors.json"
    path.parent.mkdir()
    repair = breakage(path)
    bot = make_bot(FileCursorStore(path))
    seen = texts_of(bot)
    sim.customer_says(kfid, "wmA", Text("hello"))
    async with bot:
        bot.wake(kfid)
        await until(lambda: len(hook.of(PullFailed)) >= 3, limit=TURNS)
        failed = hook.of(PullFailed)[:3]
        assert [f.retry_in for f in failed] == [1.0, 2.0, 4.0]
        assert [f.failures for f in failed] == [1, 2, 3]
        assert {(f.open_kfid, f.error, f.cursor_unsaved) for f in failed} == {(kfid, error, False)}
        assert lane_alive(bot, kfid)
        assert sim.stats.calls[SYNC] == 0
        assert seen == []
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR and kfid in r.message]
        assert errors
        assert error in caplog.text  # the cause, named
        repair()
        await until(lambda: seen == ["hello"], limit=TURNS)
        await until(lambda: bool(hook.of(PullRecovered)), limit=TURNS)
    assert hook.of(PullRecovered)[0].open_kfid == kfid
    assert seen == ["hello"]


def _read_only_directory(tmp_path: Path) -> Path:
    """A real directory that refuses new files to this process.

    As root, permission bits refuse nothing, but sysfs refuses new files to root
    too (EACCES); otherwise a directory of mode 0o555.
    """
    if os.geteuid() == 0:
        return Path("/sys")
    directory = tmp_path / "read-only"
    directory.mkdir()
    directory.chmod(0o555)
    return directory


async def test_a_cursor_that_cannot_be_saved_stops_the_account_until_the_store_works(
    make_bot: Callable[[CursorStore], KfBot],
    sim: WeComSimulator,
    kfid: str,
    hook: Recorder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Handled messages whose cursor cannot be saved are not handled again and again:
    the account stops, says so at ERROR, and goes on once the directory takes files."""
    state = tmp_path / "state"  # the cursor directory: a link we can repoint
    state.symlink_to(_read_only_directory(tmp_path))
    store = FileCursorStore(state / "kf_cursors.json")
    bot = make_bot(store)
    seen = texts_of(bot)
    for text in ("one", "two", "three"):
        sim.customer_says(kfid, "wmA", Text(text))

    def unsaved() -> list[PullFailed]:
        return [f for f in hook.of(PullFailed) if f.cursor_unsaved]

    async with bot:
        bot.wake(kfid, sim.callback_token(kfid))
        await until(lambda: len(unsaved()) >= 2, limit=TURNS)
        assert seen == ["one", "two", "three"]
        sim.customer_says(kfid, "wmA", Text("four"))
        for _ in range(3):  # WeCom's callbacks for "four" keep coming
            bot.wake(kfid, sim.callback_token(kfid))
        before = len(unsaved())
        await until(lambda: len(unsaved()) >= before + 3, limit=TURNS)
        assert seen == ["one", "two", "three"]  # nothing handled twice, nothing new
        assert lane_alive(bot, kfid)
        loud = [
            r
            for r in caplog.records
            if r.levelno >= logging.ERROR and kfid in r.message and "saved" in r.message
        ]
        assert loud
        writable = tmp_path / "writable"
        writable.mkdir()
        state.unlink()
        state.symlink_to(writable)  # the disk works again
        await until(lambda: seen == ["one", "two", "three", "four"], limit=TURNS)
        await until(lambda: bool(hook.of(PullRecovered)), limit=TURNS)
    saved = json.loads((writable / "kf_cursors.json").read_text(encoding="utf-8"))
    assert saved == {kfid: sim.cursor_for(4, kfid)}
    assert seen == ["one", "two", "three", "four"]


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_redis_unreachable_is_retried_with_bounded_backoff_and_the_lane_lives(
    make_bot: Callable[[CursorStore], KfBot],
    sim: WeComSimulator,
    kfid: str,
    hook: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A RedisCursorStore at a closed loopback port: every pull fails with the cause
    logged; the waits double up to their cap; nothing is fetched; aclose returns."""
    from wecom_kf_async.fleet import RedisCursorStore

    store = RedisCursorStore(f"redis://127.0.0.1:{_closed_port()}/0")
    bot = make_bot(store)
    seen = texts_of(bot)
    sim.customer_says(kfid, "wmA", Text("hello"))
    try:
        async with bot:
            bot.wake(kfid, sim.callback_token(kfid))
            await until(lambda: len(hook.of(PullFailed)) >= 9, limit=TURNS)
            assert lane_alive(bot, kfid)
        waits = [f.retry_in for f in hook.of(PullFailed)[:9]]
        assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0, 60.0]
        assert {f.error for f in hook.of(PullFailed)} == {"ConnectionError"}
        assert sim.stats.calls[SYNC] == 0
        assert seen == []
        assert "ConnectionError" in caplog.text or "Connect" in caplog.text
    finally:
        await store.aclose()


async def test_a_client_closed_under_the_bot_is_retried_not_fatal(
    sim: WeComSimulator,
    kfid: str,
    hook: Recorder,
    clock: FakeClock,
    fake_sleep: FakeSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A RuntimeError from a pull (the client was closed under the bot) is logged with
    its text and retried; the lane lives; a later wake-up of another account too."""
    kf = client_for(sim, instrumentation=[hook])
    async with kf:
        bot = KfBot(kf, sleep=fake_sleep, monotonic=clock)
        texts_of(bot)
        await bot.start()
    sim.customer_says(kfid, "wmA", Text("hello"))
    bot.wake(kfid)
    await until(lambda: len(hook.of(PullFailed)) >= 2, limit=TURNS)
    assert {f.error for f in hook.of(PullFailed)} == {"RuntimeError"}
    assert lane_alive(bot, kfid)
    assert "KfClient is closed" in caplog.text
    await bot.aclose()
    assert not lane_alive(bot, kfid)


async def test_failed_pulls_are_counted_for_prometheus(
    sim: WeComSimulator, kfid: str, hook: Recorder, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    """wecom_kf_pull_failures_total{error, cursor_unsaved} counts each failed try."""
    from prometheus_client import CollectorRegistry

    from wecom_kf_async.instrumentation import PrometheusInstrumentation

    registry = CollectorRegistry()
    kf = client_for(sim, instrumentation=[hook, PrometheusInstrumentation(registry)])
    async with kf:
        bot = KfBot(kf, sleep=fake_sleep, monotonic=clock)
        await bot.start()
    bot.wake(kfid)  # every pull now fails: the client is closed
    await until(lambda: len(hook.of(PullFailed)) >= 3, limit=TURNS)
    await bot.aclose()
    labels = {"error": "RuntimeError", "cursor_unsaved": "false"}
    counted = registry.get_sample_value("wecom_kf_pull_failures_total", labels)
    assert counted == len(hook.of(PullFailed))
