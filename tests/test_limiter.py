"""Tests for AdaptiveThrottle (fake clock and sleep) and LocalRateLimiter's budget."""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterator

import pytest

from wecom_kf_async import (
    AdaptiveThrottle,
    LocalRateLimiter,
    RateLimiter,
    TwoPhaseLimiter,
    is_testing,
    set_testing,
)

from .conftest import FakeClock, FakeSleep

DECREASE = 0.5
INCREASE = 1.25
MIN_RATE = 1.0
COOLDOWN = 2.0


@pytest.fixture(autouse=True)
def _real_waits() -> Iterator[None]:
    """Test mode skips the throttle's waits; these tests need them, so switch it off."""
    previous = is_testing()
    set_testing(False)
    yield
    set_testing(previous)


def _throttle(clock: FakeClock, sleep: FakeSleep) -> AdaptiveThrottle:
    return AdaptiveThrottle(
        clock=clock,
        sleep=sleep,
        decrease=DECREASE,
        increase=INCREASE,
        min_rate=MIN_RATE,
        cooldown=COOLDOWN,
    )


async def _send_evenly(
    throttle: AdaptiveThrottle, clock: FakeClock, count: int, span: float
) -> None:
    """Send *count* calls spread evenly over *span* seconds, the last one at the end."""
    step = span / count
    for i in range(count):
        if i:
            clock.now += step
        await throttle.acquire()


async def test_no_cap_initially() -> None:
    """Before any throttle answer, acquire never sleeps and the rate is None."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    throttle = _throttle(clock, sleep)
    for _ in range(1000):
        await throttle.acquire()
    throttle.on_success()
    assert sleep.waits == []
    assert throttle.rate is None


async def test_throttle_caps_at_half_the_measured_rate() -> None:
    """After on_throttle the cap is ``decrease`` times the sends of the last second."""
    clock = FakeClock()
    throttle = _throttle(clock, FakeSleep(clock))
    await _send_evenly(throttle, clock, 40, span=0.975)  # 40 sends within one second
    throttle.on_throttle()
    assert throttle.rate is not None
    assert DECREASE * 39 <= throttle.rate <= DECREASE * 40


async def test_measured_rate_only_counts_the_last_second() -> None:
    """Sends older than one second do not count toward the measured rate."""
    clock = FakeClock()
    throttle = _throttle(clock, FakeSleep(clock))
    for _ in range(200):
        await throttle.acquire()
    clock.now += 5.0
    await _send_evenly(throttle, clock, 10, span=0.9)
    throttle.on_throttle()
    assert throttle.rate is not None
    assert DECREASE * 9 <= throttle.rate <= DECREASE * 10


async def test_throttle_never_goes_below_the_floor() -> None:
    """With hardly any recent sends, the cap is the configured minimum rate."""
    clock = FakeClock()
    throttle = _throttle(clock, FakeSleep(clock))
    await throttle.acquire()
    throttle.on_throttle()
    assert throttle.rate == MIN_RATE


async def test_capped_acquire_spaces_sends_one_over_rate_apart() -> None:
    """Under a cap, consecutive sends are 1/rate apart, as the fake sleeps show."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    throttle = _throttle(clock, sleep)
    await _send_evenly(throttle, clock, 40, span=0.975)
    throttle.on_throttle()
    rate = throttle.rate
    assert rate is not None
    send_times = []
    for _ in range(10):
        await throttle.acquire()
        send_times.append(clock.now)
    assert len(sleep.waits) >= 9
    for wait in sleep.waits:
        assert wait == pytest.approx(1.0 / rate)
    gaps = [b - a for a, b in itertools.pairwise(send_times)]
    for gap in gaps:
        assert gap == pytest.approx(1.0 / rate)


async def test_concurrent_acquirers_get_distinct_slots() -> None:
    """Callers acquiring at the same instant under a cap go 1/rate apart, in arrival order."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    throttle = _throttle(clock, sleep)
    await _send_evenly(throttle, clock, 20, span=0.95)
    throttle.on_throttle()
    rate = throttle.rate
    assert rate is not None
    order: list[tuple[int, float]] = []

    async def send(index: int) -> None:
        await throttle.acquire()
        order.append((index, clock.now))

    await asyncio.gather(*(send(i) for i in range(6)))
    assert [index for index, _ in order] == list(range(6))
    times = [at for _, at in order]
    assert len(sleep.waits) == 5  # the first caller takes the free slot at once
    for gap in (b - a for a, b in itertools.pairwise(times)):
        assert gap == pytest.approx(1.0 / rate)


async def test_testing_mode_skips_the_waits() -> None:
    """In test mode a capped acquire returns without sleeping."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    throttle = _throttle(clock, sleep)
    await _send_evenly(throttle, clock, 40, span=0.975)
    throttle.on_throttle()
    assert throttle.rate is not None
    set_testing(True)
    for _ in range(10):
        await throttle.acquire()
    assert sleep.waits == []


async def test_throttle_answers_within_half_a_second_count_once() -> None:
    """Several throttle answers of one burst (within 0.5 s) lower the cap only once."""
    clock = FakeClock()
    throttle = _throttle(clock, FakeSleep(clock))
    await _send_evenly(throttle, clock, 40, span=0.975)
    throttle.on_throttle()
    first = throttle.rate
    for dt in (0.1, 0.2, 0.15):  # 0.45 s after the first answer in total
        clock.now += dt
        throttle.on_throttle()
        assert throttle.rate == first
    clock.now += 0.1  # now 0.55 s after the first answer
    throttle.on_throttle()
    assert throttle.rate is not None
    assert first is not None
    assert throttle.rate < first


async def test_success_raises_cap_only_after_cooldown_and_then_lifts_it() -> None:
    """on_success raises the cap by ``increase`` per cool-down, and lifts it at the ceiling."""
    clock = FakeClock()
    throttle = _throttle(clock, FakeSleep(clock))
    await _send_evenly(throttle, clock, 40, span=0.975)
    throttle.on_throttle()
    capped = throttle.rate
    assert capped is not None
    ceiling = capped / DECREASE

    # within the cool-down nothing changes
    for _ in range(10):
        clock.now += COOLDOWN / 20
        throttle.on_success()
        assert throttle.rate == capped

    rates = [capped]
    max_steps = math.ceil(math.log(ceiling / capped) / math.log(INCREASE)) + 1
    for _ in range(max_steps):
        clock.now += COOLDOWN * 1.05
        throttle.on_success()
        # a second success right after does not raise the cap again
        before = throttle.rate
        clock.now += COOLDOWN / 10
        throttle.on_success()
        assert throttle.rate == before
        if throttle.rate is None:
            break
        assert throttle.rate == pytest.approx(rates[-1] * INCREASE)
        assert throttle.rate < ceiling
        rates.append(throttle.rate)
    assert throttle.rate is None
    assert len(rates) >= 2


async def test_throttle_during_recovery_restarts_the_cooldown() -> None:
    """A new throttle answer during recovery blocks increases for another cool-down."""
    clock = FakeClock()
    throttle = _throttle(clock, FakeSleep(clock))
    await _send_evenly(throttle, clock, 40, span=0.975)
    throttle.on_throttle()
    clock.now += COOLDOWN * 1.05
    throttle.on_success()
    raised = throttle.rate
    clock.now += 1.0
    throttle.on_throttle()
    lowered = throttle.rate
    assert lowered is not None
    assert raised is not None
    assert lowered < raised
    clock.now += COOLDOWN / 2
    throttle.on_success()
    assert throttle.rate == lowered


@pytest.mark.parametrize("bad", [0, 0.0, -1, -0.5, True, False, "10", None, float("nan")])
def test_local_limiter_rejects_bad_rates(bad: object) -> None:
    """LocalRateLimiter rejects zero, negative, bool, str, None and NaN rates with ValueError."""
    with pytest.raises(ValueError, match="rate"):
        LocalRateLimiter(bad)  # type: ignore[arg-type]


def test_local_limiter_rejects_infinite_rate_with_value_error() -> None:
    """An infinite rate is refused with the same ValueError, not an arithmetic crash."""
    with pytest.raises(ValueError, match="rate"):
        LocalRateLimiter(float("inf"))


RATES = [0.5, 1, 2, 10, 100, 1000, 10000]


def _greedy_call_times(burst: float, drain_rate: float, seconds: float) -> list[float]:
    """Times of calls made as early as the bucket's rule allows, from an empty bucket.

    The bucket lets a call through when ``level + 1 <= max_rate`` (``max_rate`` is the
    burst) and the level leaks at ``drain_rate`` per second.
    """
    times: list[float] = []
    level, now = 0.0, 0.0
    while now <= seconds:
        if level + 1 > burst:
            wait = (level + 1 - burst) / drain_rate
            now += wait
            level = burst - 1
        times.append(now)
        level += 1
    return times


def _most_calls_in_a_window(times: list[float], window: float) -> int:
    """The largest number of calls any closed window of *window* seconds holds."""
    most = 0
    j = 0
    for i, start in enumerate(times):
        j = max(j, i)
        while j + 1 < len(times) and times[j + 1] <= start + window + 1e-9:
            j += 1
        most = max(most, j - i + 1)
    return most


@pytest.mark.parametrize("rate", [r for r in RATES if r >= 1])
def test_no_one_second_window_exceeds_the_rate(rate: float) -> None:
    """With the limiter's burst and drain, no 1-second window can hold more than ``rate`` calls."""
    limiter = LocalRateLimiter(rate)
    assert limiter.burst >= 1
    assert limiter.drain_rate > 0
    times = _greedy_call_times(limiter.burst, limiter.drain_rate, seconds=5.0)
    assert _most_calls_in_a_window(times, 1.0) <= rate


@pytest.mark.parametrize("rate", [r for r in RATES if r < 1])
def test_sub_one_rates_space_calls_at_least_one_over_rate_apart(rate: float) -> None:
    """Below one call per second, calls go one at a time at least ``1 / rate`` s apart."""
    limiter = LocalRateLimiter(rate)
    assert limiter.burst == 1
    times = _greedy_call_times(limiter.burst, limiter.drain_rate, seconds=20.0)
    assert _most_calls_in_a_window(times, 1.0) == 1
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 / rate - 1e-9


@pytest.mark.parametrize("rate", [r for r in RATES if r >= 100])
def test_high_rates_keep_most_of_the_throughput(rate: float) -> None:
    """For rate >= 100 the long-run drain rate is at least 95% of the configured rate."""
    assert LocalRateLimiter(rate).drain_rate >= 0.95 * rate


def test_local_limiter_is_a_rate_limiter() -> None:
    """LocalRateLimiter and AdaptiveThrottle satisfy the RateLimiter protocol."""
    clock = FakeClock()
    assert isinstance(LocalRateLimiter(10), RateLimiter)
    assert isinstance(_throttle(clock, FakeSleep(clock)), RateLimiter)


async def test_local_limiter_on_an_injected_clock_follows_the_bucket_rule() -> None:
    """Acquires on a fake clock happen exactly when the bucket's rule first allows them."""
    clock = FakeClock(0.0)
    limiter = LocalRateLimiter(10, clock=clock, sleep=FakeSleep(clock))
    times = []
    for _ in range(25):
        await limiter.acquire()
        times.append(clock.now)
    expected = _greedy_call_times(limiter.burst, limiter.drain_rate, seconds=10.0)[:25]
    assert times == pytest.approx(expected)
    assert _most_calls_in_a_window(times, 1.0) <= 10


async def test_waiting_for_room_takes_nothing() -> None:
    """wait_ready() returns when there is room and leaves it there; take() uses it."""
    clock = FakeClock(0.0)
    limiter = LocalRateLimiter(1, clock=clock, sleep=FakeSleep(clock))
    assert isinstance(limiter, TwoPhaseLimiter)
    limiter.take()
    assert not limiter.has_room()
    await limiter.wait_ready()
    waited_until = clock.now
    assert waited_until > 0
    assert limiter.has_room()
    await limiter.wait_ready()  # still room: returns at once
    assert clock.now == waited_until
    limiter.take()
    assert not limiter.has_room()


async def test_throttle_waits_for_its_cap_without_taking_a_send() -> None:
    """Under a cap, wait_ready() sleeps until the next send is due; only take() spaces."""
    set_testing(False)
    clock = FakeClock(0.0)
    throttle = _throttle(clock, FakeSleep(clock))
    for _ in range(10):
        throttle.take()
    throttle.on_throttle()
    assert throttle.rate is not None
    throttle.take()
    assert not throttle.has_room()
    await throttle.wait_ready()
    assert throttle.has_room()
    due = clock.now
    await throttle.wait_ready()
    assert clock.now == due
