"""Rate budgets per endpoint: WeCom counts per API, and one path's trouble stays its own."""

from __future__ import annotations

import asyncio
import math

import pytest

from wecom_kf_async import ENDPOINTS, LocalRateLimiter, RetryPolicy, set_testing
from wecom_kf_async.testing import CUSTOMER_BATCHGET, WeComSimulator

from .conftest import FakeClock, FakeSleep, client_for

QUALIFICATION = "kf/get_corp_qualification"


def test_each_path_gets_its_own_limiter_at_the_resolved_rate(sim: WeComSimulator) -> None:
    """rate_limit is every path's default, rate_limits overrides a path, None lifts it."""
    kf = client_for(
        sim,
        rate_limit=150,
        rate_limits={"kf/sync_msg": 20, "kf/account/list": None},
    )
    batch = kf.limiters_for(CUSTOMER_BATCHGET)
    sync = kf.limiters_for("kf/sync_msg")
    assert [type(x) for x in batch] == [LocalRateLimiter]
    assert [type(x) for x in sync] == [LocalRateLimiter]
    assert batch[0] is not sync[0]
    assert isinstance(batch[0], LocalRateLimiter)
    assert isinstance(sync[0], LocalRateLimiter)
    assert (batch[0].rate, sync[0].rate) == (150, 20)
    assert kf.limiters_for("kf/account/list") == ()
    assert kf.limiters_for(CUSTOMER_BATCHGET) is batch  # made once, then reused
    assert kf.rate_for("kf/sync_msg") == 20
    assert kf.rate_for("kf/send_msg") == 150
    assert dict(kf.rate_limits) == {"kf/sync_msg": 20.0, "kf/account/list": None}


def test_a_shared_rate_limiter_applies_to_every_path_after_the_paths_own(
    sim: WeComSimulator,
) -> None:
    """rate_limiter= is waited on by every endpoint, after that endpoint's own budget."""
    shared = LocalRateLimiter(1000)
    kf = client_for(sim, rate_limit=10, rate_limiter=shared)
    for path in (CUSTOMER_BATCHGET, "kf/sync_msg", "gettoken"):
        own, last = kf.limiters_for(path)
        assert last is shared
        assert isinstance(own, LocalRateLimiter)
        assert own.rate == 10


@pytest.mark.parametrize(
    ("rate_limits", "error", "match"),
    [
        ({"kf/sync_mgs": 10}, ValueError, "unknown endpoint 'kf/sync_mgs'"),
        ({"kf/sync_msg": 0}, ValueError, r"rate_limits\['kf/sync_msg'\]"),
        ({"kf/sync_msg": math.inf}, ValueError, "positive number"),
        ({"kf/sync_msg": True}, ValueError, "positive number"),
        ([("kf/sync_msg", 10)], TypeError, "must map endpoint paths"),
    ],
)
def test_bad_rate_limits_are_refused_naming_the_problem(
    sim: WeComSimulator, rate_limits: object, error: type[Exception], match: str
) -> None:
    """A typo in a path or a rate that is not a positive number fails at construction."""
    with pytest.raises(error, match=match):
        client_for(sim, rate_limits=rate_limits)


def test_every_endpoint_of_the_table_may_be_given_a_budget(sim: WeComSimulator) -> None:
    """Every row of the endpoint table is a valid rate_limits key."""
    kf = client_for(sim, rate_limits=dict.fromkeys(ENDPOINTS, 5.0))
    assert all(kf.rate_for(path) == 5.0 for path in ENDPOINTS)


async def test_throttling_on_one_endpoint_leaves_another_at_full_speed(
    sim: WeComSimulator, clock: FakeClock
) -> None:
    """After 45009 on batchget, the other endpoint still sends all at once; batchget is capped.

    Measured at the simulator, in calls that arrived per second per path (fake time).
    """
    set_testing(False)  # the adaptive slow-down must really space the calls
    sleep = FakeSleep(clock)
    sim.clock = clock
    async with client_for(
        sim, clock=clock, sleep=sleep, retry=RetryPolicy(attempts=1), max_concurrency=50
    ) as kf:
        await kf.tokens.get()
        for _ in range(20):  # 20 calls/s on each path, as measured by the client
            await kf.customers.batch_get(["wmA"])
            await kf.corp_qualification()
            clock.advance(0.045)
        sim.script(CUSTOMER_BATCHGET, [45009])
        result = await kf.customers.batch_get(["wmA"])
        assert result.failed
        capped = kf.throttle.rate
        assert capped is not None
        assert kf.throttle_for(QUALIFICATION).rate is None
        sim.stats.reset()

        await asyncio.gather(
            *(kf.customers.batch_get([f"wm{i}"]) for i in range(30)),
            *(kf.corp_qualification() for _ in range(30)),
        )
    assert sim.stats.calls[QUALIFICATION] == 30
    assert sim.stats.busiest_window(QUALIFICATION) == 30  # untouched: all in one instant
    assert sim.stats.busiest_window(CUSTOMER_BATCHGET) <= math.ceil(capped) + 1


def test_gettoken_has_a_budget_of_its_own(sim: WeComSimulator) -> None:
    """gettoken waits on its own path's limiter, not on the API calls' budget."""
    kf = client_for(sim, rate_limit=100)
    (token_limiter,) = kf.limiters_for("gettoken")
    (batch_limiter,) = kf.limiters_for(CUSTOMER_BATCHGET)
    assert token_limiter is not batch_limiter
