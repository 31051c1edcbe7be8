"""The callback ASGI app: verify, decrypt, answer 'success' at once, wake the bot."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from wecom_kf_async import KfBot, KfClient, Text, TextMessage
from wecom_kf_async.callback import CallbackCrypto, read_envelope
from wecom_kf_async.testing import WeComSimulator

from .conftest import until

TOKEN = "kfBotToken123"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
INNER = (
    "<xml><ToUserName><![CDATA[{corp}]]></ToUserName><CreateTime>1700000000</CreateTime>"
    "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
    "<Token><![CDATA[{token}]]></Token><OpenKfId><![CDATA[{kfid}]]></OpenKfId></xml>"
)


@pytest.fixture
def crypto(sim: WeComSimulator) -> CallbackCrypto:
    """The callback crypto WeCom and the app share."""
    return CallbackCrypto(TOKEN, KEY, sim.corp_id)


def signed_post(crypto: CallbackCrypto, plaintext: str, corp: str) -> tuple[dict[str, str], str]:
    """The query and body WeCom would POST for *plaintext*, signed now (within the window)."""
    now = str(int(time.time()))
    envelope = read_envelope(crypto.encrypt(plaintext, timestamp=now, nonce="n0nce"))
    body = (
        f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName>"
        f"<Encrypt><![CDATA[{envelope.encrypt}]]></Encrypt><AgentID>1</AgentID></xml>"
    )
    query = {
        "msg_signature": envelope.msg_signature or "",
        "timestamp": now,
        "nonce": "n0nce",
    }
    return query, body


@pytest.fixture
async def setup(
    kf: KfClient, sim: WeComSimulator, crypto: CallbackCrypto
) -> tuple[KfBot, httpx.AsyncClient, str, list[str]]:
    """A running bot that records texts, its app behind an httpx client, and an account."""
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    bot = KfBot(kf, crypto)
    seen: list[str] = []

    @bot.on(TextMessage)
    async def text(msg: TextMessage) -> None:
        seen.append(msg.text.content)

    await bot.start()
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=bot.asgi_app()), base_url="http://bot"
    )
    yield bot, client, kfid, seen
    await client.aclose()
    await bot.aclose()


async def test_url_verification_answers_the_bare_plaintext(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]], crypto: CallbackCrypto
) -> None:
    """GET with a signed echostr: 200 and exactly the decrypted text, nothing around it."""
    _, client, _, _ = setup
    envelope = read_envelope(crypto.encrypt("5927782489442352469", timestamp="1", nonce="2"))
    answer = await client.get(
        "/",
        params={
            "msg_signature": envelope.msg_signature,
            "timestamp": "1",
            "nonce": "2",
            "echostr": envelope.encrypt,
        },
    )
    assert answer.status_code == 200
    assert answer.content == b"5927782489442352469"


async def test_a_callback_is_answered_success_and_wakes_the_account(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]],
    sim: WeComSimulator,
    crypto: CallbackCrypto,
) -> None:
    """POST: 'success' at once; the bot pulls with the callback's Token and handles the text."""
    bot, client, kfid, seen = setup
    sim.customer_says(kfid, "wmA", Text("hello bot"))
    token = sim.callback_token(kfid)
    query, body = signed_post(
        crypto, INNER.format(corp=sim.corp_id, token=token, kfid=kfid), sim.corp_id
    )
    answer = await client.post("/", params=query, content=body)
    assert (answer.status_code, answer.content) == (200, b"success")
    await until(lambda: seen == ["hello bot"], limit=100_000)
    assert bot.pulls == {kfid: 1}


async def test_the_answer_does_not_wait_for_slow_handlers(
    kf: KfClient, sim: WeComSimulator, crypto: CallbackCrypto
) -> None:
    """A handler that blocks does not hold the HTTP answer back."""
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    bot = KfBot(kf, crypto)
    release = asyncio.Event()

    @bot.on(TextMessage)
    async def slow(msg: TextMessage) -> None:
        await release.wait()

    sim.customer_says(kfid, "wmA", Text("hi"))
    query, body = signed_post(
        crypto,
        INNER.format(corp=sim.corp_id, token=sim.callback_token(kfid), kfid=kfid),
        sim.corp_id,
    )
    async with bot:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bot.asgi_app()), base_url="http://bot"
        ) as client:
            answer = await client.post("/", params=query, content=body)
            assert answer.content == b"success"
            await until(lambda: bot.handled == 1, limit=100_000)
        release.set()


@pytest.mark.parametrize("tamper", ["signature", "timestamp", "nonce"])
async def test_a_bad_signature_gets_403_and_wakes_nothing(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]],
    sim: WeComSimulator,
    crypto: CallbackCrypto,
    tamper: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Any signed value changed: 403, no pull, and the log names the reason but not the body."""
    bot, client, kfid, _ = setup
    token = sim.callback_token(kfid)
    query, body = signed_post(
        crypto, INNER.format(corp=sim.corp_id, token=token, kfid=kfid), sim.corp_id
    )
    key = {"signature": "msg_signature"}.get(tamper, tamper)
    query[key] = query[key][:-1] + ("0" if query[key][-1] != "0" else "1")
    with caplog.at_level(logging.WARNING):
        answer = await client.post("/", params=query, content=body)
    assert answer.status_code == 403
    assert bot.pulls == {}
    assert "SignatureError" in caplog.text
    assert token not in caplog.text
    assert body not in caplog.text


@pytest.mark.parametrize(
    ("body", "params"),
    [
        ("not xml at all", True),
        ("<xml><Encrypt>", True),
        ("<xml><ToUserName>x</ToUserName></xml>", True),
        ("<xml/>", False),
    ],
)
async def test_a_malformed_request_gets_400(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]], body: str, params: bool
) -> None:
    """A body that is no envelope, or a request without its signature, is a 400."""
    bot, client, _, _ = setup
    query = {"msg_signature": "a" * 40, "timestamp": "1", "nonce": "2"} if params else {}
    answer = await client.post("/", params=query, content=body)
    assert answer.status_code == 400
    assert bot.pulls == {}


async def test_a_body_over_the_cap_is_refused_without_reading_it_all(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]],
) -> None:
    """A 10 MB POST gets 413 at once."""
    _, client, _, _ = setup
    answer = await client.post(
        "/",
        params={"msg_signature": "a", "timestamp": "1", "nonce": "2"},
        content=b"<" * 10_000_000,
    )
    assert answer.status_code == 413


async def test_other_methods_and_other_events(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]],
    sim: WeComSimulator,
    crypto: CallbackCrypto,
) -> None:
    """PUT is 405; a correctly signed callback of another event is answered 'success', no pull."""
    bot, client, _, _ = setup
    assert (await client.put("/")).status_code == 405
    other = (
        "<xml><ToUserName>x</ToUserName><MsgType>event</MsgType><Event>change_contact</Event></xml>"
    )
    query, body = signed_post(crypto, other, sim.corp_id)
    answer = await client.post("/", params=query, content=body)
    assert (answer.status_code, answer.content) == (200, b"success")
    assert bot.pulls == {}


async def test_the_asgi_lifespan_starts_and_stops_the_bot(
    kf: KfClient, crypto: CallbackCrypto
) -> None:
    """lifespan.startup starts the bot; lifespan.shutdown closes it."""
    bot = KfBot(kf, crypto)
    app = bot.asgi_app()
    inbox: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    sent: list[str] = []
    for kind in ("lifespan.startup", "lifespan.shutdown"):
        inbox.put_nowait({"type": kind})

    async def send(message: dict[str, str]) -> None:
        sent.append(message["type"])
        if message["type"] == "lifespan.startup.complete":
            assert bot.running

    await app({"type": "lifespan"}, inbox.get, send)  # type: ignore[arg-type]
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert not bot.running


async def test_the_simulators_callback_repeated_three_times_causes_one_pull(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]],
    sim: WeComSimulator,
) -> None:
    """WeCom's repeats of one callback (same Token) are answered, and pulled once."""
    bot, _, kfid, seen = setup
    sim.set_callback(bot.asgi_app(), token=TOKEN, encoding_aes_key=KEY)
    sim.customer_says(kfid, "wmA", Text("once"))
    push = await sim.push_callback(kfid)
    repeats = await sim.repeat_callback(push, times=3)
    assert [r.status for r in (push, *repeats)] == [200] * 4
    await until(lambda: seen == ["once"], limit=100_000)
    assert bot.pulls == {kfid: 1}


async def test_200_callbacks_in_a_burst_cause_at_most_two_pulls(
    setup: tuple[KfBot, httpx.AsyncClient, str, list[str]],
    sim: WeComSimulator,
) -> None:
    """200 signed callbacks for one account at once: all answered, two pulls, each text once."""
    bot, _, kfid, seen = setup
    sim.set_callback(bot.asgi_app(), token=TOKEN, encoding_aes_key=KEY)
    for n in range(30):
        sim.customer_says(kfid, "wmA", Text(f"m{n}"))
    gate = asyncio.Event()
    sim.hold = gate  # the first pull waits while the burst arrives
    first = await sim.push_callback(kfid)
    await until(lambda: sim.stats.in_flight >= 1, limit=100_000)
    rest = await asyncio.gather(*(sim.push_callback(kfid) for _ in range(199)))
    assert all(push.status == 200 for push in (first, *rest))
    gate.set()
    await until(
        lambda: len(seen) == 30 and not any(lane.task for lane in bot._lanes.values()),
        limit=100_000,
    )
    assert bot.pulls[kfid] <= 2
    assert sorted(seen) == sorted(f"m{n}" for n in range(30))
