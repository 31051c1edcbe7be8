"""Retry policy on tenacity: capped exponential backoff with full jitter and a deadline."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import TypeVar

import attrs
import tenacity

from ._constants import (
    DEFAULT_ATTEMPTS,
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_CAP,
    DEFAULT_DEADLINE,
    DEFAULT_THROTTLE_BACKOFF_BASE,
    DEFAULT_THROTTLE_BACKOFF_CAP,
    LOGGER_NAME,
)
from ._errors import KfError, RateLimitedError, RequestTimeoutError, UpstreamHTTPError

__all__ = ["RetryPolicy", "is_testing", "retrying_call", "set_testing"]

_T = TypeVar("_T")
logger = logging.getLogger(LOGGER_NAME)


def _positive(_inst: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


def _at_least_one(_inst: object, attribute: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{attribute.name} must be an int >= 1, got {value!r}")


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How many times, and how patiently, a request is retried.

    Transient failures (errcode -1 and 6000, transport errors) wait a random time
    between 0 and ``min(backoff_cap, backoff_base * 2 ** (attempt - 1))`` (full
    jitter); throttling (45009, 45033) uses the ``throttle_*`` pair instead. A
    request stops after ``attempts`` tries or when the next wait would pass
    ``deadline`` seconds since its first try; an attempt still running when the
    deadline passes is cut off (:class:`RequestTimeoutError`), so ``deadline``
    bounds the whole call, waits for a token and for the rate limit included.
    """

    attempts: int = attrs.field(default=DEFAULT_ATTEMPTS, validator=_at_least_one)
    deadline: float = attrs.field(default=DEFAULT_DEADLINE, validator=_positive)
    backoff_base: float = attrs.field(default=DEFAULT_BACKOFF_BASE, validator=_positive)
    backoff_cap: float = attrs.field(default=DEFAULT_BACKOFF_CAP, validator=_positive)
    throttle_backoff_base: float = attrs.field(
        default=DEFAULT_THROTTLE_BACKOFF_BASE, validator=_positive
    )
    throttle_backoff_cap: float = attrs.field(
        default=DEFAULT_THROTTLE_BACKOFF_CAP, validator=_positive
    )

    def backoff(self, attempt: int, exc: BaseException | None, rng: random.Random) -> float:
        """Seconds to wait after failed try number *attempt* (1-based) ended with *exc*."""
        if _TESTING:
            return 0.0
        if isinstance(exc, UpstreamHTTPError) and exc.retry_after is not None:
            return min(exc.retry_after, self.throttle_backoff_cap)
        if isinstance(exc, RateLimitedError):
            base, cap = self.throttle_backoff_base, self.throttle_backoff_cap
        else:
            base, cap = self.backoff_base, self.backoff_cap
        return rng.uniform(0.0, min(cap, base * 2.0 ** (attempt - 1)))


_TESTING = False


def set_testing(testing: bool) -> None:
    """Switch test mode on or off for the whole process.

    In test mode every backoff wait is zero: retries still happen, in the same
    number, but your tests do not wait for them.
    """
    global _TESTING
    _TESTING = bool(testing)


def is_testing() -> bool:
    """Whether :func:`set_testing` switched test mode on."""
    return _TESTING


def _should_retry(exc: BaseException) -> bool:
    return isinstance(exc, KfError) and exc.retryable


async def retrying_call(
    call: Callable[[], Awaitable[_T]],
    *,
    policy: RetryPolicy,
    path: str,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    rng: random.Random,
    on_retry: Callable[[int, float, BaseException | None], None] | None = None,
) -> _T:
    """Run *call* until it succeeds, fails with a non-retryable error, or *policy* stops.

    *clock* must be monotonic: it measures the deadline between tries. The deadline
    also bounds the whole run in the event loop's time, the try in flight included
    (a server that drips its answer byte by byte cannot hold a call past it).
    """
    scope = asyncio.timeout(policy.deadline)
    try:
        async with scope:
            return await _retrying(
                call, policy=policy, path=path, clock=clock, sleep=sleep, rng=rng, on_retry=on_retry
            )
    except TimeoutError:
        if not scope.expired():
            raise
    raise RequestTimeoutError(
        f"{path} did not complete within the deadline of {policy.deadline}s",
        path=path,
        reason="deadline",
    )


async def _retrying(
    call: Callable[[], Awaitable[_T]],
    *,
    policy: RetryPolicy,
    path: str,
    clock: Callable[[], float],
    sleep: Callable[[float], Awaitable[None]],
    rng: random.Random,
    on_retry: Callable[[int, float, BaseException | None], None] | None,
) -> _T:
    """The retry loop of :func:`retrying_call`.

    The first try runs outside tenacity (most calls succeed at once, and building a
    retry loop per call costs more than the rest of the client's own work); its
    failure is handed to tenacity as try 1, which then waits and tries again.
    """
    start = clock()
    try:
        return await call()
    except Exception as exc:
        if policy.attempts == 1 or not _should_retry(exc):
            raise
        first: list[BaseException] = [exc]

    async def attempt() -> _T:
        if first:
            raise first.pop()
        return await call()

    def stop(state: tenacity.RetryCallState) -> bool:
        if state.attempt_number >= policy.attempts:
            return True
        upcoming = state.upcoming_sleep or 0.0
        return clock() - start + upcoming > policy.deadline

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return policy.backoff(state.attempt_number, exc, rng)

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None:
            on_retry(state.attempt_number, state.upcoming_sleep, exc)
        logger.info(
            "retrying %s after try %d failed with %s; waiting %.3fs",
            path,
            state.attempt_number,
            exc.__class__.__name__ if exc else "?",
            state.upcoming_sleep,
        )

    retrying = tenacity.AsyncRetrying(
        stop=stop,
        wait=wait,
        retry=tenacity.retry_if_exception(_should_retry),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    async for try_ in retrying:
        with try_:
            return await attempt()
    raise AssertionError("unreachable: tenacity re-raises or returns")  # pragma: no cover
