"""A provider's fleet on Redis: one suite token, one token per corp, shared tickets and budgets.

Every process of the fleet sees the same suite ticket (whichever worker WeCom
pushed it to), fetches the suite token once per expiry for the whole fleet, and
each corp's token once per expiry; each corp's budget per endpoint is one Redis
key, ``<namespace>:rate:{<corp_id>:<path>}``, so corps spread over a cluster.
"""

from __future__ import annotations

import functools
from typing import Any, TypeVar

from .._budgets import LimiterFactory
from .._constants import DEFAULT_FLEET_NAMESPACE, DEFAULT_RATE_LIMIT
from .._limiter import RateLimiter
from .suite import Suite

__all__ = ["fleet_provider"]

_P = TypeVar("_P")


def fleet_provider(
    cls: type[_P],
    redis: Any,
    *,
    suite_id: str,
    suite_secret: str,
    namespace: str = DEFAULT_FLEET_NAMESPACE,
    rate_limit: float | None = DEFAULT_RATE_LIMIT,
    **options: Any,
) -> _P:
    """A *cls* (:class:`~wecom_kf_async.providers.KfProvider`) sharing on Redis.

    Args:
        redis: A URL or a client of any kind (:func:`wecom_kf_async.fleet.connect`);
            a URL's client is closed with the provider, a client passed in is yours.
        suite_id: The third-party app's suite id.
        suite_secret: Its secret.
        namespace: Prefix of every key.
        rate_limit: Calls per second per corp and endpoint, for the whole fleet.
        options: Other :class:`~wecom_kf_async.providers.KfProvider` arguments.
    """
    from ..fleet import RedisRateLimiter, RedisSuiteTicketStore, RedisTokenStore, _redis

    client, owned = _redis.open_client(redis)
    tickets = RedisSuiteTicketStore(client, namespace=namespace)
    suite = Suite(suite_id, suite_secret, tickets=tickets)
    store = RedisTokenStore(client, namespace=namespace)

    def limiters(corp_id: str) -> LimiterFactory:
        def limiter(path: str, rate: float) -> RateLimiter:
            return RedisRateLimiter(client, rate, name=f"{corp_id}:{path}", namespace=namespace)

        return limiter

    client_options = {"rate_limit": rate_limit, **options.pop("client_options", {})}
    provider = cls(  # type: ignore[call-arg]
        suite=suite,
        token_store=store,
        limiters=limiters,
        client_options=client_options,
        **options,
    )
    if owned:
        provider._closers.append(functools.partial(_redis.close, client))  # type: ignore[attr-defined]
    return provider
