"""Tests of the WeCom KF API simulator itself (wecom_kf_async.testing)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wecom_kf_async.testing import (
    CUSTOMER_BATCHGET,
    GETTOKEN,
    SIM_CORP_ID,
    SIM_SECRET,
    SimulatorStats,
    WeComSimulator,
    serve,
    serve_in_subprocess,
)

BATCHGET = "/cgi-bin/kf/customer/batchget"
HINT = re.compile(r"hint: \[(\d+_\d+_[0-9a-f]+)\], from ip: [0-9.]+, more info at https://")


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: float = 1_732_400_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """Records requested sleeps and returns at once."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep() -> FakeSleep:
    return FakeSleep()


@pytest.fixture
def sim(clock: FakeClock, sleep: FakeSleep) -> WeComSimulator:
    return WeComSimulator(clock=clock, sleep=sleep, seed=7)


@pytest.fixture
async def client(sim: WeComSimulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        yield http


async def get_token(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get(
        "/cgi-bin/gettoken", params={"corpid": SIM_CORP_ID, "corpsecret": SIM_SECRET}
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def batchget(
    client: httpx.AsyncClient, token: str | None, ids: list[str], context: int = 0
) -> dict[str, Any]:
    params = {} if token is None else {"access_token": token}
    response = await client.post(
        BATCHGET,
        params=params,
        json={"external_userid_list": ids, "need_enter_session_context": context},
    )
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


# ----------------------------------------------------------------------- gettoken


async def test_same_token_while_valid_and_new_one_after_expiry(
    client: httpx.AsyncClient, clock: FakeClock
) -> None:
    first = await get_token(client)
    assert first["errcode"] == 0
    assert first["errmsg"] == "ok"
    assert first["expires_in"] == 7200
    clock.advance(1000.5)
    again = await get_token(client)
    assert again["access_token"] == first["access_token"]
    assert again["expires_in"] == 6200
    clock.advance(6199.5)  # exactly at expiry
    expired = await batchget(client, first["access_token"], ["wm1"])
    assert expired["errcode"] == 42001
    fresh = await get_token(client)
    assert fresh["access_token"] != first["access_token"]
    assert fresh["expires_in"] == 7200
    assert (await batchget(client, fresh["access_token"], ["wm1"]))["errcode"] == 0


@pytest.mark.parametrize(
    ("params", "errcode"),
    [
        ({"corpsecret": SIM_SECRET}, 41002),
        ({"corpid": SIM_CORP_ID}, 41004),
        ({"corpid": "wwother", "corpsecret": SIM_SECRET}, 40013),
        ({"corpid": SIM_CORP_ID, "corpsecret": "wrong"}, 40001),
    ],
)
async def test_gettoken_errors(
    client: httpx.AsyncClient, sim: WeComSimulator, params: dict[str, str], errcode: int
) -> None:
    response = await client.get("/cgi-bin/gettoken", params=params)
    assert response.status_code == 200
    body = response.json()
    assert body["errcode"] == errcode
    assert "access_token" not in body
    assert HINT.search(body["errmsg"])
    assert body["errmsg"].endswith(f"?e={errcode}")
    assert SIM_SECRET not in body["errmsg"]
    assert sim.stats.errors == {errcode: 1}


async def test_token_errors_on_batchget(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    assert (await batchget(client, None, ["wm1"]))["errcode"] == 41001
    assert (await batchget(client, "never-issued", ["wm1"]))["errcode"] == 40014
    token = (await get_token(client))["access_token"]
    sim.rotate_token()
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 40014
    rotated = (await get_token(client))["access_token"]
    assert rotated != token
    sim.expire_tokens()
    assert (await batchget(client, rotated, ["wm1"]))["errcode"] == 42001
    assert sim.current_token is None
    assert sim.stats.errors == {41001: 1, 40014: 2, 42001: 1}


async def test_error_hints_are_unique(client: httpx.AsyncClient) -> None:
    hints = set()
    for _ in range(5):
        body = await batchget(client, "bogus", ["wm1"])
        match = HINT.search(body["errmsg"])
        assert match is not None
        hints.add(match.group(1))
    assert len(hints) == 5


def test_repr_hides_secret() -> None:
    sim = WeComSimulator("wwx", "top-secret-value")
    assert "top-secret-value" not in repr(sim)


# ---------------------------------------------------------------------- batchget


async def test_known_and_invalid_ids(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    token = sim.issue_token()
    sim.add_customer("zhangsan", nickname="张三")
    sim.forget("wm_gone")
    body = await batchget(client, token, ["wm_a", "zhangsan", "nobody", "wm_gone", "wm_a"])
    assert body["errcode"] == 0
    assert [c["external_userid"] for c in body["customer_list"]] == ["wm_a", "zhangsan"]
    assert body["invalid_external_userid"] == ["nobody", "wm_gone"]
    zhangsan = body["customer_list"][1]
    assert zhangsan["nickname"] == "张三"
    wm_a = body["customer_list"][0]
    assert set(wm_a) == {"external_userid", "nickname", "avatar", "gender", "unionid"}
    assert wm_a["gender"] in (0, 1, 2)
    assert wm_a["avatar"].startswith("https://")
    assert wm_a["unionid"]
    assert sim.stats.ids_requested == 5

    # Profiles are deterministic and forgetting then re-adding works.
    again = await batchget(client, token, ["wm_a"])
    assert again["customer_list"] == [wm_a]
    sim.add_customer("wm_gone")
    assert (await batchget(client, token, ["wm_gone"]))["invalid_external_userid"] == []


async def test_no_prefix_means_only_added_customers(client: httpx.AsyncClient) -> None:
    sim = WeComSimulator(known_prefix=None)
    sim.add_customer("wm_x")
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as other:
        body = await batchget(other, sim.issue_token(), ["wm_x", "wm_y"])
    assert body["invalid_external_userid"] == ["wm_y"]


async def test_hundred_id_limit(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    token = sim.issue_token()
    ok = await batchget(client, token, [f"wm{i}" for i in range(100)])
    assert ok["errcode"] == 0
    assert len(ok["customer_list"]) == 100
    too_many = await batchget(client, token, [f"wm{i}" for i in range(101)])
    assert too_many["errcode"] == 40058
    assert "100" in too_many["errmsg"]
    assert "customer_list" not in too_many


@pytest.mark.parametrize(
    ("content", "errcode"),
    [
        (b"{not json", 47001),
        (b"[1, 2]", 47001),
        (b"{}", 40058),
        (b'{"external_userid_list": []}', 40058),
        (b'{"external_userid_list": "wm1"}', 40058),
        (b'{"external_userid_list": [1, 2]}', 40058),
    ],
)
async def test_bad_bodies(
    client: httpx.AsyncClient, sim: WeComSimulator, content: bytes, errcode: int
) -> None:
    response = await client.post(
        BATCHGET, params={"access_token": sim.issue_token()}, content=content
    )
    assert response.json()["errcode"] == errcode


async def test_enter_session_context_only_when_asked(
    client: httpx.AsyncClient, sim: WeComSimulator
) -> None:
    token = sim.issue_token()
    ids = [f"wm{i:04d}" for i in range(100)]
    without = await batchget(client, token, ids, context=0)
    assert all("enter_session_context" not in c for c in without["customer_list"])
    with_context = await batchget(client, token, ids, context=1)
    contexts = [c["enter_session_context"] for c in with_context["customer_list"]]
    assert all({"scene", "scene_param"} <= set(ctx) for ctx in contexts)
    channels = [ctx["wechat_channels"] for ctx in contexts if "wechat_channels" in ctx]
    assert 0 < len(channels) < len(contexts)
    for channel in channels:
        assert channel["scene"] in (1, 2, 3, 4, 5)
        key = "nickname" if channel["scene"] <= 3 else "shop_nickname"
        assert set(channel) == {key, "scene"}
    assert {ch["scene"] <= 3 for ch in channels} == {True, False}


async def test_third_party_mode() -> None:
    sim = WeComSimulator(third_party=True)
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        body = await batchget(http, sim.issue_token(), [f"wm{i}" for i in range(20)])
    for customer in body["customer_list"]:
        assert "avatar" not in customer
        assert "unionid" not in customer
        assert customer["gender"] == 0
        assert customer["nickname"]


async def test_extra_fields_are_added(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    sim.extra_fields = {"future_field": 1}
    body = await batchget(client, sim.issue_token(), ["wm1", "wm2"])
    assert all(c["future_field"] == 1 for c in body["customer_list"])


async def test_shuffle_is_a_seeded_permutation(
    client: httpx.AsyncClient, sim: WeComSimulator
) -> None:
    token = sim.issue_token()
    ids = [f"wm{i}" for i in range(100)]
    sim.shuffle = True
    order = [c["external_userid"] for c in (await batchget(client, token, ids))["customer_list"]]
    assert sorted(order) == sorted(ids)
    assert order != ids

    replay = WeComSimulator(seed=7)
    replay.shuffle = True
    transport = httpx.ASGITransport(app=replay)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        body = await batchget(http, replay.issue_token(), ids)
    assert [c["external_userid"] for c in body["customer_list"]] == order


# ---------------------------------------------------------------- faults, limits


async def test_script_is_consumed_in_order(
    client: httpx.AsyncClient, sim: WeComSimulator, sleep: FakeSleep
) -> None:
    token = sim.issue_token()
    sim.script(CUSTOMER_BATCHGET, [45009, -1, "http502", "truncated", 0, "timeout"])
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 45009
    assert (await batchget(client, token, ["wm1"]))["errcode"] == -1

    page = await client.post(BATCHGET, params={"access_token": token}, json={})
    assert page.status_code == 502
    assert page.headers["content-type"].startswith("text/html")
    assert "<html>" in page.text
    assert "502 Bad Gateway" in page.text

    cut = await client.post(
        BATCHGET, params={"access_token": token}, json={"external_userid_list": ["wm1"]}
    )
    assert cut.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.content)

    assert (await batchget(client, token, ["wm1"]))["errcode"] == 0
    assert sleep.calls == []
    hung = await batchget(client, token, ["wm1"])
    assert hung["errcode"] == 0
    assert sleep.calls == [3600.0]
    assert sim.pending_script(CUSTOMER_BATCHGET) == []
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 0

    assert sim.stats.calls[CUSTOMER_BATCHGET] == 7
    assert sim.stats.errors == {45009: 1, -1: 1}
    assert sim.stats.faults == {"http502": 1, "truncated": 1, "timeout": 1}


async def test_script_on_gettoken_and_validation(
    client: httpx.AsyncClient, sim: WeComSimulator
) -> None:
    sim.script(GETTOKEN, [-1])
    assert (await get_token(client))["errcode"] == -1
    assert (await get_token(client))["errcode"] == 0
    with pytest.raises(ValueError, match="unknown endpoint"):
        sim.script("kf/nope", [0])
    with pytest.raises(ValueError, match="unknown fault"):
        sim.script(GETTOKEN, ["http999"])


async def test_fault_rate(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    token = sim.issue_token()
    sim.set_fault_rate(CUSTOMER_BATCHGET, 0.5, faults=(-1, "http502"))
    outcomes: list[object] = []
    for _ in range(200):
        response = await client.post(
            BATCHGET, params={"access_token": token}, json={"external_userid_list": ["wm1"]}
        )
        outcomes.append(
            response.json()["errcode"] if response.status_code == 200 else response.status_code
        )
    failures = [o for o in outcomes if o != 0]
    assert 60 < len(failures) < 140
    assert set(failures) == {-1, 502}
    assert sim.stats.errors[-1] + sim.stats.faults["http502"] == len(failures)

    # Scripted items win over random faults.
    sim.set_fault_rate(CUSTOMER_BATCHGET, 1.0, faults=(-1,))
    sim.script(CUSTOMER_BATCHGET, [0, 40096])
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 0
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 40096
    assert (await batchget(client, token, ["wm1"]))["errcode"] == -1
    sim.set_fault_rate(CUSTOMER_BATCHGET, 0.0)
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 0


async def test_calls_per_second_limit(
    client: httpx.AsyncClient, sim: WeComSimulator, clock: FakeClock
) -> None:
    token = sim.issue_token()
    clock.now = 5000.0
    sim.calls_per_second_limit = 3
    codes = [(await batchget(client, token, ["wm1"]))["errcode"] for _ in range(5)]
    assert codes == [0, 0, 0, 45009, 45009]
    assert (await get_token(client))["errcode"] == 0  # separate per endpoint
    clock.advance(0.999)
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 45009
    clock.advance(0.001)
    codes = [(await batchget(client, token, ["wm1"]))["errcode"] for _ in range(4)]
    assert codes == [0, 0, 0, 45009]
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 10
    assert sim.stats.errors[45009] == 4
    assert sim.stats.busiest_window(CUSTOMER_BATCHGET) == 6


async def test_latency_uses_injected_sleep(
    client: httpx.AsyncClient, sim: WeComSimulator, sleep: FakeSleep
) -> None:
    token = sim.issue_token()
    await batchget(client, token, ["wm1"])
    assert sleep.calls == []
    sim.latency = 0.02
    await batchget(client, token, ["wm1"])
    assert sleep.calls == [0.02]
    sim.latency = lambda endpoint: 0.5 if endpoint == CUSTOMER_BATCHGET else 0.0
    await get_token(client)
    await batchget(client, token, ["wm1"])
    assert sleep.calls == [0.02, 0.5]


# ---------------------------------------------------------------------- counters


def test_busiest_window_two_pointer() -> None:
    stats = SimulatorStats()
    stats.call_times = {"a": [0.0, 0.5, 0.99, 1.0, 1.5, 3.0], "b": [0.2, 0.3]}
    assert stats.busiest_window("a") == 3  # [0, 1) holds 0, .5, .99; 1.0 is outside
    assert stats.busiest_window("a", seconds=1.01) == 4
    assert stats.busiest_window() == 5
    assert stats.busiest_window("missing") == 0
    assert stats.busiest_window("a", seconds=10) == 6
    with pytest.raises(ValueError, match="positive"):
        stats.busiest_window("a", seconds=0)


async def test_counters_and_reset(
    client: httpx.AsyncClient, sim: WeComSimulator, clock: FakeClock
) -> None:
    token = (await get_token(client))["access_token"]
    for step in range(4):
        clock.now = 100.0 + step * 0.25
        await batchget(client, token, [f"wm{step}", "nobody"])
    await batchget(client, "bogus", ["wm1"])
    stats = sim.stats
    assert stats.calls == {GETTOKEN: 1, CUSTOMER_BATCHGET: 5}
    assert stats.call_times[CUSTOMER_BATCHGET] == [100.0, 100.25, 100.5, 100.75, 100.75]
    assert stats.ids_requested == 8
    assert stats.errors == {40014: 1}
    assert stats.busiest_window(CUSTOMER_BATCHGET) == 5
    assert stats.in_flight == 0
    assert stats.max_in_flight == 1

    snapshot = stats.to_dict()
    json.dumps(snapshot)
    assert snapshot["calls"] == {GETTOKEN: 1, CUSTOMER_BATCHGET: 5}
    assert snapshot["errors"] == {"40014": 1}
    assert snapshot["busiest_window_1s"][CUSTOMER_BATCHGET] == 5
    assert "call_times" not in snapshot
    assert len(stats.to_dict(include_times=True)["call_times"][CUSTOMER_BATCHGET]) == 5

    stats.reset()
    assert stats.calls == {}
    assert stats.ids_requested == 0
    assert stats.to_dict()["busiest_window_1s"] == {}
    assert stats.max_in_flight == 0


async def test_hold_and_max_in_flight(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    token = sim.issue_token()
    sim.hold = asyncio.Event()
    tasks = [asyncio.create_task(batchget(client, token, [f"wm{i}"])) for i in range(6)]
    tasks.append(asyncio.create_task(get_token(client)))
    for _ in range(10_000):
        if sim.stats.in_flight == 7:
            break
        await asyncio.sleep(0)
    assert sim.stats.in_flight == 7
    assert not any(task.done() for task in tasks)
    sim.hold.set()
    results = await asyncio.gather(*tasks)
    assert all(result["errcode"] == 0 for result in results)
    assert sim.stats.in_flight == 0
    assert sim.stats.max_in_flight == 7
    assert sim.stats.max_in_flight_by_endpoint == {CUSTOMER_BATCHGET: 6, GETTOKEN: 1}


# ----------------------------------------------------------------- HTTP surface


async def test_unknown_paths_and_methods(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    assert (await client.get("/cgi-bin/kf/nope")).status_code == 404
    assert (await client.get("/elsewhere")).status_code == 404
    assert (await client.get(BATCHGET)).status_code == 405
    assert (await client.get("/__sim__/nope")).status_code == 404
    assert sim.stats.calls == {}


async def test_control_endpoints(client: httpx.AsyncClient, sim: WeComSimulator) -> None:
    token = (await get_token(client))["access_token"]
    stats = (await client.get("/__sim__/stats")).json()
    assert stats["calls"] == {GETTOKEN: 1}

    response = await client.post(
        "/__sim__/config",
        json={
            "latency": {CUSTOMER_BATCHGET: 0.25},
            "shuffle": True,
            "calls_per_second_limit": 50,
            "fault_rate": 0.0,
            "script": {CUSTOMER_BATCHGET: [45033, 0]},
            "extra_fields": {"future_field": "x"},
        },
    )
    assert response.json() == {"ok": True}
    assert sim.shuffle is True
    assert sim.calls_per_second_limit == 50
    assert callable(sim.latency)
    assert sim.latency(CUSTOMER_BATCHGET) == 0.25
    assert sim.latency(GETTOKEN) == 0.0
    assert sim.pending_script(CUSTOMER_BATCHGET) == [45033, 0]
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 45033
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 0

    bad = await client.post("/__sim__/config", json={"shuffle": "yes", "latency": 1})
    assert bad.status_code == 400
    assert sim.latency(CUSTOMER_BATCHGET) == 0.25  # nothing applied
    assert sim.shuffle is True
    assert (await client.post("/__sim__/config", json={"bogus": 1})).status_code == 400
    assert (await client.post("/__sim__/config", content=b"{")).status_code == 400

    response = await client.post(
        "/__sim__/config", json={"fault_rate": 1.0, "faults": ["http503"], "latency": None}
    )
    assert response.status_code == 200
    latency: object = sim.latency
    assert latency == 0.0
    failed = await client.post(
        BATCHGET, params={"access_token": token}, json={"external_userid_list": ["wm1"]}
    )
    assert failed.status_code == 503
    await client.post("/__sim__/config", json={"fault_rate": 0})

    await client.post(
        "/__sim__/customers", json={"add": {"zhangsan": {"nickname": "三"}}, "forget": ["wm9"]}
    )
    body = await batchget(client, token, ["zhangsan", "wm9"])
    assert [c["nickname"] for c in body["customer_list"]] == ["三"]
    assert body["invalid_external_userid"] == ["wm9"]

    assert (await client.post("/__sim__/rotate")).json() == {"ok": True}
    assert (await batchget(client, token, ["wm1"]))["errcode"] == 40014
    new_token = (await get_token(client))["access_token"]
    assert (await client.post("/__sim__/expire")).json() == {"ok": True}
    assert (await batchget(client, new_token, ["wm1"]))["errcode"] == 42001

    assert (await client.post("/__sim__/reset")).json() == {"ok": True}
    assert (await client.get("/__sim__/stats")).json()["calls"] == {}
    times = (await client.get("/__sim__/stats", params={"times": "1"})).json()
    assert times["call_times"] == {}


async def test_real_loopback_port() -> None:
    hang_ended = asyncio.Event()

    async def tracking_sleep(seconds: float) -> None:
        try:
            await asyncio.sleep(seconds)
        finally:
            hang_ended.set()

    sim = WeComSimulator(sleep=tracking_sleep)
    async with serve(sim) as base_url:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", base_url)
        async with httpx.AsyncClient(base_url=base_url) as http:
            token = (await get_token(http))["access_token"]
            results = await asyncio.gather(
                *(batchget(http, token, [f"wm{i}", f"x{i}"], context=1) for i in range(20))
            )
            stats = (await http.get("/__sim__/stats")).json()

            # A "timeout" fault hangs until the client gives up, then lets go.
            sim.script(CUSTOMER_BATCHGET, ["timeout"])
            with pytest.raises(httpx.ReadTimeout):
                await http.post(
                    BATCHGET,
                    params={"access_token": token},
                    json={"external_userid_list": ["wm1"]},
                    timeout=0.2,
                )
            await asyncio.wait_for(hang_ended.wait(), 10)
            for _ in range(100):
                if not sim.stats.in_flight:
                    break
                await asyncio.sleep(0)
            assert sim.stats.in_flight == 0
            assert sim.stats.faults == {"timeout": 1}
    assert all(len(r["customer_list"]) == 1 for r in results)
    assert all(r["invalid_external_userid"] == [f"x{i}"] for i, r in enumerate(results))
    assert stats["calls"] == {GETTOKEN: 1, CUSTOMER_BATCHGET: 20}
    assert sim.stats.ids_requested == 40


def test_subprocess_server() -> None:
    with (
        serve_in_subprocess(rate_limit=1000, shuffle=True) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        token = http.get(
            "/cgi-bin/gettoken", params={"corpid": SIM_CORP_ID, "corpsecret": SIM_SECRET}
        ).json()["access_token"]
        body = http.post(
            BATCHGET,
            params={"access_token": token},
            json={"external_userid_list": [f"wm{i}" for i in range(50)]},
        ).json()
        stats = http.get("/__sim__/stats").json()
    assert len(body["customer_list"]) == 50
    assert stats["calls"] == {GETTOKEN: 1, CUSTOMER_BATCHGET: 1}
