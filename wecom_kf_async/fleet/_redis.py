"""The Redis plumbing fleet mode shares: connecting, and telling an outage from a bug."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any

try:
    import redis.asyncio as aioredis
    from redis.asyncio.retry import Retry
    from redis.backoff import NoBackoff
    from redis.exceptions import AuthenticationError, AuthorizationError
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "fleet mode needs the redis package: pip install 'wecom_kf_async[redis]'"
    ) from exc


from .._constants import DEFAULT_FLEET_NAMESPACE, LOGGER_NAME

__all__ = [
    "DEFAULT_NAMESPACE",
    "DEFAULT_RECHECK_INTERVAL",
    "UNREACHABLE",
    "Redis",
    "RedisUnreachable",
    "check_namespace",
    "connect",
    "link_for",
    "open_client",
    "positive",
    "text",
]

logger = logging.getLogger(LOGGER_NAME)

#: Prefix of every Redis key the library writes.
DEFAULT_NAMESPACE = DEFAULT_FLEET_NAMESPACE
#: Seconds between attempts to reach Redis again while it is unreachable.
DEFAULT_RECHECK_INTERVAL = 1.0
#: First and longest pause of a process that waits for another one's refresh.
DEFAULT_POLL_INTERVAL = 0.02
DEFAULT_MAX_POLL_INTERVAL = 0.2
#: Share of the budget the shared limiter hands out, leaving room for the jitter
#: between a slot's time on Redis and the call's arrival at WeCom.
DEFAULT_SHARED_HEADROOM = 0.95

#: What "Redis is unreachable" looks like (anything else is a bug and propagates).
UNREACHABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)

#: Unreachable-looking errors that are really a configuration mistake: they raise.
MISCONFIGURED: tuple[type[BaseException], ...] = (AuthenticationError, AuthorizationError)

Redis = aioredis.Redis


def connect(url: str) -> Redis:
    """A Redis client for *url* with the timeouts fleet mode expects.

    Connecting gives up after 1 s and a command after 2 s, so an unreachable Redis
    turns into the in-process fallback quickly; a command that finds its pooled
    connection dead (Redis restarted) is retried once on a new one.
    """
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        # The URL may hold a password: don't echo it.
        raise ValueError("redis_url must start with redis://, rediss:// or unix://")
    client: Redis = aioredis.Redis.from_url(
        url,
        socket_connect_timeout=1.0,
        socket_timeout=2.0,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
    )
    return client


def _describe(client: Redis) -> str:
    """Where *client* points, without credentials."""
    kwargs = client.connection_pool.connection_kwargs
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class _RedisLink:
    """The health of one Redis client, shared by the store and limiter that use it.

    While Redis is unreachable, at most one caller per ``recheck_interval`` tries it
    again; the rest use the fallback at once. Logs one warning when Redis becomes
    unreachable and one when it answers again.
    """

    def __init__(self, client: Redis, recheck_interval: float) -> None:
        self.where = _describe(client)
        self.recheck_interval = recheck_interval
        self.up = True
        #: How many times Redis came back after an outage.
        self.recoveries = 0
        self._next_probe = 0.0
        self._on_recovery: list[Callable[[], Coroutine[Any, Any, None]]] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def on_recovery(self, callback: Callable[[], Coroutine[Any, Any, None]]) -> None:
        """Run *callback* in the background each time Redis answers again."""
        self._on_recovery.append(callback)

    def usable(self) -> bool:
        if self.up:
            return True
        now = time.monotonic()
        if now < self._next_probe:
            return False
        self._next_probe = now + self.recheck_interval
        return True

    def failed(self, exc: BaseException) -> None:
        if isinstance(exc, MISCONFIGURED):
            # A wrong password or missing permission is not an outage: say so loudly.
            raise exc
        self._next_probe = time.monotonic() + self.recheck_interval
        if self.up:
            self.up = False
            logger.warning(
                "Redis at %s is unreachable (%s: %s); using the in-process token cache "
                "and rate limiter until it answers again",
                self.where,
                type(exc).__name__,
                exc,
            )

    def succeeded(self) -> None:
        if not self.up:
            self.up = True
            self.recoveries += 1
            logger.warning(
                "Redis at %s answers again; token and rate budget are shared again",
                self.where,
            )
            for callback in self._on_recovery:
                task = asyncio.get_running_loop().create_task(callback())
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)


_links: weakref.WeakKeyDictionary[Redis, _RedisLink] = weakref.WeakKeyDictionary()


def link_for(client: Redis, recheck_interval: float) -> _RedisLink:
    link = _links.get(client)
    if link is None:
        link = _links[client] = _RedisLink(client, recheck_interval)
    return link


def open_client(redis: str | Redis) -> tuple[Redis, bool]:
    if isinstance(redis, str):
        return connect(redis), True
    if not isinstance(redis, aioredis.Redis):
        raise TypeError(f"redis must be a URL or a redis.asyncio.Redis, got {type(redis).__name__}")
    return redis, False


def positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("namespace must be a non-empty string")
    return namespace


class RedisUnreachable(Exception):
    """Internal: Redis failed before anything happened that must not be repeated."""
