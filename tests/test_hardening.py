"""Regression tests for the core hardening: hostile answers, stepped clocks, give-ups.

Each test reproduces one defect the adversarial review found (issue 8), against
the simulator (in process, or on a loopback port where bytes must trickle), with
injected clocks and sleeps instead of real waiting.
"""

from __future__ import annotations

import asyncio
import math
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest

from wecom_kf_async import (
    InvalidResponseError,
    KfClient,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    ServerBusyError,
    UpstreamHTTPError,
    set_testing,
)
from wecom_kf_async.cli import main as cli_main
from wecom_kf_async.testing import (
    CUSTOMER_BATCHGET,
    GETTOKEN,
    SIM_SECRET,
    WeComSimulator,
    serve,
)

from .conftest import FakeClock, client_for, until

BODY = {"external_userid_list": ["wmA"]}


async def call(kf: KfClient) -> dict[str, Any]:
    """One customer/batchget request through the client's whole pipeline."""
    return await kf.request("POST", CUSTOMER_BATCHGET, json=BODY)


class HeldSleep:
    """An injected sleep that records each wait and returns only when released."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []
        self.release = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.release.wait()
        self.clock.advance(seconds)


# -- 1. gettoken's expires_in ------------------------------------------------------


@pytest.mark.parametrize(
    "expires_in", [0, -5, float("nan"), float("inf"), "7200", True, None, 1e12, 30]
)
async def test_implausible_expires_in_is_an_invalid_response_not_a_loop(
    sim: WeComSimulator, expires_in: object
) -> None:
    """gettoken answering expires_in 0, negative, NaN, ... fails the call; no gettoken storm."""
    sim.set_fault_rate(GETTOKEN, 1.0, [{"expires_in": expires_in}])
    async with client_for(sim, retry=RetryPolicy(attempts=3)) as kf:
        with pytest.raises(InvalidResponseError) as raised:
            await asyncio.wait_for(call(kf), 30)
        assert "expires_in" in str(raised.value)
        # bounded: gettoken's own tries, once; then the remembered failure
        assert sim.stats.calls[GETTOKEN] == 3
        assert sim.stats.calls[CUSTOMER_BATCHGET] == 0

        sim.set_fault_rate(GETTOKEN, 0.0)
        await asyncio.sleep(0)
        kf.tokens._failure = None  # forget the remembered failure (its 1 s, skipped)
        assert (await call(kf))["errcode"] == 0


@pytest.mark.parametrize(
    "access_token", ["", "x" * 513, "has space", "line\nbreak", 12345, None, ["t"]]
)
async def test_unusable_access_token_is_an_invalid_response(
    sim: WeComSimulator, access_token: object
) -> None:
    """A token that is empty, too long, not printable or not a string is refused."""
    sim.set_fault_rate(GETTOKEN, 1.0, [{"access_token": access_token}])
    async with client_for(sim, retry=RetryPolicy(attempts=2)) as kf:
        with pytest.raises(InvalidResponseError, match="access_token"):
            await asyncio.wait_for(call(kf), 30)
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 0


# -- 2. callers that give up while throttled ---------------------------------------


async def _throttled_client(
    sim: WeComSimulator, clock: FakeClock, sleep: Any, wall: FakeClock | None = None
) -> KfClient:
    """An open client whose adaptive cap is engaged (one 45009 answer).

    *clock* is its monotonic clock, and its wall clock too unless *wall* is given.
    """
    set_testing(False)
    sim.clock = clock
    kf = client_for(
        sim,
        clock=wall or clock,
        monotonic=clock,
        sleep=sleep,
        retry=RetryPolicy(attempts=1),
    )
    await kf.__aenter__()
    await kf.tokens.get()
    for _ in range(20):
        await call(kf)
        clock.advance(0.04)
    sim.script(CUSTOMER_BATCHGET, [45009])
    with pytest.raises(RateLimitedError):
        await call(kf)
    assert kf.throttle.rate is not None
    return kf


async def test_callers_that_give_up_while_throttled_free_their_slots(
    sim: WeComSimulator, clock: FakeClock
) -> None:
    """200 throttled callers time out; the next call waits one slot, not 200 of them."""
    sleep = HeldSleep(clock)
    kf = await _throttled_client(sim, clock, sleep)
    rate = kf.throttle.rate
    assert rate is not None
    try:
        callers = [asyncio.create_task(call(kf)) for _ in range(200)]
        await until(lambda: len(sleep.waits) == 1)  # one sleeps for its slot, the rest queue
        for task in callers:
            task.cancel()  # what asyncio.wait_for does when its time is up
        await asyncio.gather(*callers, return_exceptions=True)
        assert sum(task.cancelled() for task in callers) >= 198  # one may have gone at once

        sleep.waits.clear()
        sleep.release.set()
        assert (await call(kf))["errcode"] == 0
        assert len(sleep.waits) <= 1
        assert all(wait <= 1.0 / rate + 1e-6 for wait in sleep.waits)
    finally:
        await kf.aclose()


async def test_throttle_recovers_with_time_when_no_call_succeeds(
    sim: WeComSimulator, clock: FakeClock
) -> None:
    """With no successful call at all, the cap still lifts once enough quiet time passed."""
    sleep = HeldSleep(clock)
    sleep.release.set()
    kf = await _throttled_client(sim, clock, sleep)
    try:
        clock.advance(120.0)  # quiet, and every call since fails
        sim.script(CUSTOMER_BATCHGET, [-1])
        sleep.waits.clear()
        with pytest.raises(ServerBusyError):
            await call(kf)
        assert sleep.waits == []  # the probe went at once
        assert kf.throttle.rate is None
    finally:
        await kf.aclose()


# -- 3. a stepped wall clock ---------------------------------------------------------


async def test_remembered_refresh_failure_ignores_a_wall_clock_step(
    sim: WeComSimulator,
) -> None:
    """A failure remembered for 1 s lasts 1 s of monotonic time after a 600 s step back."""
    wall, mono = FakeClock(), FakeClock(start=1000.0)
    async with client_for(sim, clock=wall, monotonic=mono, retry=RetryPolicy(attempts=1)) as kf:
        sim.script(GETTOKEN, [-1])
        with pytest.raises(ServerBusyError):
            await call(kf)
        wall.advance(-600.0)  # NTP steps the wall clock back
        mono.advance(1.5)
        assert (await call(kf))["errcode"] == 0
    assert sim.stats.calls[GETTOKEN] == 2


async def test_token_freshness_ignores_a_wall_clock_step(sim: WeComSimulator) -> None:
    """The in-process token is refreshed on time although the wall clock stepped back."""
    wall, mono = FakeClock(), FakeClock(start=1000.0)
    sim.clock = mono  # WeCom's own time goes on as real time does
    async with client_for(sim, clock=wall, monotonic=mono) as kf:
        await call(kf)
        token = await kf.tokens.get()
        lifetime = token.refresh_at - wall.now
        wall.advance(-600.0)
        mono.advance(lifetime + 1.0)
        await call(kf)
        assert sim.stats.calls[GETTOKEN] == 2
        wall.advance(3600.0)  # and a step forward does not refresh early
        await call(kf)
    assert sim.stats.calls[GETTOKEN] == 2
    assert sim.stats.errors[42001] == 0


async def test_adaptive_cap_ignores_a_wall_clock_step(
    sim: WeComSimulator, clock: FakeClock
) -> None:
    """With the cap in force, a 1-hour step back of the wall clock costs no 1-hour sleep."""
    wall = FakeClock()
    sleep = HeldSleep(clock)
    sleep.release.set()
    kf = await _throttled_client(sim, clock, sleep, wall=wall)
    rate = kf.throttle.rate
    assert rate is not None
    try:
        wall.advance(-3600.0)
        sleep.waits.clear()
        for _ in range(3):
            await call(kf)
        assert max(sleep.waits, default=0.0) <= 1.0 / rate + 1e-6
    finally:
        await kf.aclose()


# -- 4. aclose() while others wait ---------------------------------------------------


async def test_aclose_during_a_token_refresh_raises_closed_in_the_waiting_calls(
    sim: WeComSimulator,
) -> None:
    """Calls waiting on a refresh get RuntimeError('KfClient is closed'), not CancelledError."""
    gate = asyncio.Event()
    sim.hold = gate
    kf = client_for(sim)
    await kf.__aenter__()
    callers = [asyncio.create_task(call(kf)) for _ in range(5)]
    await until(lambda: sim.stats.in_flight == 1)  # gettoken is held
    await kf.aclose()
    results = await asyncio.gather(*callers, return_exceptions=True)
    gate.set()
    for result in results:
        assert isinstance(result, RuntimeError)
        assert str(result) == "KfClient is closed"


async def test_aclose_while_calls_queue_for_a_slot_raises_closed(sim: WeComSimulator) -> None:
    """Calls queued behind the concurrency bound when the client closes get the same error."""
    async with client_for(sim, max_concurrency=1) as kf:
        await kf.tokens.get()
        gate = asyncio.Event()
        sim.hold = gate
        running = asyncio.create_task(call(kf))
        await until(lambda: sim.stats.in_flight == 1)
        queued = [asyncio.create_task(call(kf)) for _ in range(3)]
        await asyncio.sleep(0)
        closing = asyncio.create_task(kf.aclose())
        await asyncio.sleep(0)
        gate.set()
        await closing
        results = await asyncio.gather(*queued, return_exceptions=True)
        assert (await running)["errcode"] == 0  # its answer had come: it is kept
    for result in results:
        assert isinstance(result, RuntimeError)
        assert str(result) == "KfClient is closed"


# -- 5. a malformed chunk ------------------------------------------------------------


@pytest.mark.parametrize(
    "malformed",
    [
        {"invalid_external_userid": [{"unhashable": "dict"}]},
        {"invalid_external_userid": "wm_a_string"},
        {"invalid_external_userid": [1, 2]},
        {"customer_list": {"external_userid": "wm0"}},
        {"customer_list": [1]},
        {"customer_list": [{"external_userid": 5}]},
        {"customer_list": [{"external_userid": "wm0", "nickname": {"a": 1}}]},
        {"customer_list": [{"external_userid": "wm0", "enter_session_context": []}]},
        {"customer_list": "not a list"},
    ],
)
async def test_one_malformed_chunk_fails_only_its_own_ids(
    sim: WeComSimulator, malformed: dict[str, Any]
) -> None:
    """A 1,000-id batch with one malformed answer keeps the 900 good ones; 100 fail."""
    ids = [f"wm{i}" for i in range(1000)]
    sim.script(CUSTOMER_BATCHGET, [0, 0, 0, malformed])
    async with client_for(sim, max_concurrency=1) as kf:
        result = await kf.customers.batch_get(ids)
    assert len(result.customers) == 900
    assert len(result.failed) == 100
    assert all(isinstance(exc, InvalidResponseError) for exc in result.failed.values())
    assert [c.external_userid for c in result.customers] == [
        i for i in ids if i not in result.failed
    ]


# -- 6. one shared failure, many callers ---------------------------------------------


async def test_each_caller_gets_its_own_bounded_copy_of_a_shared_failure(
    sim: WeComSimulator,
) -> None:
    """With gettoken failing through a 10,000-id batch, tracebacks stay small and separate."""
    sim.set_fault_rate(GETTOKEN, 1.0, ["http503"])
    mono = FakeClock()  # frozen: the failure stays remembered through the batch
    async with client_for(sim, monotonic=mono, retry=RetryPolicy(attempts=2)) as kf:
        result = await kf.customers.batch_get([f"wm{i}" for i in range(10_000)])
    assert len(result.failed) == 10_000
    errors = {id(exc): exc for exc in result.failed.values()}
    assert len(errors) == 100  # one per chunk, not one shared by all
    sizes = [len(traceback.format_exception(exc)) for exc in errors.values()]
    assert max(sizes) < 200
    originals = {id(exc.__cause__) for exc in errors.values()}
    assert len(originals) <= 2
    for exc in errors.values():
        assert isinstance(exc, UpstreamHTTPError)
        assert exc.status_code == 503


# -- 7. a body that drips ------------------------------------------------------------


@pytest.fixture(params=["aiohttp", "httpx"])
def transport_kind(request: pytest.FixtureRequest) -> str:
    """The library's default transport (httpx over aiohttp), and httpx's own."""
    kind: str = request.param
    return kind


async def _dripping(
    sim: WeComSimulator, kind: str, *, attempt: float, retry: RetryPolicy, faults: int
) -> tuple[RequestTimeoutError, int]:
    sim.drip_interval = 0.02  # far below the timeout: no single read ever times out
    async with serve(sim) as base_url:
        transport = httpx.AsyncHTTPTransport() if kind == "httpx" else None
        async with KfClient(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url=base_url,
            rate_limit=None,
            timeout=attempt,
            retry=retry,
            transport=transport,
        ) as kf:
            await kf.tokens.get()
            sim.script(CUSTOMER_BATCHGET, ["drip"] * faults)
            with pytest.raises(RequestTimeoutError) as raised:
                await asyncio.wait_for(call(kf), 60)
    return raised.value, sim.stats.calls[CUSTOMER_BATCHGET]


async def test_timeout_bounds_each_attempt_as_a_whole(
    sim: WeComSimulator, transport_kind: str
) -> None:
    """A server dripping one byte at a time trips ``timeout`` for the attempt as a whole."""
    error, calls = await _dripping(
        sim, transport_kind, attempt=0.3, retry=RetryPolicy(attempts=2), faults=2
    )
    assert error.reason == "attempt timeout"
    assert calls == 2
    assert sim.stats.faults["drip"] == 2


async def test_deadline_bounds_the_whole_call_including_the_attempt_in_flight(
    sim: WeComSimulator, transport_kind: str
) -> None:
    """The deadline cuts off an attempt still dripping when it passes."""
    error, calls = await _dripping(
        sim, transport_kind, attempt=30.0, retry=RetryPolicy(attempts=5, deadline=0.4), faults=5
    )
    assert error.reason == "deadline"
    assert calls == 1


# -- siblings -----------------------------------------------------------------------


def test_ids_file_with_a_byte_order_mark(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ids file saved with a UTF-8 BOM (Windows Notepad) reads its first id cleanly."""
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("wmA\r\nwmB\r\n", encoding="utf-8-sig")
    assert cli_main(["customers", "--simulate", "--ids-file", str(ids_file)]) == 0
    out = capsys.readouterr().out
    assert '"external_userid": "wmA"' in out
    assert "\ufeff" not in out


async def test_fault_script_replaces_fields_of_a_normal_answer(sim: WeComSimulator) -> None:
    """The simulator's field-replacing fault keeps the rest of the normal answer."""
    sim.script(GETTOKEN, [{"expires_in": math.nan}])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=sim), base_url="http://sim"
    ) as http:
        answer = await http.get(
            "/cgi-bin/gettoken", params={"corpid": sim.corp_id, "corpsecret": SIM_SECRET}
        )
    body = answer.json()
    assert body["errcode"] == 0
    assert body["access_token"]
    assert math.isnan(body["expires_in"])
    assert sim.stats.faults["fields"] == 1
