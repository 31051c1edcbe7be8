"""kf_account_auth_change reaches the bot: accounts authorised are consumed, withdrawn ones not.

Official page 97713: WeCom posts the event when KF accounts are authorised to the app
or withdrawn from it, one AuthAddOpenKfId / AuthDelOpenKfId element per account.
"""

from __future__ import annotations

import asyncio

from wecom_kf_async import KfBot, KfClient, Text, TextMessage
from wecom_kf_async.callback import CallbackCrypto, KfCallback
from wecom_kf_async.testing import WeComSimulator

from .conftest import until

TOKEN = "kfBotToken123"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
LIMIT = 20.0


def _bot(kf: KfClient, sim: WeComSimulator) -> tuple[KfBot, list[str], list[KfCallback]]:
    bot = KfBot(kf, CallbackCrypto(TOKEN, KEY, sim.corp_id))
    seen: list[str] = []
    changes: list[KfCallback] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        seen.append(f"{msg.open_kfid}:{msg.text.content}")

    @bot.on_account_auth_change
    async def changed(callback: KfCallback) -> None:
        changes.append(callback)

    sim.set_callback(bot.asgi_app(), token=TOKEN, encoding_aes_key=KEY)
    return bot, seen, changes


async def test_an_authorised_account_is_consumed_at_once(kf: KfClient, sim: WeComSimulator) -> None:
    """Two accounts authorised in one callback: each is pulled, and the handler sees both."""
    first, second = sim.add_account("Support"), sim.add_account("Sales")
    sim.customer_says(first, "wmA", Text("to support"))
    sim.customer_says(second, "wmB", Text("to sales"))
    bot, seen, changes = _bot(kf, sim)
    async with asyncio.timeout(LIMIT), bot:
        push = await sim.push_account_auth_change(added=[first, second])
        await until(lambda: len(seen) == 2 and len(changes) == 1, limit=1_000_000)
    assert push.status == 200
    assert sorted(seen) == [f"{first}:to support", f"{second}:to sales"]
    assert changes[0].auth_add_open_kfids == (first, second)
    assert set(bot.pulls) == {first, second}


async def test_a_withdrawn_account_takes_no_more_wake_ups(
    kf: KfClient, sim: WeComSimulator
) -> None:
    """Withdrawn, its callbacks and wake-ups pull nothing; authorised again, it is pulled."""
    kfid = sim.add_account("Support")
    bot, seen, changes = _bot(kf, sim)
    async with asyncio.timeout(LIMIT), bot:
        await sim.push_account_auth_change(removed=[kfid])
        await until(lambda: len(changes) == 1, limit=1_000_000)
        assert bot.withdrawn == {kfid}
        sim.customer_says(kfid, "wmA", Text("nobody reads this yet"))
        push = await sim.push_callback(kfid)
        assert push.status == 200
        assert not bot.wake(kfid)
        assert kfid not in bot.pulls
        await sim.push_account_auth_change(added=[kfid])
        await until(lambda: len(seen) == 1, limit=1_000_000)
    assert bot.withdrawn == frozenset()
    assert seen == [f"{kfid}:nobody reads this yet"]


async def test_poll_follows_the_accounts_authorised_and_withdrawn(
    kf: KfClient, sim: WeComSimulator
) -> None:
    """poll(open_kfids=[a]) also polls b once b is authorised, and no longer a once withdrawn."""
    a, b = sim.add_account("A"), sim.add_account("B")
    sim.customer_says(b, "wmB", Text("to b"))
    bot, seen, changes = _bot(kf, sim)
    async with asyncio.timeout(LIMIT), bot:
        await sim.push_account_auth_change(added=[b], removed=[a])
        await until(lambda: len(changes) == 1, limit=1_000_000)
        await until(lambda: b in bot.pulls, limit=1_000_000)
        pulls_of_b = bot.pulls[b]
        poller = asyncio.create_task(bot.poll(interval=30, open_kfids=[a]))
        await until(lambda: bot.pulls.get(b, 0) > pulls_of_b, limit=1_000_000)
    await asyncio.wait_for(poller, 5)
    assert a not in bot.pulls
    assert seen == [f"{b}:to b"]


async def test_an_auth_change_to_a_closing_bot_is_answered_503(
    kf: KfClient, sim: WeComSimulator
) -> None:
    """WeCom must repeat it: a bot that will not act on it answers 503."""
    kfid = sim.add_account("Support")
    bot, _, changes = _bot(kf, sim)
    async with bot:
        pass
    push = await sim.push_account_auth_change(added=[kfid])
    assert push.status == 503
    assert changes == []
