"""Fleet mode: one access token and one rate budget shared on Redis by many processes.

WeCom gives a corp one budget, whatever number of processes call it. This module
shares the token cache, the refresh and the calls-per-second budget through Redis:

- :class:`RedisTokenStore` caches the token where every process sees it, and makes
  sure one process, not each of them, calls ``gettoken`` when it is due.
- :class:`RedisRateLimiter` hands out send slots, spaced by Redis' own clock, to
  every process that shares the budget.
- :class:`RedisCursorStore` keeps every account's ``sync_msg`` cursor and lets one
  process at a time consume an account (a lease, taken over after a crash).
- :class:`RedisCallbackTokens` remembers the callback Tokens the fleet pulled with,
  so a callback WeCom repeats to another (or a restarted) worker is not pulled twice.

Each takes a URL (:func:`connect`: one server, ``redis+cluster://`` or
``redis+sentinel://``) or a client of any kind, which stays the caller's. The token
store and the limiter fall back to in-process behaviour while Redis is unreachable
(one warning per outage; a cluster or Sentinel in failover counts as unreachable)
and go back to Redis when it answers again.
:meth:`KfClient.for_fleet <wecom_kf_async.KfClient.for_fleet>` wires both in one
line.

Needs the ``redis`` extra: ``pip install 'wecom_kf_async[redis]'``.
"""

from __future__ import annotations

from .._constants import DEFAULT_LOCK_TTL
from ._redis import (
    DEFAULT_NAMESPACE,
    DEFAULT_RECHECK_INTERVAL,
    DEFAULT_SHARED_HEADROOM,
    close,
    connect,
)
from .callbacks import DEFAULT_CALLBACK_TOKEN_TTL, RedisCallbackTokens
from .cursors import DEFAULT_LEASE_TTL, RedisCursorLease, RedisCursorStore
from .limiter import RedisRateLimiter
from .tickets import RedisSuiteTicketStore
from .tokens import RedisTokenStore

__all__ = [
    "DEFAULT_CALLBACK_TOKEN_TTL",
    "DEFAULT_LEASE_TTL",
    "DEFAULT_LOCK_TTL",
    "DEFAULT_NAMESPACE",
    "DEFAULT_RECHECK_INTERVAL",
    "DEFAULT_SHARED_HEADROOM",
    "RedisCallbackTokens",
    "RedisCursorLease",
    "RedisCursorStore",
    "RedisRateLimiter",
    "RedisSuiteTicketStore",
    "RedisTokenStore",
    "close",
    "connect",
]
