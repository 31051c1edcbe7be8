"""The Redis plumbing fleet mode shares: connecting, and telling an outage from a bug."""

from __future__ import annotations

import asyncio
import logging
import math
import time
import weakref
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import unquote

try:
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import ClusterNode, RedisCluster
    from redis.asyncio.retry import Retry
    from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
    from redis.backoff import NoBackoff
    from redis.exceptions import (
        AuthenticationError,
        AuthorizationError,
        ClusterError,
        ReadOnlyError,
        RedisClusterException,
        SlotNotCoveredError,
        TryAgainError,
    )
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
    "close",
    "connect",
    "link_for",
    "open_client",
    "positive",
    "ready",
    "tagged",
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
#: Seconds to connect, and to wait for a command's answer, on a client made from a URL.
CONNECT_TIMEOUT = 1.0
COMMAND_TIMEOUT = 2.0

#: What "Redis is unreachable" looks like (anything else is a bug and propagates):
#: a connection or timeout error (a loading server and a Sentinel that knows no
#: primary are connection errors too), and the answers of a deployment in failover:
#: a cluster down or without an owner for a slot, TRYAGAIN, MASTERDOWN, and a write
#: sent to a primary that has just become a replica (READONLY).
UNREACHABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
    ClusterError,
    SlotNotCoveredError,
    TryAgainError,
    ReadOnlyError,
)

#: Unreachable-looking errors that are really a configuration mistake: they raise.
MISCONFIGURED: tuple[type[BaseException], ...] = (AuthenticationError, AuthorizationError)

#: Any client fleet mode takes: one server, a Sentinel-managed primary (a ``Redis``
#: too), or a cluster.
Redis = aioredis.Redis | RedisCluster

_SINGLE = ("redis://", "rediss://", "unix://")
_CLUSTER = ("redis+cluster://", "rediss+cluster://")
_SENTINEL = ("redis+sentinel://", "rediss+sentinel://")
#: Sentinel clients a URL made, closed with the primary's client.
_sentinels: weakref.WeakKeyDictionary[Any, Sentinel] = weakref.WeakKeyDictionary()


def _hosts(netloc: str, default_port: int) -> list[tuple[str, int]]:
    """``host[:port],[v6 address][:port],...`` as (host, port) pairs."""
    hosts = []
    for part in netloc.split(","):
        if part.startswith("["):
            host, _, tail = part[1:].partition("]")
            port = tail.removeprefix(":")
        else:
            host, _, port = part.partition(":")
        port = port or str(default_port)
        if not host or not port.isdigit():
            raise ValueError("a Redis URL's hosts must read host[:port],host[:port],...")
        hosts.append((host, int(port)))
    return hosts


def _split(url: str, default_port: int) -> tuple[dict[str, Any], list[tuple[str, int]], str]:
    """Credentials, hosts and path of a multi-host URL."""
    rest = url.split("://", 1)[1]
    netloc, _, path = rest.partition("/")
    creds: dict[str, Any] = {}
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        user, _, password = userinfo.partition(":")
        creds = {"username": unquote(user) or None, "password": unquote(password) or None}
    if url.startswith("rediss"):
        creds["ssl"] = True
    return creds, _hosts(netloc, default_port), path.split("?", 1)[0]


def connect(url: str) -> Redis:
    """A Redis client for *url* with the timeouts fleet mode expects.

    The URL names one server, a cluster or a Sentinel-watched primary:

    - ``redis://[[user]:password@]host[:port][/db]`` (``rediss://``, ``unix://``):
      one server (Redis or Valkey);
    - ``redis+cluster://[[user]:password@]host:port[,host:port...]``
      (``rediss+cluster://``): a Redis Cluster, any of its nodes to start from;
    - ``redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]``
      (``rediss+sentinel://``): the primary the Sentinels know as *service* (the
      credentials are the primary's; the Sentinels take none).

    Connecting gives up after 1 s and a command after 2 s, on every node and
    Sentinel, so an unreachable Redis turns into the in-process fallback quickly; a
    command that finds its pooled connection dead (Redis restarted) is retried once
    on a new one.
    """
    if not isinstance(url, str) or not url.startswith(_SINGLE + _CLUSTER + _SENTINEL):
        # The URL may hold a password: don't echo it.
        raise ValueError(
            "a Redis URL must start with redis://, rediss://, unix://, redis+cluster://, "
            "rediss+cluster://, redis+sentinel:// or rediss+sentinel://"
        )
    timeouts: dict[str, Any] = {
        "socket_connect_timeout": CONNECT_TIMEOUT,
        "socket_timeout": COMMAND_TIMEOUT,
    }
    client: Redis
    if url.startswith(_CLUSTER):
        creds, hosts, _ = _split(url, 6379)
        nodes = [ClusterNode(host, port) for host, port in hosts]
        client = RedisCluster(startup_nodes=nodes, **creds, **timeouts)
        return client
    retry: dict[str, Any] = {
        "retry": Retry(NoBackoff(), 1),
        "retry_on_error": [RedisConnectionError],
    }
    if url.startswith(_SENTINEL):
        creds, hosts, path = _split(url, 26379)
        service, _, db = path.partition("/")
        if not service or (db and not db.isdigit()):
            raise ValueError("a redis+sentinel:// URL ends in /service_name[/db]")
        ssl = {"ssl": creds.pop("ssl")} if "ssl" in creds else {}
        sentinel = Sentinel(  # type: ignore[no-untyped-call]
            hosts, sentinel_kwargs={**timeouts, **ssl}, **timeouts, **ssl
        )
        client = sentinel.master_for(service, db=int(db or 0), **creds, **retry)
        _sentinels[client] = sentinel
        return client
    client = aioredis.Redis.from_url(url, **timeouts, **retry)
    return client


async def close(client: Redis) -> None:
    """Close *client*, and the Sentinels' connections if :func:`connect` made it."""
    await client.aclose()
    sentinel = _sentinels.pop(client, None)
    if sentinel is not None:
        for node in sentinel.sentinels:
            await node.aclose()


def _describe(client: Redis) -> str:
    """Where *client* points, without credentials."""
    if isinstance(client, RedisCluster):
        nodes = client.nodes_manager.startup_nodes.values()
        return "cluster " + ",".join(f"{node.host}:{node.port}" for node in nodes)
    pool = client.connection_pool
    if isinstance(pool, SentinelConnectionPool):
        sentinels = ",".join(
            "{host}:{port}".format(**node.connection_pool.connection_kwargs)
            for node in pool.sentinel_manager.sentinels
        )
        db = pool.connection_kwargs.get("db", 0)
        return f"sentinel service {pool.service_name}/{db} via {sentinels}"
    kwargs = pool.connection_kwargs
    if "path" in kwargs:
        return f"unix:{kwargs['path']}"
    return f"{kwargs.get('host', 'localhost')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


_initialised: weakref.WeakSet[RedisCluster] = weakref.WeakSet()
_initialising: weakref.WeakKeyDictionary[RedisCluster, asyncio.Lock] = weakref.WeakKeyDictionary()


async def ready(client: Redis) -> None:
    """Make sure a cluster client knows its slots before a command is sent.

    Commands sent at once on a cluster client that has not initialised go to
    random nodes, and the redirects that follow close connections still in use; so
    the first one initialises it, under a lock, and the rest wait. A cluster none
    of whose nodes answers is unreachable, like a single server that does not.
    """
    if not isinstance(client, RedisCluster) or client in _initialised:
        return
    lock = _initialising.setdefault(client, asyncio.Lock())
    async with lock:
        if client in _initialised:
            return
        try:
            await client.initialize()
        except RedisClusterException as exc:
            if isinstance(exc.__cause__, MISCONFIGURED):  # a wrong password: say so
                raise exc.__cause__ from None
            raise RedisConnectionError(f"the cluster cannot be reached: {exc}") from exc
        _initialised.add(client)


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
    """The client for *redis* (a URL, or a client of any kind), and whether it is ours."""
    if isinstance(redis, str):
        return connect(redis), True
    if not isinstance(redis, aioredis.Redis | RedisCluster):
        raise TypeError(
            "redis must be a URL, a redis.asyncio.Redis (a Sentinel's master_for() "
            f"included) or a redis.asyncio.RedisCluster, got {type(redis).__name__}"
        )
    return redis, False


def tagged(namespace: str, kind: str, entity: str) -> str:
    """The key of *entity*'s *kind*: ``<namespace>:<kind>:{<entity>}``.

    The braces make *entity* the key's hash tag: on a cluster, every key of one
    entity (a token and its lock, a budget's two keys, an account's lease, wake note
    and cursor) lives in one slot, so one script can touch them all, while different
    entities spread over the shards.
    """
    return f"{namespace}:{kind}:{{{entity}}}"


def positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("namespace must be a non-empty string")
    if "{" in namespace or "}" in namespace:
        # A brace would become the keys' hash tag: every entity in one cluster slot,
        # or keys of one entity in different slots.
        raise ValueError(f"namespace must not contain '{{' or '}}', got {namespace!r}")
    return namespace


class RedisUnreachable(Exception):
    """Internal: Redis failed before anything happened that must not be repeated."""
