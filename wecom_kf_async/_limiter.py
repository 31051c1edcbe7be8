"""Client-side rate limiting: a strict calls-per-second limiter and adaptive slow-down."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from ._constants import (
    ADAPTIVE_COOLDOWN,
    ADAPTIVE_DECREASE,
    ADAPTIVE_INCREASE,
    ADAPTIVE_MIN_RATE,
    LOGGER_NAME,
)
from ._retry import is_testing

__all__ = ["AdaptiveThrottle", "LocalRateLimiter", "RateLimiter", "TwoPhaseLimiter"]

logger = logging.getLogger(LOGGER_NAME)


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that can make a caller wait for its turn to send one request."""

    async def acquire(self) -> None:
        """Return when one more request may be sent."""


@runtime_checkable
class TwoPhaseLimiter(Protocol):
    """A limiter that can wait for room without taking it, then take it at once.

    The client waits for room first, then takes a concurrency slot, then takes the
    room (with no ``await`` between checking and taking), so a call is counted
    against its budget at the moment it is sent, and waiting for a budget holds no
    slot another endpoint needs. A limiter with only :meth:`RateLimiter.acquire`
    (a fleet's) is acquired before the slot instead.
    """

    async def wait_ready(self) -> None:
        """Return when :meth:`has_room` would be true (taking nothing)."""

    def has_room(self) -> bool:
        """Whether one more call may be sent now."""

    def take(self) -> None:
        """Count one call sent now (call right after :meth:`has_room` said yes)."""


class LocalRateLimiter:
    """At most ``rate`` calls in any 1-second window, for the calls of one process.

    A leaky bucket holding ``burst = max(1, floor(rate / 50))`` calls and draining
    ``drain_rate = 0.98 * (rate + 1 - burst)`` per second; a call fits when the
    bucket's level plus one is at most ``burst``. The calls in a half-open window of
    T seconds number fewer than ``burst + drain_rate * T``, so a 1-second window
    holds at most ``rate`` calls, while a long run still achieves about 97% of
    ``rate``. Below one call per second, calls are spaced about ``1 / rate`` seconds
    apart.

    It is a :class:`TwoPhaseLimiter` (the bucket is ours rather than aiolimiter's
    because the client must wait for room without taking it); :meth:`acquire`
    serves other callers, in arrival order. ``clock`` (monotonic seconds) and
    ``sleep`` default to the running event loop's.
    """

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < math.inf:
            raise ValueError(
                f"rate_limit must be a positive number of calls per second, got {rate!r}"
            )
        self.rate = float(rate)
        burst = max(1.0, float(math.floor(self.rate / 50)))
        drain = 0.98 * (self.rate + 1.0 - burst)
        #: Calls the bucket lets through at once.
        self.burst = burst
        #: Calls per second the bucket lets through over a long run.
        self.drain_rate = drain
        self._clock = clock
        self._sleep = sleep
        self._level = 0.0
        self._last = -math.inf
        # FIFO and cancellation-safe, for acquire()'s callers only.
        self._gate = asyncio.Lock()

    def _now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    def _leak(self, now: float) -> float:
        """The bucket's level at *now* (time never runs backwards for it)."""
        if now > self._last:
            self._level = max(0.0, self._level - (now - self._last) * self.drain_rate)
            self._last = now
        return self._level

    def has_room(self) -> bool:
        """Whether one more call fits now."""
        return self._leak(self._now()) + 1.0 <= self.burst + _ROOM_TOLERANCE

    def take(self) -> None:
        """Count one call now."""
        self._leak(self._now())
        self._level += 1.0

    async def wait_ready(self) -> None:
        """Wait until one more call fits (taking nothing)."""
        while True:
            excess = self._leak(self._now()) + 1.0 - self.burst
            if excess <= _ROOM_TOLERANCE:
                return
            await self._sleep(excess / self.drain_rate)

    async def acquire(self) -> None:
        """Wait until one more call fits in the budget, and count it."""
        async with self._gate:
            await self.wait_ready()
            self.take()

    def __repr__(self) -> str:
        return f"LocalRateLimiter(rate={self.rate!r})"


#: Room a bucket may lack and still count as having room (float rounding after a
#: sleep computed to end exactly when there is room).
_ROOM_TOLERANCE = 1e-9


class AdaptiveThrottle:
    """Slows the client's own sending after WeCom throttles it (45009, 45033).

    On a throttle answer the client caps its send rate at half of what it was
    achieving over the last second (never below a floor). Once the server has been
    quiet for a cool-down, the cap rises by a quarter per further cool-down, with
    time alone (no call needs to succeed: the calls that the higher cap lets
    through are the probes), until it reaches the rate at which throttling began
    and is lifted. In the spirit of botocore's "adaptive" retry mode.

    Callers under a cap queue in arrival order and go one ``1 / rate`` apart; a
    slot is taken only when its caller actually goes, so a caller that gives up
    (cancelled, timed out) leaves nothing behind for the next ones to wait out.
    ``clock`` must be monotonic; with ``sleep`` it is injectable, and test mode
    (:func:`set_testing`) skips the waiting.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        decrease: float = ADAPTIVE_DECREASE,
        increase: float = ADAPTIVE_INCREASE,
        min_rate: float = ADAPTIVE_MIN_RATE,
        cooldown: float = ADAPTIVE_COOLDOWN,
        on_change: Callable[[float | None], None] | None = None,
    ) -> None:
        self._on_change = on_change
        self._clock = clock
        self._sleep = sleep
        self._decrease = decrease
        self._increase = increase
        self._min_rate = min_rate
        self._cooldown = cooldown
        self._rate: float | None = None
        self._ceiling = math.inf
        self._next_send = -math.inf
        self._last_throttle = -math.inf
        self._last_change = -math.inf
        self._recent: deque[float] = deque()
        # FIFO and cancellation-safe: a waiter that leaves simply is not there.
        self._gate = asyncio.Lock()

    @property
    def rate(self) -> float | None:
        """The current cap in calls per second, or ``None`` when not throttled."""
        return self._rate

    def _measured_rate(self, now: float) -> float:
        recent = self._recent
        while recent and recent[0] <= now - 1.0:
            recent.popleft()
        return float(len(recent))

    def _recover(self, now: float) -> None:
        """Raise the cap by ``increase`` per cool-down the server has been quiet."""
        rate = self._rate
        if rate is None:
            return
        steps = math.floor((now - max(self._last_throttle, self._last_change)) / self._cooldown)
        if steps < 1:
            return
        rate *= self._increase ** min(steps, 64)
        self._last_change = now
        if rate >= self._ceiling:
            self._rate = None
            logger.info("WeCom stopped throttling; the adaptive cap is lifted")
        else:
            self._rate = rate
            logger.debug("raising the adaptive cap to %.1f calls/s", rate)
        if self._on_change is not None:
            self._on_change(self._rate)

    def _capped(self, now: float) -> float | None:
        """The cap in force (``None``: none, or test mode); with *now*, after recovery."""
        self._recover(now)
        return None if is_testing() else self._rate

    async def wait_ready(self) -> None:
        """Wait until the cap (if any) lets one more call go, taking nothing."""
        now = self._clock()
        if self._capped(now) is not None and self._next_send > now:
            await self._sleep(self._next_send - now)

    def has_room(self) -> bool:
        """Whether the cap (if any) lets one more call go now."""
        return self._rate is None or is_testing() or self._next_send <= self._clock()

    def take(self) -> None:
        """Record a send now (it also measures the rate a throttle answer halves).

        The spacing uses the cap that was in force while the caller waited; a
        recovery that came due meanwhile applies from the next caller on.
        """
        now = self._clock()
        if self._rate is not None and not is_testing():
            self._next_send = max(now, self._next_send) + 1.0 / self._rate
        recent = self._recent
        recent.append(now)
        if len(recent) > 64 and recent[0] <= now - 1.0:
            self._measured_rate(now)

    async def acquire(self) -> None:
        """Wait for the next send slot when a cap is in force; record the send."""
        async with self._gate:
            await self.wait_ready()
            self.take()

    def on_throttle(self) -> None:
        """WeCom answered 45009/45033: lower the cap."""
        now = self._clock()
        self._last_throttle = now
        if now - self._last_change < 0.5:
            return  # the answers of one burst count once
        measured = max(self._measured_rate(now), self._min_rate)
        if self._rate is None:
            self._ceiling = measured
        current = measured if self._rate is None else min(self._rate, measured)
        self._rate = max(self._min_rate, current * self._decrease)
        self._last_change = now
        logger.warning("WeCom is throttling; sending at most %.1f calls/s for now", self._rate)
        if self._on_change is not None:
            self._on_change(self._rate)

    def on_success(self) -> None:
        """A call succeeded: apply the recovery that the quiet time so far has earned."""
        if self._rate is not None:
            self._recover(self._clock())
