"""Type-checked (never run) examples of the simulator's callback pushes to a URL or an ASGI app."""

from __future__ import annotations

from collections.abc import Mapping

from wecom_kf_async.callback import CallbackCrypto
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator import CALLBACK_TIMEOUT, ASGIApp, CallbackPush, UrlCheck

KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


def configuring(sim: WeComSimulator, app: ASGIApp) -> CallbackCrypto | None:
    sim.set_callback("http://127.0.0.1:8000/callback/", token="tok", encoding_aes_key=KEY)
    sim.set_callback(app, token="tok", encoding_aes_key=KEY, receive_id="wwsuite", path="/cb")
    sim.set_callback(app, token="tok", encoding_aes_key=KEY, agent_id="1000002")
    sim.auto_callback = True
    sim.callback_timeout = CALLBACK_TIMEOUT / 2
    return sim.callback_crypto


async def pushing(sim: WeComSimulator, open_kfid: str) -> list[CallbackPush]:
    push: CallbackPush = await sim.push_callback(open_kfid)
    status: int | None = push.status
    answer: str = push.answer
    error: str | None = push.error
    query: Mapping[str, str] = push.query
    xml: str = push.xml
    token: str = push.token
    attempt: int = push.attempt
    ok: bool = push.ok
    repeats: list[CallbackPush] = await sim.repeat_callback(push, times=3)
    repeats += await sim.repeat_callback(push)
    sim.customer_says(open_kfid, "wmcustomer", {"msgtype": "text", "text": {"content": "hi"}})
    code: str | None = sim.customer_enters(open_kfid, "wmcustomer", scene="ad")
    drained: list[CallbackPush] = await sim.drain_callbacks()
    recorded: list[CallbackPush] = sim.callbacks
    print(status, answer, error, query, xml, token, attempt, ok, code)
    return [*repeats, *drained, *recorded]


async def verifying(sim: WeComSimulator) -> bool:
    echo: str = await sim.verify_callback_url()
    checks: list[UrlCheck] = sim.url_checks
    last = checks[-1]
    return echo == last.echo and last.ok and last.status == 200 and last.error is None
