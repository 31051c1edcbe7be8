"""customer/batchget through the batcher, against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import random
from typing import Any

import httpx
import pytest

from wecom_kf_async import (
    BatchGetError,
    ConfigurationError,
    Customer,
    KfClient,
    PermissionDeniedError,
    TransportError,
    WeComError,
)
from wecom_kf_async.testing import (
    CUSTOMER_BATCHGET,
    GETTOKEN,
    SIM_SECRET,
    ASGIApp,
    WeComSimulator,
)

from .conftest import client_for, until


async def yield_a_few(_seconds: float) -> None:
    """A simulator latency that lets other tasks run, without wall-clock time."""
    for _ in range(3):
        await asyncio.sleep(0)


def known(n: int, prefix: str = "wm") -> list[str]:
    """n distinct ids the simulator knows."""
    return [f"{prefix}{i:06d}" for i in range(n)]


async def test_order_follows_input_when_server_shuffles(sim: WeComSimulator, kf: KfClient) -> None:
    """customers and invalid ids keep the input order although the server shuffles."""
    sim.shuffle = True
    ids = known(350)
    random.Random(7).shuffle(ids)
    invalid = [f"nobody{i}" for i in range(40)]
    mixed = ids[:100] + invalid[:20] + ids[100:] + invalid[20:]
    result = await kf.customers.batch_get(mixed)
    assert [c.external_userid for c in result.customers] == ids
    assert result.invalid_external_userids == invalid
    assert result.failed == {}
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 4  # 390 ids -> 4 chunks


async def test_chunks_hold_at_most_100_ids(sim: WeComSimulator, kf: KfClient) -> None:
    """1,001 ids go out as 11 calls, none above the 100-id limit (the simulator enforces it)."""
    result = await kf.customers.batch_get(known(1001))
    assert len(result.customers) == 1001
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 11
    assert sim.stats.ids_requested == 1001


async def test_duplicates_dropped_first_occurrence_wins(sim: WeComSimulator, kf: KfClient) -> None:
    """Repeated ids are fetched once and reported once, at their first position."""
    ids = ["wmB", "wmA", "wmB", "zz", "wmA", "zz", "wmC"]
    result = await kf.customers.batch_get(iter(ids))
    assert [c.external_userid for c in result.customers] == ["wmB", "wmA", "wmC"]
    assert result.invalid_external_userids == ["zz"]
    assert sim.stats.ids_requested == 4


async def test_empty_input_makes_no_request(sim: WeComSimulator, kf: KfClient) -> None:
    """An empty iterable gives an empty result without any HTTP call, not even gettoken."""
    result = await kf.customers.batch_get([])
    assert result.customers == []
    assert result.invalid_external_userids == []
    assert result.ok
    assert sum(sim.stats.calls.values()) == 0


@pytest.mark.parametrize(
    ("bad", "exc", "words"),
    [
        (None, TypeError, "NoneType"),
        ("wmA", TypeError, "single str"),
        (b"wmA", TypeError, "single bytes"),
        (42, TypeError, "int"),
        (["wmA", 3], TypeError, "external_userids[1] is int"),
        (["wmA", None], TypeError, "external_userids[1] is NoneType"),
        (["wmA", ""], ValueError, "external_userids[1] is an empty"),
        (["   "], ValueError, "external_userids[0]"),
    ],
)
async def test_bad_input_raises_before_any_request(
    sim: WeComSimulator, kf: KfClient, bad: object, exc: type[Exception], words: str
) -> None:
    """Bad input raises an error naming the problem, before sending anything."""
    with pytest.raises(exc, match=words.replace("[", r"\[").replace("]", r"\]")):
        await kf.customers.batch_get(bad)  # type: ignore[arg-type]
    assert sum(sim.stats.calls.values()) == 0


async def test_context_only_when_asked(kf: KfClient) -> None:
    """enter_session_context is requested with need_enter_session_context=True only."""
    without = await kf.customers.batch_get(known(30))
    assert all(c.enter_session_context is None for c in without.customers)
    with_ctx = await kf.customers.batch_get(known(30), need_enter_session_context=True)
    assert all(c.enter_session_context is not None for c in with_ctx.customers)
    assert any(
        c.enter_session_context is not None and c.enter_session_context.wechat_channels is not None
        for c in with_ctx.customers
    )


async def test_unknown_fields_tolerated_and_third_party_shape(sim: WeComSimulator) -> None:
    """Extra server fields are ignored; third-party answers (no avatar/unionid) structure."""
    sim.extra_fields = {"future_field": {"nested": 1}}
    sim.third_party = True
    async with client_for(sim) as kf:
        result = await kf.customers.batch_get(known(5), need_enter_session_context=True)
    assert len(result.customers) == 5
    assert all(c.avatar is None and c.unionid is None and c.gender == 0 for c in result.customers)


def poisoned(sim: WeComSimulator, poison: str) -> ASGIApp:
    """Wrap *sim*: any batchget whose body holds *poison* gets an HTML 502."""

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith(CUSTOMER_BATCHGET):
            await sim(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if poison.encode() in body:
            await send({"type": "http.response.start", "status": 502, "headers": []})
            await send({"type": "http.response.body", "body": b"<html>502</html>"})
            return

        async def replay() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        await sim(scope, replay, send)

    return app


async def test_failed_chunk_does_not_sink_batch(sim: WeComSimulator) -> None:
    """A chunk that fails after retries puts its ids in failed; the other chunks succeed."""
    ids = known(300)
    kf = KfClient(
        corp_id=sim.corp_id,
        secret=SIM_SECRET,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=poisoned(sim, ids[150])),
        rate_limit=None,
    )
    async with kf:
        result = await kf.customers.batch_get(ids)
    assert set(result.failed) == set(ids[100:200])
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 2  # the 502s never reached the simulator
    assert all(isinstance(e, TransportError) for e in result.failed.values())
    assert len(result.customers) == 200
    got = {c.external_userid for c in result.customers} | set(result.failed)
    assert got == set(ids)
    with pytest.raises(BatchGetError) as raised:
        result.raise_for_failures()
    assert set(raised.value.failed) == set(result.failed)
    failed_id = next(iter(result.failed))
    assert result.get(failed_id) is None
    with pytest.raises(KeyError, match="failed"):
        result[failed_id]


async def test_lookup_by_id(kf: KfClient) -> None:
    """result[id] and result.get(id) find a customer; invalid ids raise KeyError saying so."""
    result = await kf.customers.batch_get(["wmX", "nobody"])
    assert isinstance(result["wmX"], Customer)
    assert result.get("wmX") is result["wmX"]
    assert "wmX" in result
    assert "nobody" not in result
    with pytest.raises(KeyError, match="invalid"):
        result["nobody"]
    assert result.raise_for_failures() is result


async def test_faults_25_percent_every_id_accounted_once(sim: WeComSimulator) -> None:
    """With 25% of calls failing (-1, 45009, HTML 502), every id is reported exactly once."""
    sim.set_fault_rate(CUSTOMER_BATCHGET, 0.25, faults=(-1, 45009, "http502"))
    sim.shuffle = True
    ids = known(2000) + [f"gone{i}" for i in range(150)]
    random.Random(3).shuffle(ids)
    async with client_for(sim, max_concurrency=8) as kf:
        result = await kf.customers.batch_get(ids)
    seen = [c.external_userid for c in result.customers] + result.invalid_external_userids
    seen += list(result.failed)
    assert sorted(seen) == sorted(ids)
    assert len(seen) == len(set(seen))
    # With 5 attempts at 25% failure, almost every chunk gets through.
    assert len(result.failed) <= 100
    assert sum(sim.stats.faults.values()) + sim.stats.errors[-1] + sim.stats.errors[45009] > 0
    order = {x: i for i, x in enumerate(ids)}
    customer_pos = [order[c.external_userid] for c in result.customers]
    assert customer_pos == sorted(customer_pos)


async def test_wrong_secret_fails_fast_from_batch_get(sim: WeComSimulator) -> None:
    """A wrong secret raises ConfigurationError (40001) at once: one gettoken, no batchget."""
    async with client_for(sim, secret="wrong", max_concurrency=4) as kf:
        with pytest.raises(ConfigurationError) as raised:
            await kf.customers.batch_get(known(1000))
    assert raised.value.errcode == 40001
    assert sim.stats.calls[GETTOKEN] == 1
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 0


async def test_forbidden_api_raises_from_batch_get(sim: WeComSimulator) -> None:
    """48002 (API forbidden) is not put in failed: batch_get raises it and stops the batch."""
    sim.script(CUSTOMER_BATCHGET, [48002])
    sim.latency = 1.0  # "seconds" of the fake sleep below: requests take turns in flight
    sim.sleep = yield_a_few
    async with client_for(sim, max_concurrency=2) as kf:
        with pytest.raises(PermissionDeniedError) as raised:
            await kf.customers.batch_get(known(2000))
    assert raised.value.errcode == 48002
    assert isinstance(raised.value, WeComError)
    # It stopped: far fewer than the 20 chunks were sent.
    assert sim.stats.calls[CUSTOMER_BATCHGET] <= 4
    assert {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} == set()


async def test_token_rotated_mid_batch(sim: WeComSimulator) -> None:
    """A token invalidated mid-batch costs one more gettoken, and no id fails."""
    async with client_for(sim, max_concurrency=5) as kf:
        await kf.tokens.get()
        sim.hold = asyncio.Event()
        task = asyncio.create_task(kf.customers.batch_get(known(1000)))
        await until(lambda: sim.stats.in_flight == 5)
        assert sim.stats.calls[GETTOKEN] == 1
        sim.rotate_token()
        sim.hold.set()
        result = await task
    assert len(result.customers) == 1000
    assert result.ok
    assert sim.stats.calls[GETTOKEN] == 2
    assert sim.stats.errors[40014] == 5


async def test_expired_token_refreshed_once(sim: WeComSimulator, kf: KfClient) -> None:
    """A token WeCom calls expired (42001) is refreshed once and the call succeeds."""
    await kf.customers.batch_get(["wmA"])
    sim.expire_tokens()
    result = await kf.customers.batch_get(["wmB"])
    assert result.ok
    assert len(result.customers) == 1
    assert sim.stats.errors[42001] == 1
    assert sim.stats.calls[GETTOKEN] == 2


async def test_max_concurrency_bounds_in_flight(sim: WeComSimulator) -> None:
    """No more than max_concurrency requests are ever in flight."""
    async with client_for(sim, max_concurrency=3) as kf:
        await kf.tokens.get()
        sim.hold = asyncio.Event()
        task = asyncio.create_task(kf.customers.batch_get(known(1500)))
        await until(lambda: sim.stats.in_flight == 3)
        for _ in range(100):
            await asyncio.sleep(0)
        assert sim.stats.in_flight == 3
        sim.hold.set()
        await task
    assert sim.stats.max_in_flight_by_endpoint[CUSTOMER_BATCHGET] == 3


async def test_cancellation_cancels_chunks_and_leaves_client_usable(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """Cancelling batch_get cancels in-flight chunks, leaves no task, and the client works on."""
    await kf.tokens.get()
    sim.hold = asyncio.Event()
    before = asyncio.all_tasks()
    task = asyncio.create_task(kf.customers.batch_get(known(1000)))
    await until(lambda: sim.stats.in_flight == 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert asyncio.all_tasks() == before
    assert sim.stats.in_flight == 0
    sim.hold = None
    result = await kf.customers.batch_get(known(150))
    assert len(result.customers) == 150


async def test_iter_batch_get_yields_chunks_in_order(sim: WeComSimulator, kf: KfClient) -> None:
    """The streaming form yields one page per chunk, in input order, covering every id."""
    sim.shuffle = True
    ids = [*known(450), "nobody"]
    pages = [page async for page in kf.customers.iter_batch_get(ids, window=2)]
    assert len(pages) == 5
    flat = [c.external_userid for p in pages for c in p.customers]
    assert flat == ids[:-1]
    assert pages[-1].invalid_external_userids == ["nobody"]


async def test_iter_batch_get_closed_early_cancels_rest(sim: WeComSimulator, kf: KfClient) -> None:
    """Closing the streaming iterator after one page cancels the chunks fetched ahead."""
    before = asyncio.all_tasks()
    pages = kf.customers.iter_batch_get(known(2000), window=4)
    async with contextlib.aclosing(pages):
        async for _page in pages:
            break
    assert asyncio.all_tasks() == before
    assert sim.stats.calls[CUSTOMER_BATCHGET] <= 5


async def test_iter_batch_get_bad_window(kf: KfClient) -> None:
    """window must be a positive int."""
    with pytest.raises(ValueError, match="window"):
        async for _ in kf.customers.iter_batch_get(["wmA"], window=0):
            pass
