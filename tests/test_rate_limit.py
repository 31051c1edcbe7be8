"""The client's rate limit, concurrency bound and adaptive slow-down, seen by the simulator."""

from __future__ import annotations

import pytest

from wecom_kf_async import LocalRateLimiter, RetryPolicy, set_testing
from wecom_kf_async.testing import CUSTOMER_BATCHGET, GETTOKEN, WeComSimulator

from .conftest import FakeClock, FakeSleep, client_for


async def test_no_one_second_window_exceeds_rate_limit(sim: WeComSimulator) -> None:
    """With rate_limit=R, the simulator never sees more than R calls in any 1 s window.

    This runs on the real clock (the limiter runs on the event loop's clock) for about 1.5 s; it
    asserts a bound, not a speed.
    """
    rate = 40
    async with client_for(sim, rate_limit=rate, max_concurrency=50) as kf:
        await kf.customers.batch_get([f"wm{i}" for i in range(60 * 100)])
    calls = sim.stats.calls[CUSTOMER_BATCHGET] + sim.stats.calls[GETTOKEN]
    assert calls == 61
    assert sim.stats.busiest_window(None, 1.0) <= rate


def test_bucket_burst_cannot_break_the_window() -> None:
    """Fewer than burst + drain calls fit a 1 s window, so never more than rate."""
    for rate in (0.5, 1.0, 3.0, 40.0, 100.0, 166.0, 5000.0):
        limiter = LocalRateLimiter(rate)
        assert limiter.burst + limiter.drain_rate < max(rate, 1.0) + 1.0
        assert limiter.drain_rate <= rate
        assert limiter.drain_rate >= 0.95 * rate or rate < 100


async def test_adaptive_slowdown_recovers_from_server_throttling(clock: FakeClock) -> None:
    """Against a server allowing 5 calls/s, a 60-chunk batch completes with no id failed."""
    set_testing(False)
    sleep = FakeSleep(clock)
    sim = WeComSimulator(clock=clock)
    sim.calls_per_second_limit = 5
    policy = RetryPolicy(attempts=6, deadline=600.0)
    async with client_for(sim, clock=clock, sleep=sleep, max_concurrency=10, retry=policy) as kf:
        result = await kf.customers.batch_get([f"wm{i}" for i in range(6000)])
        assert kf.throttle.rate is not None  # it did slow down
    assert result.ok, f"{len(result.failed)} ids failed"
    assert len(result.customers) == 6000
    assert sim.stats.errors[45009] > 0
    # The slow-down kept throttled answers well below one per chunk attempt.
    assert sim.stats.errors[45009] < sim.stats.calls[CUSTOMER_BATCHGET]


@pytest.mark.parametrize("bad", [0, -5, True, "10"])
def test_rate_limit_validation(bad: object) -> None:
    """rate_limit must be a positive number."""
    with pytest.raises(ValueError, match="rate_limit"):
        LocalRateLimiter(bad)  # type: ignore[arg-type]
