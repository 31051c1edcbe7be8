"""Rate budgets per endpoint: WeCom counts its limits per API, and so does the client."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Mapping
from types import MappingProxyType

from ._endpoints import ENDPOINTS, EXTRA_BUDGETS, Endpoint
from ._limiter import AdaptiveThrottle, LocalRateLimiter, RateLimiter, TwoPhaseLimiter
from .instrumentation._hooks import Hooks
from .instrumentation.events import ThrottleChanged

__all__ = ["Admission", "Budgets", "LimiterFactory", "check_rate", "check_rate_limits"]

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


class Admission:
    """What a call to one budget waits on, sorted for the pipeline.

    ``gate`` lets one caller of the budget at a time wait for it (in arrival
    order), so at most one caller per budget holds room it has not used yet.
    ``before_slot`` are limiters that can only be acquired (a fleet's, or one of
    yours): they are acquired before a concurrency slot is taken. ``at_slot`` are
    :class:`TwoPhaseLimiter` s and the adaptive throttle: the caller waits for
    their room, takes a slot, then takes their room at once, or gives the slot
    back and waits again if another budget's caller took the room first.
    """

    __slots__ = ("at_slot", "before_slot", "gate", "limited", "throttle")

    def __init__(self, limiters: tuple[RateLimiter, ...], throttle: AdaptiveThrottle) -> None:
        self.gate = asyncio.Lock()
        self.throttle = throttle
        two_phase = tuple(x for x in limiters if isinstance(x, TwoPhaseLimiter))
        self.before_slot = tuple(x for x in limiters if not isinstance(x, TwoPhaseLimiter))
        self.at_slot: tuple[TwoPhaseLimiter, ...] = (*two_phase, throttle)
        #: Whether any limiter applies (the throttle alone counts only while capped).
        self.limited = bool(limiters)

    def must_wait(self) -> bool:
        """Whether a call must go through the gate (a budget, or a throttle cap)."""
        return self.limited or self.throttle.rate is not None

    def has_room(self) -> bool:
        """Whether every limiter taken at the slot has room now."""
        return all(limiter.has_room() for limiter in self.at_slot)

    def take(self) -> None:
        """Take the room of every limiter taken at the slot (no await: all or none)."""
        for limiter in self.at_slot:
            limiter.take()


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
        self._admissions: dict[str, Admission] = {}

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

    def admission(self, endpoint: Endpoint) -> Admission:
        """What a call to *endpoint* waits on, sorted for the pipeline (made once)."""
        found = self._admissions.get(endpoint.budget_key)
        if found is None:
            found = self._admissions[endpoint.budget_key] = Admission(
                self.limiters(endpoint), self.throttle(endpoint.path)
            )
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
