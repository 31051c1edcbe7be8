"""Rate budgets per endpoint: WeCom counts its limits per API, and so does the client."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

from ._endpoints import ENDPOINTS, EXTRA_BUDGETS, Endpoint
from ._limiter import AdaptiveThrottle, LocalRateLimiter, RateLimiter
from .instrumentation._hooks import Hooks
from .instrumentation.events import ThrottleChanged

__all__ = ["Budgets", "LimiterFactory", "check_rate", "check_rate_limits"]

#: Makes the limiter that enforces one path's budget: ``(path, calls per second)``.
LimiterFactory = Callable[[str, float], RateLimiter]


def check_rate(name: str, rate: object) -> float | None:
    """A budget in calls per second (``None``: no limit); anything else raises."""
    if rate is None:
        return None
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate < math.inf:
        raise ValueError(f"{name} must be a positive number of calls per second, got {rate!r}")
    return float(rate)


def check_rate_limits(rate_limits: Mapping[str, float | None] | None) -> dict[str, float | None]:
    """Per-path overrides, each path one the library knows (a typo raises)."""
    if rate_limits is None:
        return {}
    if not isinstance(rate_limits, Mapping):
        raise TypeError(
            f"rate_limits must map endpoint paths to calls per second, got "
            f"{type(rate_limits).__name__}"
        )
    checked: dict[str, float | None] = {}
    for path, rate in rate_limits.items():
        if path not in ENDPOINTS and path not in EXTRA_BUDGETS:
            known = ", ".join([*ENDPOINTS, *EXTRA_BUDGETS])
            raise ValueError(f"rate_limits names an unknown endpoint {path!r}; known: {known}")
        checked[path] = check_rate(f"rate_limits[{path!r}]", rate)
    return checked


class Budgets:
    """The limiters and the adaptive slow-down of each endpoint, made on first use.

    A budget is named by its path (or, for calls of one path that WeCom limits
    differently, by the row's ``budget``, e.g. ``kf/sync_msg:no_token``). Its rate is
    its entry in ``rate_limits`` if it has one (``None`` there means no limit), else
    the endpoint row's own default if stricter than ``rate_limit``, else
    ``rate_limit``. A burst on one endpoint, and WeCom's 45009
    answers to it, slow that endpoint only.
    """

    def __init__(
        self,
        *,
        rate_limit: float | None,
        rate_limits: Mapping[str, float | None],
        factory: LimiterFactory = lambda _path, rate: LocalRateLimiter(rate),
        shared: RateLimiter | None = None,
        monotonic: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        hooks: Hooks | None = None,
    ) -> None:
        self._hooks = hooks
        self.rate_limit = rate_limit
        #: Per-path overrides, as given.
        self.rate_limits: Mapping[str, float | None] = MappingProxyType(dict(rate_limits))
        self._factory = factory
        self._shared = shared
        self._monotonic = monotonic
        self._sleep = sleep
        self._limiters: dict[str, tuple[RateLimiter, ...]] = {}
        self._throttles: dict[str, AdaptiveThrottle] = {}

    def rate_for(self, endpoint: Endpoint) -> float | None:
        """Calls per second allowed on *endpoint*'s budget (``None``: no limit)."""
        if endpoint.budget_key in self.rate_limits:
            return self.rate_limits[endpoint.budget_key]
        own, default = endpoint.rate_limit, self.rate_limit
        if own is not None and (default is None or own < default):
            return own
        return default

    def limiters(self, endpoint: Endpoint) -> tuple[RateLimiter, ...]:
        """What a call to *endpoint* waits on before it is sent, in order."""
        key = endpoint.budget_key
        found = self._limiters.get(key)
        if found is None:
            rate = self.rate_for(endpoint)
            own = () if rate is None else (self._factory(key, rate),)
            shared = () if self._shared is None else (self._shared,)
            found = self._limiters[key] = own + shared
        return found

    def throttle(self, path: str) -> AdaptiveThrottle:
        """The adaptive slow-down of *path*, engaged by WeCom's 45009/45033 on it."""
        throttle = self._throttles.get(path)
        if throttle is None:
            throttle = self._throttles[path] = AdaptiveThrottle(
                clock=self._monotonic, sleep=self._sleep, on_change=self._reporter(path)
            )
        return throttle

    def _reporter(self, path: str) -> Callable[[float | None], None] | None:
        hooks = self._hooks
        if hooks is None or not hooks.wants(ThrottleChanged):
            return None

        def report(rate: float | None) -> None:
            hooks.emit(ThrottleChanged(path=path, rate=rate))

        return report

    @property
    def throttles(self) -> Mapping[str, AdaptiveThrottle]:
        """The throttles made so far, by path."""
        return MappingProxyType(self._throttles)

    def made(self) -> list[RateLimiter]:
        """Every limiter made so far, the shared one included (to close them)."""
        seen: dict[int, RateLimiter] = {}
        for limiters in self._limiters.values():
            for limiter in limiters:
                seen[id(limiter)] = limiter
        if self._shared is not None:
            seen[id(self._shared)] = self._shared
        return list(seen.values())
