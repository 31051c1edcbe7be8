"""Waiting for one endpoint's budget never holds what another endpoint needs.

These run on the real clock (the limiters wait for real), for about a second or two
each. Every assertion is about order and counts at the simulator, never about how
long something took: the calls on an idle endpoint must arrive while the other
endpoint's deep queue is still mostly queued.
"""

from __future__ import annotations

import asyncio
import contextlib

import httpx

from wecom_kf_async import KfClient, LocalRateLimiter
from wecom_kf_async.testing import CUSTOMER_BATCHGET, SIM_SECRET, WeComSimulator

from .conftest import client_for, until

QUALIFICATION = "kf/get_corp_qualification"
#: The budget of every endpoint in these tests, calls per second.
RATE = 20
#: Requests in flight at once.
CONCURRENCY = 10
#: A bound on how long any test here may take (a hang fails, it does not block CI).
LIMIT = 30.0


def _ids(count: int) -> list[str]:
    return [f"wm{i:06d}" for i in range(count)]


async def _batch_started(sim: WeComSimulator) -> None:
    """Wait (on events, by yielding) until the simulator has seen the first chunk."""
    await until(lambda: sim.stats.calls[CUSTOMER_BATCHGET] >= 1, limit=1_000_000)


async def _idle_calls_during_a_batch(kf: KfClient, sim: WeComSimulator) -> int:
    """Start a 30-chunk batch, make 5 calls on another endpoint; chunks sent by then.

    The batch is then awaited, and every one of its ids must have been answered.
    """
    await kf.tokens.get()
    ids = _ids(30 * 100)
    batch = asyncio.create_task(kf.customers.batch_get(ids))
    await _batch_started(sim)
    await asyncio.gather(*(kf.corp_qualification() for _ in range(5)))
    chunks_sent_meanwhile = sim.stats.calls[CUSTOMER_BATCHGET]
    result = await batch
    assert [c.external_userid for c in result.customers] == ids  # every id answered
    return chunks_sent_meanwhile


async def test_an_idle_endpoint_is_not_held_up_by_a_deep_queue_on_another(
    sim: WeComSimulator,
) -> None:
    """Five calls on an idle endpoint go out while a 30-chunk batch waits for its budget.

    With every slot held by chunks waiting for batchget's budget, the five calls
    would wait until some 20 chunks had been sent. Waiting for a budget holds no
    slot, so they arrive after at most a handful of chunks (their own budget lets
    them through in about 0.2 s, in which batchget's budget admits about 4).
    """
    async with (
        asyncio.timeout(LIMIT),
        client_for(sim, rate_limit=RATE, max_concurrency=CONCURRENCY) as kf,
    ):
        chunks_sent_meanwhile = await _idle_calls_during_a_batch(kf, sim)
    assert sim.stats.calls[QUALIFICATION] == 5
    assert chunks_sent_meanwhile <= 12, chunks_sent_meanwhile


async def test_two_busy_endpoints_both_progress_at_their_own_rates(sim: WeComSimulator) -> None:
    """40 chunks and 40 other calls started together: both endpoints go out side by side.

    Each endpoint has its own budget of 20 calls/s, so over the first 40 arrivals each
    should have about half. Taking the slots while waiting for a budget would send
    the batch first and the other endpoint only after it.
    """
    async with asyncio.timeout(LIMIT), client_for(sim, rate_limit=RATE, max_concurrency=5) as kf:
        await kf.tokens.get()
        ids = _ids(40 * 100)
        await asyncio.gather(
            kf.customers.batch_get(ids), *(kf.corp_qualification() for _ in range(40))
        )
    arrivals = sorted(
        [(t, CUSTOMER_BATCHGET) for t in sim.stats.call_times[CUSTOMER_BATCHGET]]
        + [(t, QUALIFICATION) for t in sim.stats.call_times[QUALIFICATION]]
    )
    first_half = [path for _, path in arrivals[:40]]
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 40
    assert sim.stats.calls[QUALIFICATION] == 40
    assert first_half.count(CUSTOMER_BATCHGET) >= 12, first_half
    assert first_half.count(QUALIFICATION) >= 12, first_half


async def test_many_callers_released_at_once_keep_the_bounds(sim: WeComSimulator) -> None:
    """60 calls on two endpoints at once, a slow server: in flight <= max_concurrency and
    no 1-second window of either endpoint over its budget."""
    sim.latency = 0.05
    async with asyncio.timeout(LIMIT), client_for(sim, rate_limit=RATE, max_concurrency=3) as kf:
        await kf.tokens.get()
        sim.stats.reset()
        await asyncio.gather(
            kf.customers.batch_get(_ids(30 * 100)),
            *(kf.corp_qualification() for _ in range(30)),
        )
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 30
    assert sim.stats.calls[QUALIFICATION] == 30
    assert sim.stats.max_in_flight <= 3
    assert sim.stats.busiest_window(CUSTOMER_BATCHGET) <= RATE
    assert sim.stats.busiest_window(QUALIFICATION) <= RATE


async def test_a_shared_rate_limiter_waits_hold_no_slot(sim: WeComSimulator) -> None:
    """rate_limiter= (one budget shared by every endpoint) is waited for before a slot.

    A slow shared budget (5 calls/s) and max_concurrency=2: the callers of several
    endpoints compete for the shared room; whoever takes it first goes, and the
    others give their slot back and wait again. Nobody is lost, and the simulator
    never sees more than 2 in flight.
    """
    shared = LocalRateLimiter(5)
    async with (
        asyncio.timeout(LIMIT),
        client_for(sim, rate_limiter=shared, max_concurrency=2) as kf,
    ):
        await kf.tokens.get()
        await asyncio.gather(
            *(kf.corp_qualification() for _ in range(6)),
            kf.customers.batch_get(_ids(6 * 100)),
        )
    assert sim.stats.calls[QUALIFICATION] == 6
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 6
    assert sim.stats.busiest_window(None) <= 5
    assert sim.stats.max_in_flight <= 2


async def test_cancelled_waiters_for_a_budget_leave_every_slot_free(sim: WeComSimulator) -> None:
    """A batch cancelled while its chunks wait for their budget frees everything at once:
    a call on another endpoint then goes straight out, and a new batch completes."""
    async with asyncio.timeout(LIMIT), client_for(sim, rate_limit=RATE, max_concurrency=4) as kf:
        await kf.tokens.get()
        batch = asyncio.create_task(kf.customers.batch_get(_ids(50 * 100)))
        await _batch_started(sim)
        batch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await batch
        sent = sim.stats.calls[CUSTOMER_BATCHGET]
        await asyncio.gather(*(kf.corp_qualification() for _ in range(4)))
        result = await kf.customers.batch_get(_ids(200))
    assert sent < 50
    assert sim.stats.calls[QUALIFICATION] == 4
    assert len(result.customers) == 200


async def test_fleet_budget_waits_hold_no_slot(sim: WeComSimulator, redis_url: str) -> None:
    """The same isolation with the fleet's budgets on Redis, and the window kept."""
    async with asyncio.timeout(LIMIT):
        kf = KfClient.for_fleet(
            redis_url,
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url="http://wecom.sim",
            transport=httpx.ASGITransport(app=sim),
            rate_limit=RATE,
            rate_limits={"kf/sync_msg:no_token": None},
            max_concurrency=CONCURRENCY,
            namespace="isolation-test",
        )
        async with kf:
            chunks_sent_meanwhile = await _idle_calls_during_a_batch(kf, sim)
    assert chunks_sent_meanwhile <= 12, chunks_sent_meanwhile
    assert sim.stats.busiest_window(CUSTOMER_BATCHGET) <= RATE
