"""The callback app's refusals: a bot that will not pull (503), replays (timestamp window,
Tokens shared by a fleet), a Content-Length over the cap, an OpenKfId WeCom cannot mean."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import httpx
import pytest

from wecom_kf_async import KfBot, KfClient, Text, TextMessage
from wecom_kf_async.callback import CallbackCrypto
from wecom_kf_async.instrumentation.events import CallbackRejected
from wecom_kf_async.testing import WeComSimulator

from .conftest import Recorder, client_for, until

TOKEN = "kfBotToken123"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
SYNC = "kf/sync_msg"
INNER = (
    "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><CreateTime>{ts}</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{kfid}]]></OpenKfId></xml>"
)
#: 2001-01-01T00:00:00Z.
IN_2001 = 978_307_200


@pytest.fixture
def crypto(sim: WeComSimulator) -> CallbackCrypto:
    """The callback crypto WeCom and the app share."""
    return CallbackCrypto(TOKEN, KEY, sim.corp_id)


@pytest.fixture(name="kf")
def _kf(hooked_kf: KfClient) -> KfClient:
    """The client, reporting to ``hook``."""
    return hooked_kf


def signed(
    crypto: CallbackCrypto,
    sim: WeComSimulator,
    kfid: str,
    *,
    timestamp: str | None = None,
    token: str | None = None,
) -> tuple[dict[str, str], str]:
    """The query and body WeCom would POST for a kf_msg_or_event of *kfid*."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    inner = INNER.format(
        corp=sim.corp_id, ts=ts, token=token or sim.callback_token(kfid), kfid=kfid
    )
    encrypted = crypto.encrypt_payload(inner)
    body = (
        f"<xml><ToUserName><![CDATA[{sim.corp_id}]]></ToUserName>"
        f"<Encrypt><![CDATA[{encrypted}]]></Encrypt><AgentID>1</AgentID></xml>"
    )
    signature = crypto.signature(ts, "n0nce", encrypted)  # any timestamp, signed
    return {"msg_signature": signature, "timestamp": ts, "nonce": "n0nce"}, body


async def idle(bot: KfBot) -> None:
    """Wait (bounded, no wall clock) until no lane of *bot* runs."""
    await until(lambda: all(lane.task is None for lane in bot._lanes.values()))


def http_for(bot: KfBot) -> httpx.AsyncClient:
    """An HTTP client calling the bot's app in process."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=bot.asgi_app()), base_url="http://b")


async def test_a_callback_to_a_closing_or_closed_bot_is_answered_503(
    kf: KfClient, sim: WeComSimulator, kfid: str, crypto: CallbackCrypto, hook: Recorder
) -> None:
    """A bot that will not pull any more answers so that WeCom repeats the callback."""
    bot = KfBot(kf, crypto)
    inside, release = asyncio.Event(), asyncio.Event()

    @bot.on(TextMessage)
    async def slow(msg: TextMessage) -> None:
        inside.set()
        await release.wait()

    sim.customer_says(kfid, "wmA", Text("hi"))
    async with http_for(bot) as http:
        await bot.start()
        bot.wake(kfid)
        await inside.wait()
        closing = asyncio.create_task(bot.aclose())
        await until(lambda: not bot.running)
        query, body = signed(crypto, sim, kfid)
        while_closing = await http.post("/", params=query, content=body)
        release.set()
        await closing
        query, body = signed(crypto, sim, kfid)
        after = await http.post("/", params=query, content=body)
    assert (while_closing.status_code, after.status_code) == (503, 503)
    assert [e.status for e in hook.of(CallbackRejected)] == [503, 503]


async def test_a_timestamp_outside_the_window_is_refused_with_its_own_code(
    kf: KfClient, sim: WeComSimulator, kfid: str, crypto: CallbackCrypto, hook: Recorder
) -> None:
    """Validly signed, but from 2001, from the future or not a number: 403, no pull."""
    from wecom_kf_async.callback import TimestampError

    bot = KfBot(kf, crypto)
    assert bot.replay_window == 300.0
    async with http_for(bot) as http, bot:
        answers = []
        for ts in (str(IN_2001), str(int(time.time()) + 3600), "soon"):
            query, body = signed(crypto, sim, kfid, timestamp=ts)
            answers.append((await http.post("/", params=query, content=body)).status_code)
        query, body = signed(crypto, sim, kfid, timestamp=str(int(time.time()) - 290))
        fresh = await http.post("/", params=query, content=body)
        await idle(bot)
    assert answers == [403, 403, 403]
    assert (fresh.status_code, fresh.text) == (200, "success")
    assert [(e.status, e.reason, e.code) for e in hook.of(CallbackRejected)] == [
        (403, "TimestampError", TimestampError.code)
    ] * 3
    assert TimestampError.code not in range(-40011, -40000)  # ours, not one of WeCom's
    assert bot.pulls == {kfid: 1}


async def test_the_window_is_configurable_and_read_on_the_bots_clock(
    kf: KfClient, sim: WeComSimulator, kfid: str, crypto: CallbackCrypto
) -> None:
    """replay_window=None turns the check off; the wall clock is the bot's ``clock``."""
    query, body = signed(crypto, sim, kfid, timestamp=str(IN_2001))
    off = KfBot(kf, crypto, replay_window=None)
    then = KfBot(kf, crypto, clock=lambda: IN_2001 + 60.0)
    tight = KfBot(kf, crypto, replay_window=30.0, clock=lambda: IN_2001 + 60.0)
    statuses = []
    for bot in (off, then, tight):
        async with http_for(bot) as http:
            statuses.append((await http.post("/", params=query, content=body)).status_code)
    assert statuses == [200, 200, 403]
    with pytest.raises(ValueError, match="replay_window"):
        KfBot(kf, crypto, replay_window=0)


async def test_a_content_length_over_the_cap_is_refused_from_the_header_alone(
    kf: KfClient, crypto: CallbackCrypto, hook: Recorder
) -> None:
    """Content-Length: 200000 with the body never sent: 413 at once, nothing received."""
    app = KfBot(kf, crypto).asgi_app()
    sent: list[MutableMapping[str, Any]] = []
    received = 0
    never = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal received
        received += 1
        await never.wait()  # the body never comes
        return {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": b"msg_signature=a&timestamp=1&nonce=2",
        "headers": [(b"content-type", b"text/xml"), (b"content-length", b"200000")],
    }
    async with asyncio.timeout(5.0):
        await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert received == 0
    assert [(e.status, e.reason) for e in hook.of(CallbackRejected)] == [(413, "too large")]


async def test_an_over_long_open_kfid_in_a_signed_callback_is_refused_not_pulled(
    kf: KfClient,
    sim: WeComSimulator,
    crypto: CallbackCrypto,
    hook: Recorder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An OpenKfId our checks refuse (65 bytes) is answered 400 with the reason; no lane."""
    bot = KfBot(kf, crypto)
    long_kfid = "w" * 65
    query, body = signed(crypto, sim, long_kfid, token="t0ken")
    async with http_for(bot) as http, bot:
        answer = await http.post("/", params=query, content=body)
    assert answer.status_code == 400
    assert bot.pulls == {}
    assert not bot._lanes
    ((rejected),) = hook.of(CallbackRejected)
    assert (rejected.status, rejected.reason) == (400, "bad OpenKfId or Token")
    assert "OpenKfId" in caplog.text


async def test_a_token_seen_by_one_bot_is_dropped_by_its_successor_sharing_redis(
    kf: KfClient, sim: WeComSimulator, kfid: str, crypto: CallbackCrypto, redis_url: str
) -> None:
    """A bot restarted (or another worker of the fleet) on the same Redis drops a
    repeated callback whose Token was already pulled with: no second sync_msg."""
    from wecom_kf_async.fleet import RedisCursorStore

    namespace = f"t-{uuid.uuid4().hex[:8]}"
    sim.customer_says(kfid, "wmA", Text("hello"))
    query, body = signed(crypto, sim, kfid)
    handled: list[str] = []
    for _ in range(2):  # the first bot, then its successor after a restart
        store = RedisCursorStore(redis_url, namespace=namespace)
        bot = KfBot(kf, crypto, cursors=store)

        @bot.on(TextMessage)
        async def text(msg: TextMessage) -> None:
            handled.append(msg.text.content)

        async with http_for(bot) as http, bot:
            answer = await http.post("/", params=query, content=body)
            assert (answer.status_code, answer.text) == (200, "success")
            await idle(bot)
        await store.aclose()
    assert handled == ["hello"]
    assert sim.stats.calls[SYNC] == 1
    assert bot.pulls == {}


async def test_a_lifespan_that_cannot_start_the_bot_says_why(
    sim: WeComSimulator, crypto: CallbackCrypto
) -> None:
    """The ASGI lifespan reports a bot that cannot start (its client is closed) as failed."""
    async with client_for(sim) as kf:
        pass
    app = KfBot(kf, crypto).asgi_app()
    inbox = [{"type": "lifespan.startup"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return inbox.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    async with asyncio.timeout(5.0):
        await app({"type": "lifespan"}, receive, send)
    assert sent[0]["type"] == "lifespan.startup.failed"
    assert "KfClient is closed" in sent[0]["message"]
