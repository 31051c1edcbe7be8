"""KfBot: typed dispatch, one pull per Token, coalescing, per-account order, clean shutdown."""

from __future__ import annotations

import asyncio

import pytest

from wecom_kf_async import (
    EnterSessionEvent,
    ImageMessage,
    InMemoryCursorStore,
    KfBot,
    KfClient,
    KfMessage,
    Message,
    Text,
    TextMessage,
)
from wecom_kf_async.testing import WeComSimulator

from .conftest import until

SYNC = "kf/sync_msg"


def say(sim: WeComSimulator, kfid: str, uid: str, *texts: str) -> None:
    """The customer *uid* writes *texts* to *kfid*."""
    for text in texts:
        sim.customer_says(kfid, uid, Text(text))


async def settle(bot: KfBot) -> None:
    """Wait (bounded, no wall clock) until no lane of *bot* runs."""
    await until(lambda: all(lane.task is None for lane in bot._lanes.values()), limit=100_000)


async def test_messages_go_to_the_handlers_of_their_nearest_class(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """TextMessage to its handler, events to on_event, the rest to the fallback."""
    bot = KfBot(kf)
    got: list[tuple[str, str]] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        got.append(("text", msg.text.content))

    @bot.on_event(EnterSessionEvent)
    async def entered(event: EnterSessionEvent) -> None:
        got.append(("enter", event.scene or ""))

    @bot.fallback
    async def other(msg: KfMessage) -> None:
        got.append(("other", type(msg).__name__))

    sim.customer_enters(kfid, "wmA", scene="qr")
    say(sim, kfid, "wmA", "hello")
    sim.customer_says(kfid, "wmA", {"msgtype": "image", "image": {"media_id": "m1"}})
    async with bot:
        bot.wake(kfid)
        await settle(bot)
    assert got == [("enter", "qr"), ("text", "hello"), ("other", "ImageMessage")]
    assert bot.handlers_for(ImageMessage) == bot._table.fallback


async def test_a_base_class_handler_takes_every_message_kind(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """@bot.on(Message) sees texts and images alike, in order."""
    bot = KfBot(kf)
    kinds: list[str] = []

    @bot.on(Message)
    async def every(msg: Message) -> None:
        kinds.append(msg.msgtype)

    say(sim, kfid, "wmA", "one")
    sim.customer_says(kfid, "wmA", {"msgtype": "image", "image": {"media_id": "m1"}})
    async with bot:
        bot.wake(kfid)
        await settle(bot)
    assert kinds == ["text", "image"]


def test_handlers_must_be_async_and_classes_of_the_right_kind(kf: KfClient) -> None:
    """on() takes Message classes, on_event() Event classes, and both only async functions."""
    bot = KfBot(kf)
    with pytest.raises(TypeError, match="Message class"):
        bot.on(EnterSessionEvent)
    with pytest.raises(TypeError, match="Event class"):
        bot.on_event(TextMessage)
    with pytest.raises(TypeError, match="async function"):
        bot.on(TextMessage)(lambda msg: None)


async def test_a_callback_repeated_three_times_causes_one_pull(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """The same Token three times (WeCom's retries): one pull, each message handled once."""
    bot = KfBot(kf)
    seen: list[str] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        seen.append(msg.msgid)

    say(sim, kfid, "wmA", "a", "b")
    token = sim.callback_token(kfid)
    async with bot:
        assert [bot.wake(kfid, token) for _ in range(3)] == [True, False, False]
        await settle(bot)
    assert bot.pulls == {kfid: 1}
    assert len(seen) == 2


async def test_200_callbacks_during_a_pull_coalesce_into_one_more(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """200 wake-ups for one account while its pull runs: two pulls, every message once."""
    bot = KfBot(kf)
    seen: list[str] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        seen.append(msg.msgid)

    say(sim, kfid, "wmA", *(f"m{n}" for n in range(20)))
    gate = asyncio.Event()
    sim.hold = gate
    async with bot:
        bot.wake(kfid, sim.callback_token(kfid))
        await until(lambda: sim.stats.in_flight >= 1)  # the first pull waits on the gate
        for _ in range(199):
            bot.wake(kfid, sim.callback_token(kfid))
        say(sim, kfid, "wmA", "late")  # came with the last callbacks
        gate.set()
        await settle(bot)
    assert bot.pulls[kfid] == 2
    assert len(seen) == 21
    assert len(set(seen)) == 21


async def test_accounts_run_in_parallel_and_each_keeps_its_order(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """Three accounts at once: per-account order kept, at most max_concurrency handlers at once."""
    kfids = [kfid, sim.add_account("Sales"), sim.add_account("Billing")]
    for n, account in enumerate(kfids):
        say(sim, account, f"wm{n}", *(f"{n}:{i}" for i in range(15)))
    bot = KfBot(kf, max_concurrency=2)
    order: dict[str, list[int]] = {account: [] for account in kfids}
    active = peak = 0

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0)  # let the other accounts' lanes run
        order[msg.open_kfid].append(int(msg.text.content.split(":")[1]))
        active -= 1

    async with bot:
        for account in kfids:
            bot.wake(account)
        await settle(bot)
    assert all(seq == list(range(15)) for seq in order.values())
    assert peak == 2


async def test_a_failing_handler_is_logged_hooked_and_skipped(
    kf: KfClient, sim: WeComSimulator, kfid: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A handler that raises does not stop the stream; the hook gets message and error."""
    failures: list[tuple[str, str]] = []

    async def hook(msg: KfMessage, exc: BaseException) -> None:
        failures.append((msg.msgid, str(exc)))

    bot = KfBot(kf, on_error=hook)
    handled: list[str] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        if msg.text.content == "boom":
            raise RuntimeError("the handler broke")
        handled.append(msg.text.content)

    say(sim, kfid, "wmA", "before", "boom", "after")
    async with bot:
        bot.wake(kfid)
        await settle(bot)
    assert handled == ["before", "after"]
    ((msgid, error),) = failures
    assert error == "the handler broke"
    assert msgid in caplog.text


async def test_shutdown_mid_stream_keeps_every_acked_cursor_and_loses_nothing(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """Stopping during a page saves the pages taken; a new bot picks up without a gap."""
    say(sim, kfid, "wmA", *(f"m{n}" for n in range(40)))
    sim.script_pages([10] * 10)  # pages of 10
    store = InMemoryCursorStore()
    first_seen: list[str] = []
    stop_at = asyncio.Event()

    first = KfBot(kf, cursors=store)

    @first.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        first_seen.append(msg.text.content)
        if len(first_seen) == 25:
            stop_at.set()
            await asyncio.sleep(0)

    async with first:
        first.wake(kfid)
        await stop_at.wait()
    assert await store.get(kfid) == sim.cursor_for(20, kfid)  # pages 1-2 taken, 3 not

    second = KfBot(kf, cursors=store)
    second_seen: list[str] = []

    @second.on(TextMessage)
    async def text2(msg: TextMessage) -> None:
        second_seen.append(msg.text.content)

    async with second:
        second.wake(kfid)
        await settle(second)
    everything = [f"m{n}" for n in range(40)]
    assert first_seen == everything[:25]  # stopped after the message in hand
    assert second_seen == everything[20:]  # page 3 again (at least once), nothing lost


async def test_wake_ups_before_start_are_pulled_once_started(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """A callback that arrives before the lifespan started the bot is not lost."""
    bot = KfBot(kf)
    seen: list[str] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        seen.append(msg.text.content)

    say(sim, kfid, "wmA", "early")
    assert bot.wake(kfid, sim.callback_token(kfid))
    assert seen == []
    async with bot:
        await settle(bot)
    assert seen == ["early"]
    assert not bot.wake(kfid)  # closed: dropped


async def test_poll_wakes_every_account_without_callbacks(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """poll() lists the accounts and pulls each, until the bot stops."""
    other = sim.add_account("Sales")
    say(sim, kfid, "wmA", "to support")
    say(sim, other, "wmB", "to sales")
    bot = KfBot(kf)
    seen: list[str] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        seen.append(msg.text.content)

    async with bot:
        poller = asyncio.create_task(bot.poll(interval=30))
        await until(lambda: len(seen) == 2, limit=100_000)
    await asyncio.wait_for(poller, 5)  # returns when the bot stops
    assert sorted(seen) == ["to sales", "to support"]
    assert set(bot.pulls) == {kfid, other}


async def test_a_second_aclose_waits_for_the_first(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """A signal handler's aclose while another runs returns only when the lanes are done."""
    bot = KfBot(kf)
    in_handler, release = asyncio.Event(), asyncio.Event()
    finished: list[str] = []

    @bot.on(TextMessage)
    async def slow(msg: TextMessage) -> None:
        in_handler.set()
        await release.wait()
        finished.append(msg.text.content)

    say(sim, kfid, "wmA", "in hand")
    await bot.start()
    bot.wake(kfid)
    await in_handler.wait()
    first = asyncio.create_task(bot.aclose())
    second = asyncio.create_task(bot.aclose())
    await until(lambda: bot._stop.is_set())
    for _ in range(50):
        await asyncio.sleep(0)
    assert not second.done()  # the first is still waiting for the handler
    release.set()
    await asyncio.gather(first, second)
    assert finished == ["in hand"]
    await bot.aclose()  # and later calls return at once
