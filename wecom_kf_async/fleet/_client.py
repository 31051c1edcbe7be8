"""``KfClient.for_fleet``: a client whose token and budgets a fleet shares on Redis."""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from typing import Any, TypeVar

from .._limiter import RateLimiter
from . import _redis
from .limiter import RedisRateLimiter
from .tokens import RedisTokenStore

__all__ = ["fleet_client"]

_C = TypeVar("_C")


def fleet_client(
    cls: type[_C],
    redis: Any,
    *,
    corp_id: str,
    secret: str,
    rate_limit: float | None,
    rate_limits: Mapping[str, float | None] | None,
    namespace: str,
    lock_ttl: float,
    **options: Any,
) -> _C:
    """A *cls* (``KfClient``) on the fleet's Redis (see ``KfClient.for_fleet``)."""
    if {"token_store", "rate_limiter", "limiter_factory"} & set(options):
        raise TypeError("for_fleet sets token_store and the rate limiters itself")
    client_of_fleet, owned = _redis.open_client(redis)
    store = RedisTokenStore(
        client_of_fleet,
        namespace=namespace,
        lock_ttl=lock_ttl,
        clock=options.get("clock", time.time),
        monotonic=options.get("monotonic", time.monotonic),
    )

    def shared_limiter(path: str, rate: float) -> RateLimiter:
        return RedisRateLimiter(
            client_of_fleet, rate, name=f"{corp_id}:{path}", namespace=namespace
        )

    client = cls(  # type: ignore[call-arg]
        corp_id=corp_id,
        secret=secret,
        rate_limit=rate_limit,
        rate_limits=rate_limits,
        limiter_factory=shared_limiter,
        token_store=store,
        **options,
    )
    if owned:
        client._closers.append(functools.partial(_redis.close, client_of_fleet))  # type: ignore[attr-defined]
    return client
