"""Hypothesis: whatever the ids, duplicates, latencies and faults, the batcher holds."""

from __future__ import annotations

import asyncio

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wecom_kf_async import set_testing
from wecom_kf_async.testing import CUSTOMER_BATCHGET, WeComSimulator

from .conftest import client_for

id_alphabet = st.sampled_from(["wm", "zz"])  # "wm..." are known to the simulator
ids_strategy = st.lists(
    st.builds(lambda p, n: f"{p}{n}", id_alphabet, st.integers(min_value=0, max_value=400)),
    max_size=700,
)
faults = st.sampled_from([-1, 45009, 6000, "http502", "truncated", 0])


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    ids=ids_strategy,
    max_concurrency=st.integers(min_value=1, max_value=8),
    script=st.lists(faults, max_size=30),
    fault_rate=st.sampled_from([0.0, 0.1, 0.3]),
    yields=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=20),
    shuffle=st.booleans(),
    seed=st.integers(min_value=0, max_value=1000),
)
def test_batcher_order_completeness_and_concurrency(
    ids: list[str],
    max_concurrency: int,
    script: list[int | str],
    fault_rate: float,
    yields: list[int],
    shuffle: bool,
    seed: int,
) -> None:
    """Order kept, nothing lost or doubled, in-flight never above max_concurrency."""
    sim = WeComSimulator(seed=seed)
    sim.shuffle = shuffle
    sim.script(CUSTOMER_BATCHGET, script)
    if fault_rate:
        sim.set_fault_rate(CUSTOMER_BATCHGET, fault_rate, faults=(-1, 45009, "http502"))
    turn = iter(yields * 1000)

    async def latency(_seconds: float) -> None:
        # Each answer takes a random number of event-loop turns: varied interleavings.
        for _ in range(next(turn, 0)):
            await asyncio.sleep(0)

    sim.latency = 1.0
    sim.sleep = latency

    async def run() -> None:
        set_testing(True)
        async with client_for(sim, max_concurrency=max_concurrency) as kf:
            result = await kf.customers.batch_get(ids)
        distinct = list(dict.fromkeys(ids))
        got_customers = [c.external_userid for c in result.customers]
        reported = got_customers + result.invalid_external_userids + list(result.failed)
        # Every distinct id exactly once.
        assert sorted(reported) == sorted(distinct)
        # Input order within each list.
        position = {x: i for i, x in enumerate(distinct)}
        for listed in (got_customers, result.invalid_external_userids):
            assert [position[x] for x in listed] == sorted(position[x] for x in listed)
        # Customers are exactly the known ids that did not fail.
        assert all(x.startswith("wm") for x in got_customers)
        assert all(x.startswith("zz") for x in result.invalid_external_userids)
        assert sim.stats.max_in_flight_by_endpoint.get(CUSTOMER_BATCHGET, 0) <= max_concurrency

    asyncio.run(run())
