"""Tests for RetryPolicy's backoff, test mode, and retrying_call with fake time."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest
import tenacity

from wecom_kf_async import (
    ConfigurationError,
    InvalidRequestError,
    RateLimitedError,
    RequestTimeoutError,
    RetryPolicy,
    ServerBusyError,
    UpstreamHTTPError,
    is_testing,
    set_testing,
)
from wecom_kf_async._retry import retrying_call

from .conftest import FakeClock, FakeSleep

BASE, CAP = 0.25, 8.0
T_BASE, T_CAP = 1.0, 30.0
POLICY = RetryPolicy(
    backoff_base=BASE, backoff_cap=CAP, throttle_backoff_base=T_BASE, throttle_backoff_cap=T_CAP
)
DRAWS = 300


@pytest.fixture
def real_backoff() -> Iterator[None]:
    """Switch test mode off for one test and restore whatever it was afterwards."""
    previous = is_testing()
    set_testing(False)
    yield
    set_testing(previous)


@pytest.fixture
def testing_mode() -> Iterator[None]:
    """Switch test mode on for one test and restore whatever it was afterwards."""
    previous = is_testing()
    set_testing(True)
    yield
    set_testing(previous)


@pytest.mark.usefixtures("real_backoff")
@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6, 7, 8, 12])
def test_full_jitter_stays_within_bounds(attempt: int) -> None:
    """Transient-error waits lie in [0, min(cap, base * 2**(attempt-1))] and really vary."""
    bound = min(CAP, BASE * 2 ** (attempt - 1))
    rng = random.Random(attempt)
    draws = [POLICY.backoff(attempt, ServerBusyError(-1, "busy"), rng) for _ in range(DRAWS)]
    assert all(0.0 <= w <= bound for w in draws)
    assert len(set(draws)) > DRAWS // 2  # jitter, not a fixed wait
    assert max(draws) > 0.8 * bound  # full jitter reaches up to the bound
    assert min(draws) < 0.2 * bound  # ... and down towards zero


@pytest.mark.usefixtures("real_backoff")
def test_transport_errors_use_the_transient_pair() -> None:
    """A timeout (no Retry-After) backs off like a transient errcode."""
    rng = random.Random(7)
    draws = [POLICY.backoff(1, RequestTimeoutError("t"), rng) for _ in range(DRAWS)]
    assert all(0.0 <= w <= BASE for w in draws)
    draws = [POLICY.backoff(2, UpstreamHTTPError(502), rng) for _ in range(DRAWS)]
    assert all(0.0 <= w <= 2 * BASE for w in draws)


@pytest.mark.usefixtures("real_backoff")
@pytest.mark.parametrize("attempt", [1, 2, 3, 5, 6, 9])
def test_throttle_errors_use_the_throttle_pair(attempt: int) -> None:
    """Throttle errors wait within [0, min(throttle_cap, throttle_base * 2**(attempt-1))]."""
    bound = min(T_CAP, T_BASE * 2 ** (attempt - 1))
    normal_bound = min(CAP, BASE * 2 ** (attempt - 1))
    rng = random.Random(100 + attempt)
    exc = RateLimitedError(45009, "api freq out of limit")
    draws = [POLICY.backoff(attempt, exc, rng) for _ in range(DRAWS)]
    assert all(0.0 <= w <= bound for w in draws)
    assert max(draws) > normal_bound  # longer than the transient pair allows
    assert len(set(draws)) > DRAWS // 2


@pytest.mark.usefixtures("real_backoff")
@pytest.mark.parametrize("attempt", [1, 4])
def test_retry_after_is_honoured(attempt: int) -> None:
    """An UpstreamHTTPError with Retry-After waits exactly that long, whatever the attempt."""
    exc = UpstreamHTTPError(503, retry_after=7.5)
    assert POLICY.backoff(attempt, exc, random.Random(0)) == 7.5
    assert POLICY.backoff(attempt, UpstreamHTTPError(429, retry_after=0.0), random.Random(0)) == 0


@pytest.mark.usefixtures("real_backoff")
def test_retry_after_is_capped() -> None:
    """A Retry-After longer than the throttle cap is cut to the throttle cap."""
    exc = UpstreamHTTPError(503, retry_after=3600.0)
    assert POLICY.backoff(1, exc, random.Random(0)) == T_CAP


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"attempts": -2},
        {"attempts": True},
        {"attempts": 2.5},
        {"attempts": "3"},
        {"deadline": 0},
        {"deadline": -1.0},
        {"deadline": float("nan")},
        {"backoff_base": 0},
        {"backoff_base": -0.1},
        {"backoff_cap": 0.0},
        {"throttle_backoff_base": -1},
        {"throttle_backoff_cap": 0},
    ],
    ids=repr,
)
def test_bad_policy_values_are_rejected(kwargs: dict[str, object]) -> None:
    """RetryPolicy refuses non-positive times and attempts that are not an int >= 1."""
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    """A RetryPolicy cannot be changed after construction."""
    import attrs

    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        POLICY.attempts = 99  # type: ignore[misc]


@pytest.mark.usefixtures("testing_mode")
@pytest.mark.parametrize(
    "exc",
    [
        ServerBusyError(-1, "busy"),
        RateLimitedError(45033, "concurrency"),
        UpstreamHTTPError(503, retry_after=20.0),
        RequestTimeoutError("t"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_testing_mode_makes_every_backoff_zero(exc: Exception) -> None:
    """With set_testing(True) every wait is 0, Retry-After included."""
    assert is_testing() is True
    rng = random.Random(3)
    assert all(POLICY.backoff(n, exc, rng) == 0.0 for n in range(1, 10))


def test_set_testing_round_trips(real_backoff: None) -> None:
    """set_testing switches is_testing on and off."""
    assert is_testing() is False
    set_testing(True)
    assert is_testing() is True
    set_testing(False)
    assert is_testing() is False


class FlakyCall:
    """A call that raises the given errors in turn (fresh objects), then returns 'done'."""

    def __init__(self, errors: list[Exception], clock: FakeClock, duration: float = 0.0) -> None:
        self.errors = list(errors)
        self.raised: list[Exception] = []
        self.calls = 0
        self.clock = clock
        self.duration = duration

    async def __call__(self) -> str:
        self.calls += 1
        self.clock.now += self.duration
        await asyncio.sleep(0)
        if self.errors:
            exc = self.errors.pop(0)
            self.raised.append(exc)
            raise exc
        return "done"


async def _run(call: FlakyCall, policy: RetryPolicy, clock: FakeClock, sleep: FakeSleep) -> str:
    return await retrying_call(
        call,
        policy=policy,
        path="kf/customer/batchget",
        clock=clock,
        sleep=sleep,
        rng=random.Random(42),
    )


@pytest.mark.usefixtures("real_backoff")
async def test_retries_retryable_error_up_to_attempts() -> None:
    """A call that keeps failing retryably is tried ``attempts`` times; the last error surfaces."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    call = FlakyCall([ServerBusyError(-1, f"busy #{i}") for i in range(10)], clock)
    policy = RetryPolicy(attempts=4, deadline=1000.0, backoff_base=BASE, backoff_cap=CAP)
    with pytest.raises(ServerBusyError) as info:
        await _run(call, policy, clock, sleep)
    assert call.calls == 4
    assert info.value is call.raised[-1]
    assert not isinstance(info.value, tenacity.RetryError)
    assert len(sleep.waits) == 3
    for n, wait in enumerate(sleep.waits, start=1):
        assert 0.0 <= wait <= min(CAP, BASE * 2 ** (n - 1))


@pytest.mark.usefixtures("real_backoff")
async def test_succeeds_after_transient_failures() -> None:
    """Transient errors followed by success return the call's value."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    call = FlakyCall(
        [ServerBusyError(6000, "conflict"), RequestTimeoutError("t"), UpstreamHTTPError(502)],
        clock,
    )
    assert await _run(call, RetryPolicy(attempts=5), clock, sleep) == "done"
    assert call.calls == 4
    assert len(sleep.waits) == 3


@pytest.mark.usefixtures("real_backoff")
@pytest.mark.parametrize(
    "exc",
    [
        InvalidRequestError(40058, "invalid parameter"),
        ConfigurationError(40001, "invalid secret"),
        ValueError("a bug"),
    ],
    ids=lambda e: type(e).__name__,
)
async def test_non_retryable_error_stops_at_once(exc: Exception) -> None:
    """A non-retryable error is raised after one try, without any wait."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    call = FlakyCall([exc, ServerBusyError(-1, "x")], clock)
    with pytest.raises(type(exc)) as info:
        await _run(call, RetryPolicy(attempts=5), clock, sleep)
    assert info.value is exc
    assert call.calls == 1
    assert sleep.waits == []


@pytest.mark.usefixtures("real_backoff")
async def test_deadline_stops_retries_using_the_injected_clock() -> None:
    """Tries stop once the next one would start past the deadline, measured on the fake clock."""
    clock = FakeClock()
    start = clock.now
    sleep = FakeSleep(clock)
    # every try takes 3 s of fake time; waits are at most 0.01 * 2**(n-1) s
    call = FlakyCall([ServerBusyError(-1, f"busy #{i}") for i in range(50)], clock, duration=3.0)
    policy = RetryPolicy(attempts=50, deadline=10.0, backoff_base=0.01, backoff_cap=0.05)
    with pytest.raises(ServerBusyError) as info:
        await _run(call, policy, clock, sleep)
    # tries end at about 3, 6, 9 (next wait still within 10 s) and 12 (past it): 4 tries
    assert call.calls == 4
    assert info.value is call.raised[-1]
    assert len(sleep.waits) == 3
    assert clock.now - start == pytest.approx(12.0 + sum(sleep.waits))


@pytest.mark.usefixtures("real_backoff")
async def test_wait_longer_than_the_deadline_is_not_slept() -> None:
    """When the next wait alone would pass the deadline, the error is raised without sleeping."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    call = FlakyCall([UpstreamHTTPError(503, retry_after=25.0)] * 3, clock)
    policy = RetryPolicy(attempts=5, deadline=20.0)
    with pytest.raises(UpstreamHTTPError):
        await _run(call, policy, clock, sleep)
    assert call.calls == 1
    assert sleep.waits == []


@pytest.mark.usefixtures("testing_mode")
async def test_testing_mode_keeps_the_number_of_tries() -> None:
    """In test mode retries still happen, as many as the policy allows, with zero waits."""
    clock = FakeClock()
    sleep = FakeSleep(clock)
    call = FlakyCall([RateLimitedError(45009, f"limit #{i}") for i in range(10)], clock)
    with pytest.raises(RateLimitedError) as info:
        await _run(call, RetryPolicy(attempts=3), clock, sleep)
    assert call.calls == 3
    assert info.value is call.raised[-1]
    assert sleep.waits == [0.0, 0.0]
