"""The FastAPI example end to end: real uvicorn, real HTTP callbacks, the simulator as WeCom."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from examples import fastapi_bot
from wecom_kf_async import InMemoryCursorStore, Text
from wecom_kf_async.callback.bot import KfBot
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator

from .conftest import client_for, run_example, until

#: Seconds the demo process may take before the test gives up (never slept through).
PATIENCE = 60.0


async def test_simulate_runs_the_whole_demo_over_real_http() -> None:
    """``python -m examples.fastapi_bot --simulate``: URL check, welcome, echo, lookup, exit 0."""
    status, output, err = await run_example("examples.fastapi_bot", "--simulate", patience=PATIENCE)
    assert status == 0, f"{output}\n{err}"
    lines = output.splitlines()

    assert any(line.startswith("URL verification of http://127.0.0.1:") for line in lines)
    assert next(line for line in lines if line.startswith("URL verification")).endswith(": ok")
    callbacks = [line for line in lines if line.startswith("callback (Token ")]
    assert len(callbacks) == 2, output
    assert all(line.endswith("answered: 200 success") for line in callbacks), output
    customer = fastapi_bot.DEMO_CUSTOMER
    sent = [line for line in lines if line.startswith("bot sent")]
    assert sent == [
        f"bot sent (send_msg_on_event) to {customer}: {fastapi_bot.WELCOME}",
        f"bot sent (send_msg) to {customer}: You said: {fastapi_bot.DEMO_TEXT}",
    ], output
    nickname = WeComSimulator().profile(customer)["nickname"]  # derived from the id alone
    lookup = next(line for line in lines if line.startswith(f"GET /customers/{customer}: "))
    assert lookup.startswith(f"GET /customers/{customer}: 200 "), output
    assert nickname in lookup
    assert "Traceback" not in err


@pytest.fixture
def settings(sim: WeComSimulator) -> fastapi_bot.BotSettings:
    """The example's settings for the simulator (the demo's callback token and key)."""
    return fastapi_bot.BotSettings(
        corp_id=sim.corp_id,
        secret=SIM_SECRET,
        callback_token=fastapi_bot.DEMO_CALLBACK_TOKEN,
        encoding_aes_key=fastapi_bot.DEMO_AES_KEY,
    )


@pytest.fixture
async def app(sim: WeComSimulator, settings: fastapi_bot.BotSettings) -> AsyncIterator[FastAPI]:
    """The example app in process, its client on the simulator, its lifespan running."""
    application = fastapi_bot.create_app(
        settings, kf=client_for(sim), cursors=InMemoryCursorStore()
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client calling the app in process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot.test") as client:
        yield client


async def test_customer_route_looks_customers_up(
    sim: WeComSimulator, http: httpx.AsyncClient
) -> None:
    """GET /customers/{id}: the profile, 404 for a stranger, 422 (nothing sent) for a bad id."""
    found = await http.get("/customers/wmAlice")
    assert found.status_code == 200
    assert found.json() == {
        "external_userid": "wmAlice",
        "nickname": sim.profile("wmAlice")["nickname"],
        "gender": sim.profile("wmAlice")["gender"],
        "avatar": sim.profile("wmAlice").get("avatar"),
        "unionid": sim.profile("wmAlice").get("unionid"),
    }
    assert (await http.get("/customers/stranger")).status_code == 404
    calls = sim.stats.calls["kf/customer/batchget"]
    bad = await http.get("/customers/wm%20Alice")
    assert bad.status_code == 422
    assert "whitespace" in bad.text
    assert sim.stats.calls["kf/customer/batchget"] == calls


async def test_mounted_bot_welcomes_and_echoes_in_process(
    sim: WeComSimulator, app: FastAPI
) -> None:
    """Callbacks pushed to the app's /callback/ mount wake the bot, which welcomes and echoes."""
    kfid = sim.add_account("Support")
    sim.set_callback(
        app,
        token=fastapi_bot.DEMO_CALLBACK_TOKEN,
        encoding_aes_key=fastapi_bot.DEMO_AES_KEY,
        path=f"{fastapi_bot.CALLBACK_PATH}/",
    )
    assert await sim.verify_callback_url() == sim.url_checks[-1].echo

    sim.auto_callback = True
    sim.customer_enters(kfid, "wmBob")
    sim.customer_says(kfid, "wmBob", Text("ping"))
    pushes = await sim.drain_callbacks()
    push = pushes[0]
    await sim.repeat_callback(push, times=3)  # WeCom's retries: dropped, no extra pull
    await until(lambda: len(sim.sent) >= 2)

    assert [(p.status, p.answer) for p in sim.callbacks] == [(200, "success")] * 5
    assert [(s.endpoint, s.touser, s.body) for s in sim.sent] == [
        ("kf/send_msg_on_event", "wmBob", {"content": fastapi_bot.WELCOME}),
        ("kf/send_msg", "wmBob", {"content": "You said: ping"}),
    ]
    bot: KfBot = app.state.bot
    assert bot.running
    assert bot.pulls[kfid] <= 2


async def test_lifespan_stops_the_bot_and_closes_the_client(
    sim: WeComSimulator, settings: fastapi_bot.BotSettings
) -> None:
    """Leaving the lifespan stops the bot, then closes the client."""
    application = fastapi_bot.create_app(settings, kf=client_for(sim))
    async with application.router.lifespan_context(application):
        assert application.state.bot.running
    assert not application.state.bot.running
    with pytest.raises(RuntimeError):
        await application.state.kf.customers.batch_get(["wmAlice"])


def test_settings_come_from_the_environment_and_hide_secrets() -> None:
    """Missing variables are named; the repr shows neither secret, token nor key."""
    with pytest.raises(fastapi_bot.SettingsError, match="WECOM_CORP_ID, WECOM_KF_SECRET"):
        fastapi_bot.BotSettings.from_env({})
    env = {
        "WECOM_CORP_ID": "ww1",
        "WECOM_KF_SECRET": "topsecret",
        "WECOM_CALLBACK_TOKEN": "cbtoken",
        "WECOM_CALLBACK_AES_KEY": fastapi_bot.DEMO_AES_KEY,
    }
    with pytest.raises(fastapi_bot.SettingsError, match="WECOM_BASE_URL"):
        fastapi_bot.BotSettings.from_env({**env, "WECOM_BASE_URL": "wecom.local"})
    settings = fastapi_bot.BotSettings.from_env(env)
    assert (settings.base_url, settings.cursor_file) == (None, "kf_cursors.json")
    shown = repr(settings)
    assert not any(s in shown for s in ("topsecret", "cbtoken", fastapi_bot.DEMO_AES_KEY))
    with pytest.raises(ValueError, match="43"):
        fastapi_bot.create_app(
            fastapi_bot.BotSettings.from_env({**env, "WECOM_CALLBACK_AES_KEY": "x"})
        )


async def test_customer_route_answers_502_when_wecom_fails(
    sim: WeComSimulator, settings: fastapi_bot.BotSettings, http: httpx.AsyncClient
) -> None:
    """An id still failing after the retries, or credentials WeCom refuses: 502, named."""
    sim.script("kf/customer/batchget", [-1] * 5)  # system busy on every try
    failed = await http.get("/customers/wmAlice")
    assert (failed.status_code, failed.json()) == (502, {"detail": "WeCom failed: ServerBusyError"})

    refused_app = fastapi_bot.create_app(
        settings, kf=client_for(sim, secret="not-the-secret"), cursors=InMemoryCursorStore()
    )
    async with (
        refused_app.router.lifespan_context(refused_app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=refused_app), base_url="http://bot.test"
        ) as refused,
    ):
        answer = await refused.get("/customers/wmAlice")
    assert (answer.status_code, answer.json()) == (
        502,
        {"detail": "WeCom refused: ConfigurationError"},
    )
    assert "not-the-secret" not in answer.text


async def test_callback_route_checks_every_request(
    sim: WeComSimulator, app: FastAPI, http: httpx.AsyncClient
) -> None:
    """/callback/ answers WeCom's GET check, refuses forgeries, redirects the slashless path.

    A servicer's own message (sent from the WeCom app) is read but not echoed.
    """
    kfid = sim.add_account("Support")
    sim.set_callback(
        app,
        token=fastapi_bot.DEMO_CALLBACK_TOKEN,
        encoding_aes_key=fastapi_bot.DEMO_AES_KEY,
        path=f"{fastapi_bot.CALLBACK_PATH}/",
    )
    echo = await sim.verify_callback_url()
    assert sim.url_checks[-1].ok
    assert sim.url_checks[-1].echo == echo

    forged = await http.post(
        "/callback/?msg_signature=0000&timestamp=1&nonce=2",
        content=b"<xml><Encrypt><![CDATA[AAAA]]></Encrypt></xml>",
    )
    assert forged.status_code == 403
    unsigned = await http.post("/callback/", content=b"<xml/>")
    assert unsigned.status_code == 400
    slashless = await http.get("/callback?msg_signature=1&timestamp=2&nonce=3&echostr=x")
    assert slashless.status_code == 307
    assert slashless.headers["location"].endswith(
        "/callback/?msg_signature=1&timestamp=2&nonce=3&echostr=x"
    )

    sim.servicer_says(kfid, "wmCarol", "zhangsan", Text("I am a person, not the bot"))
    sim.customer_says(kfid, "wmCarol", Text("ping"))
    push = await sim.push_callback(kfid)
    assert (push.status, push.answer) == (200, "success")
    await until(lambda: len(sim.sent) >= 1)
    bot: KfBot = app.state.bot
    await until(lambda: bot.handled >= 2)
    assert [(s.touser, s.body) for s in sim.sent] == [("wmCarol", {"content": "You said: ping"})]
