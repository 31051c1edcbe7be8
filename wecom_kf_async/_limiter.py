"""Client-side rate limiting: a strict calls-per-second limiter and adaptive slow-down."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from aiolimiter import AsyncLimiter

from ._constants import (
    ADAPTIVE_COOLDOWN,
    ADAPTIVE_DECREASE,
    ADAPTIVE_INCREASE,
    ADAPTIVE_MIN_RATE,
    LOGGER_NAME,
)
from ._retry import is_testing

__all__ = ["AdaptiveThrottle", "LocalRateLimiter", "RateLimiter"]

logger = logging.getLogger(LOGGER_NAME)


@runtime_checkable
class RateLimiter(Protocol):
    """Anything that can make a caller wait for its turn to send one request."""

    async def acquire(self) -> None:
        """Return when one more request may be sent."""


class LocalRateLimiter:
    """At most ``rate`` calls in any 1-second window, for the calls of one process.

    A leaky bucket (aiolimiter) holding ``burst = max(1, floor(rate / 50))`` calls and
    draining ``drain_rate = 0.98 * (rate + 1 - burst)`` per second. The calls in a
    half-open window of T seconds number fewer than ``burst + drain_rate * T`` (a call
    needs room for itself in the bucket), so a 1-second window holds at most
    ``rate`` calls, while a long run still achieves about 97% of ``rate``. Below one
    call per second, calls are spaced about ``1 / rate`` seconds apart.
    """

    def __init__(self, rate: float) -> None:
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
        self._bucket = AsyncLimiter(burst, burst / drain)

    async def acquire(self) -> None:
        """Wait until one more call fits in the budget."""
        await self._bucket.acquire()

    def __repr__(self) -> str:
        return f"LocalRateLimiter(rate={self.rate!r})"


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

    async def acquire(self) -> None:
        """Wait for the next send slot when a cap is in force; record the send."""
        now = self._clock()
        self._recover(now)
        if self._rate is not None and not is_testing():
            async with self._gate:
                now = self._clock()
                self._recover(now)
                rate = self._rate
                if rate is not None:
                    if self._next_send > now:
                        await self._sleep(self._next_send - now)
                        now = self._clock()
                    self._next_send = max(now, self._next_send) + 1.0 / rate
        recent = self._recent
        recent.append(now)
        if len(recent) > 64 and recent[0] <= now - 1.0:
            self._measured_rate(now)

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
