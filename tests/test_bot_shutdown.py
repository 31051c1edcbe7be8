"""KfBot's start and stop whatever handlers do: stray cancellations, aclose from a handler,
handlers that will not stop; and the client the bot is given.

``asyncio.timeout`` here only turns a hang into a failure; the bot's own waits run
on its injected sleep where a test needs to see them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import pytest

from wecom_kf_async import KfBot, KfClient, KfMessage, Text, TextMessage
from wecom_kf_async.testing import WeComSimulator

from .conftest import FakeClock, FakeSleep, client_for, until

#: Seconds after which a test counts the bot as hung (never waited when it works).
HANG = 5.0


def say(sim: WeComSimulator, kfid: str, *texts: str) -> None:
    """The customer wmA writes *texts*."""
    for text in texts:
        sim.customer_says(kfid, "wmA", Text(text))


async def settle(bot: KfBot) -> None:
    """Wait (bounded, no wall clock) until no lane of *bot* runs."""
    await until(lambda: all(lane.task is None for lane in bot._lanes.values()), limit=100_000)


async def test_a_cancelled_error_escaping_a_handler_is_isolated_like_any_failure(
    kf: KfClient, sim: WeComSimulator, kfid: str, caplog: pytest.LogCaptureFixture
) -> None:
    """An inner task's CancelledError out of a handler: logged, hooked, skipped; the
    messages after it are delivered and it is no poison message."""
    failures: list[tuple[str, str]] = []

    def hook(msg: KfMessage, exc: BaseException) -> None:
        assert isinstance(msg, TextMessage)
        failures.append((msg.text.content, type(exc).__name__))

    bot = KfBot(kf, on_error=hook)
    handled: list[str] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        if msg.text.content == "inner":
            inner = asyncio.create_task(asyncio.sleep(3600))
            await asyncio.sleep(0)
            inner.cancel()
            await inner  # the inner task's CancelledError escapes the handler
        handled.append(msg.text.content)

    say(sim, kfid, "before", "inner", "after")
    async with bot:
        bot.wake(kfid)
        await settle(bot)
        assert handled == ["before", "after"]
        say(sim, kfid, "later")
        bot.wake(kfid)
        await settle(bot)
    assert handled == ["before", "after", "later"]  # "inner" was not handed out again
    assert failures == [("inner", "CancelledError")]
    assert "CancelledError" in caplog.text


async def test_a_handler_that_closes_the_bot_does_not_hang_it(
    kf: KfClient, sim: WeComSimulator, kfid: str, caplog: pytest.LogCaptureFixture
) -> None:
    """'/stop' calls await bot.aclose() in a handler: it returns, the lane ends on its
    own (nothing cut off or abandoned), and an outer aclose() returns too."""
    bot = KfBot(kf, shutdown_timeout=1.0)
    handled: list[str] = []
    stopped = asyncio.Event()

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        handled.append(msg.text.content)
        if msg.text.content == "/stop":
            await bot.aclose()
            stopped.set()

    say(sim, kfid, "hello", "/stop", "unread")
    await bot.start()
    bot.wake(kfid)
    async with asyncio.timeout(HANG):
        await stopped.wait()
        await bot.aclose()
    assert handled == ["hello", "/stop"]
    assert not bot.running
    assert all(lane.task is None for lane in bot._lanes.values())
    assert "abandon" not in caplog.text
    assert "cut off" not in caplog.text
    assert not bot.wake(kfid)


async def test_a_handler_swallowing_cancellation_cannot_hold_aclose_past_the_timeout(
    kf: KfClient,
    sim: WeComSimulator,
    kfid: str,
    clock: FakeClock,
    fake_sleep: FakeSleep,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A handler that ignores cancel: aclose() waits shutdown_timeout on the bot's clock
    in all, then returns, logging the account and the msgid it abandons."""
    bot = KfBot(kf, shutdown_timeout=1.0, sleep=fake_sleep, monotonic=clock)
    inside, released = asyncio.Event(), asyncio.Event()
    msgids: list[str] = []

    @bot.on(TextMessage)
    async def stubborn(msg: TextMessage) -> None:
        msgids.append(msg.msgid)
        inside.set()
        while not released.is_set():
            with contextlib.suppress(asyncio.CancelledError):  # swallowed, again and again
                await released.wait()

    say(sim, kfid, "stuck")
    await bot.start()
    bot.wake(kfid)
    await inside.wait()
    async with asyncio.timeout(HANG):
        await bot.aclose()
    assert sum(fake_sleep.waits) <= 1.0
    abandoned = [r for r in caplog.records if "abandon" in r.message]
    assert abandoned
    assert abandoned[0].levelno >= logging.ERROR
    assert kfid in abandoned[0].message
    assert msgids[0] in abandoned[0].message
    released.set()  # let the abandoned handler end before the test's loop closes
    await settle(bot)


async def test_a_bot_opens_a_client_not_yet_open_and_closes_it(sim: WeComSimulator) -> None:
    """start() on a client nobody opened opens it (the guide's ASGI app needs that);
    aclose() closes what the bot opened, and only that."""
    kf = client_for(sim)
    bot = KfBot(kf)
    await bot.start()
    assert kf.state == "open"
    assert (await kf.accounts.list()) == []
    await bot.aclose()
    assert kf.state == "closed"

    async with client_for(sim) as mine:
        other = KfBot(mine)
        async with other:
            pass
        assert mine.state == "open"  # the caller's client stays the caller's


async def test_starting_a_bot_on_a_closed_client_fails_clearly(sim: WeComSimulator) -> None:
    """A closed client cannot be pulled with: start() says so, at once."""
    async with client_for(sim) as kf:
        pass
    with pytest.raises(RuntimeError, match="KfClient is closed"):
        await KfBot(kf).start()
