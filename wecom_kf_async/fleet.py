"""Fleet mode: one access token and one rate budget shared on Redis by many processes.

WeCom gives a corp one budget, whatever number of processes call it. This module
shares the token cache, the refresh and the calls-per-second budget through Redis:

- :class:`RedisTokenStore` caches the token where every process sees it, and makes
  sure one process, not each of them, calls ``gettoken`` when it is due.
- :class:`RedisRateLimiter` hands out send slots, spaced by Redis' own clock, to
  every process that shares the budget.

Both fall back to in-process behaviour while Redis is unreachable (one warning per
outage) and go back to Redis when it answers again. :meth:`KfClient.for_fleet
<wecom_kf_async.KfClient.for_fleet>` wires both in one line.

Needs the ``redis`` extra: ``pip install 'wecom_kf_async[redis]'``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
import time
import weakref
from collections.abc import Awaitable, Callable, Coroutine
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

from ._constants import DEFAULT_DEADLINE, DEFAULT_FLEET_NAMESPACE, DEFAULT_LOCK_TTL, LOGGER_NAME
from ._errors import RequestTimeoutError
from ._limiter import LocalRateLimiter, RateLimiter
from ._token import AccessToken, FetchAccessToken, InMemoryTokenStore

__all__ = [
    "DEFAULT_LOCK_TTL",
    "DEFAULT_NAMESPACE",
    "DEFAULT_RECHECK_INTERVAL",
    "DEFAULT_SHARED_HEADROOM",
    "RedisRateLimiter",
    "RedisTokenStore",
    "connect",
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
_UNREACHABLE: tuple[type[BaseException], ...] = (
    RedisConnectionError,
    RedisTimeoutError,
    OSError,
)

#: Unreachable-looking errors that are really a configuration mistake: they raise.
_MISCONFIGURED: tuple[type[BaseException], ...] = (AuthenticationError, AuthorizationError)

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


def _text(value: Any) -> str:
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
        if isinstance(exc, _MISCONFIGURED):
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


def _link_for(client: Redis, recheck_interval: float) -> _RedisLink:
    link = _links.get(client)
    if link is None:
        link = _links[client] = _RedisLink(client, recheck_interval)
    return link


def _open(redis: str | Redis) -> tuple[Redis, bool]:
    if isinstance(redis, str):
        return connect(redis), True
    if not isinstance(redis, aioredis.Redis):
        raise TypeError(f"redis must be a URL or a redis.asyncio.Redis, got {type(redis).__name__}")
    return redis, False


def _positive(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < math.inf:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _check_namespace(namespace: str) -> str:
    if not isinstance(namespace, str) or not namespace:
        raise ValueError("namespace must be a non-empty string")
    return namespace


class _RedisUnreachable(Exception):
    """Internal: Redis failed before anything happened that must not be repeated."""


# Token entry: a hash {token, lead}, expiring in Redis when WeCom says the token does.
# Times cross the wire only as durations, so the processes' clocks need not agree.

_CLAIM = """
local entry = redis.call('HMGET', KEYS[1], 'token', 'lead')
local ttl = redis.call('PTTL', KEYS[1])
if entry[1] and ttl > tonumber(entry[2]) * 1000 then
  return {1, entry[1], entry[2], ttl}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2}
end
return {0, redis.call('PTTL', KEYS[2])}
"""

_READ = """
local entry = redis.call('HMGET', KEYS[1], 'token', 'lead')
if not entry[1] then
  return false
end
return {entry[1], entry[2], redis.call('PTTL', KEYS[1])}
"""

_WRITE = """
local ttl = tonumber(ARGV[3])
local current = redis.call('HGET', KEYS[1], 'token')
if current then
  local current_ttl = redis.call('PTTL', KEYS[1])
  if current_ttl > ttl then
    if current ~= ARGV[1] then
      return 0
    end
    ttl = current_ttl
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'token', ARGV[1], 'lead', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
"""

_INVALIDATE = """
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""


class RedisTokenStore:
    """A token store shared on Redis, which also makes refreshes single-flight fleet-wide.

    Plug it into :class:`~wecom_kf_async.KfClient` as ``token_store=``. Every process
    with the same Redis, namespace, corp id and secret shares one token:

    - Keys are ``{namespace}:token:{corp_id}:{hash}`` and ``{namespace}:lock:...``;
      the hash is of the secret, which never reaches Redis. The only value that
      matters is the token itself.
    - A refresh takes a lock (``SET NX PX`` with a random owner, renewed while the
      refresh runs, released by a script that checks the owner), then reads again
      before calling ``gettoken``. Other processes poll, backing off from 20 ms to
      200 ms, until the token appears or the lock is free. A holder that dies delays
      them at most ``lock_ttl`` seconds.
    - Invalidation deletes the token only if it is still the one WeCom refused, and a
      write never replaces a token that expires later.
    - Token lifetimes live in Redis as its own key expiry, so the processes' clocks
      need not agree.

    If Redis is unreachable, the store works from an in-process copy (one warning),
    and tries Redis again every ``recheck_interval`` seconds; when Redis answers, a
    token fetched meanwhile is written back for the others.

    Args:
        redis: A ``redis://`` URL (the store then owns and closes its client), or a
            ``redis.asyncio.Redis`` you own.
        namespace: Prefix of every key.
        lock_ttl: Seconds a refresh lock lives without renewal.
        refresh_wait: Seconds a process waits, at most, for another one's refresh
            before it gives up with :class:`~wecom_kf_async.RequestTimeoutError`.
        recheck_interval: Seconds between attempts to reach an unreachable Redis.
        clock: Wall clock in epoch seconds; must be the client's clock.
        monotonic: The client's monotonic clock (for the in-process copy).
        sleep: The coroutine used to wait while another process refreshes.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        refresh_wait: float = DEFAULT_DEADLINE,
        recheck_interval: float = DEFAULT_RECHECK_INTERVAL,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.namespace = _check_namespace(namespace)
        self.lock_ttl = _positive("lock_ttl", lock_ttl)
        self.refresh_wait = _positive("refresh_wait", refresh_wait)
        recheck = _positive("recheck_interval", recheck_interval)
        self._redis, self._owned = _open(redis)
        self._link = _link_for(self._redis, recheck)
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311 - poll jitter, not cryptography
        self._mirror = InMemoryTokenStore(clock=clock, monotonic=monotonic)
        self._keys: set[str] = set()
        self._synced: dict[str, int] = {}
        self._link.on_recovery(self._resync_all)
        self._claim = self._redis.register_script(_CLAIM)
        self._read_script = self._redis.register_script(_READ)
        self._write_script = self._redis.register_script(_WRITE)
        self._invalidate_script = self._redis.register_script(_INVALIDATE)
        self._release = self._redis.register_script(_RELEASE)
        self._renew = self._redis.register_script(_RENEW)

    def __repr__(self) -> str:
        return f"RedisTokenStore(redis at {self._link.where}, namespace={self.namespace!r})"

    @property
    def redis(self) -> Redis:
        """The Redis client."""
        return self._redis

    def token_key(self, key: str) -> str:
        """The Redis key of the token cached under *key*."""
        return f"{self.namespace}:token:{key}"

    def lock_key(self, key: str) -> str:
        """The Redis key of the refresh lock for *key*."""
        return f"{self.namespace}:lock:{key}"

    # -- conversions -------------------------------------------------------------

    def _from_redis(self, value: Any, lead: Any, ttl_ms: Any) -> AccessToken | None:
        ttl = int(ttl_ms)
        if ttl <= 0:
            return None
        expires_at = self._clock() + ttl / 1000.0
        return AccessToken(
            value=_text(value), expires_at=expires_at, refresh_at=expires_at - float(_text(lead))
        )

    async def _read(self, key: str) -> AccessToken | None:
        entry = await self._read_script(keys=[self.token_key(key)])
        return None if not entry else self._from_redis(*entry)

    async def _write(self, key: str, token: AccessToken) -> bool:
        ttl_ms = math.floor((token.expires_at - self._clock()) * 1000)
        if ttl_ms <= 0:
            return False
        lead = f"{token.expires_at - token.refresh_at:.3f}"
        written = await self._write_script(
            keys=[self.token_key(key)], args=[token.value, lead, ttl_ms]
        )
        return bool(written)

    async def _remember(self, key: str, token: AccessToken) -> None:
        self._keys.add(key)
        await self._mirror.set(key, token)

    async def _resync(self, key: str, shared: AccessToken | None) -> AccessToken | None:
        """After an outage, hand the others a token this process fetched meanwhile."""
        recoveries = self._link.recoveries
        if self._synced.get(key, 0) == recoveries:
            return shared
        self._synced[key] = recoveries
        local = await self._mirror.get(key)
        if local is None or not local.fresh(self._clock()):
            return shared
        if shared is not None and shared.expires_at >= local.expires_at:
            return shared
        if await self._write(key, local):
            return local
        return await self._read(key)

    async def _resync_all(self) -> None:
        """When Redis answers again, write back what this process fetched meanwhile."""
        for key in list(self._keys):
            try:
                await self._resync(key, await self._read(key))
            except _UNREACHABLE as exc:
                self._link.failed(exc)
                return

    async def _shared_get(self, key: str) -> AccessToken | None:
        token = await self._resync(key, await self._read(key))
        self._link.succeeded()
        if token is not None:
            await self._remember(key, token)
        return token

    # -- TokenStore --------------------------------------------------------------

    async def get(self, key: str) -> AccessToken | None:
        """Return the shared token for *key* (the in-process copy if Redis is down)."""
        if self._link.usable():
            try:
                return await self._shared_get(key)
            except _UNREACHABLE as exc:
                self._link.failed(exc)
        return await self._mirror.get(key)

    async def set(self, key: str, token: AccessToken) -> None:
        """Cache *token* for every process, unless Redis holds one that expires later."""
        await self._remember(key, token)
        if self._link.usable():
            try:
                await self._write(key, token)
            except _UNREACHABLE as exc:
                self._link.failed(exc)
            else:
                self._link.succeeded()

    async def invalidate(self, key: str, value: str) -> bool:
        """Delete the token only if it is still *value*; return whether it was."""
        dropped = await self._mirror.invalidate(key, value)
        if self._link.usable():
            try:
                result = await self._invalidate_script(keys=[self.token_key(key)], args=[value])
            except _UNREACHABLE as exc:
                self._link.failed(exc)
            else:
                self._link.succeeded()
                return bool(result)
        return dropped

    # -- SharedTokenStore --------------------------------------------------------

    async def refresh(self, key: str, fetch: FetchAccessToken) -> AccessToken:
        """Return a fresh token: another process's, or *fetch*'s under the fleet's lock."""
        if self._link.usable():
            try:
                return await self._refresh_shared(key, fetch)
            except _RedisUnreachable:
                pass
        token = await self._mirror.get(key)
        if token is not None and token.fresh(self._clock()):
            return token
        token = await fetch()
        await self._remember(key, token)
        return token

    async def _refresh_shared(self, key: str, fetch: FetchAccessToken) -> AccessToken:
        owner = secrets.token_hex(16)
        lock = self.lock_key(key)
        lock_ms = max(1, math.ceil(self.lock_ttl * 1000))
        pause = DEFAULT_POLL_INTERVAL
        waited = 0.0
        try:
            await self._resync(key, None)
            while True:
                claim = await self._claim(keys=[self.token_key(key), lock], args=[owner, lock_ms])
                state = int(claim[0])
                if state == 1:  # a fresh token (by Redis' clock)
                    token = self._from_redis(*claim[1:])
                    if token is not None:
                        self._link.succeeded()
                        await self._remember(key, token)
                        return token
                elif state == 2:  # the lock is ours
                    break
                # Another process is refreshing: wait for its token, or for its lock
                # to expire if it died, whichever comes first.
                wait = pause * self._rng.uniform(0.5, 1.0)
                if state == 0 and int(claim[1]) > 0:
                    # PTTL is rounded down to the millisecond: wake just after expiry.
                    wait = min(wait, (int(claim[1]) + 2) / 1000.0)
                if waited >= self.refresh_wait:
                    # A live holder renews its lock for as long as its gettoken runs;
                    # one that never ends must not hold this process for ever.
                    raise RequestTimeoutError(
                        f"another process held the token refresh lock for over "
                        f"{self.refresh_wait:.0f}s",
                        path="gettoken",
                        reason="refresh lock wait",
                    )
                await self._sleep(wait)
                waited += wait
                pause = min(pause * 2, DEFAULT_MAX_POLL_INTERVAL)
            self._link.succeeded()
        except _UNREACHABLE as exc:
            self._link.failed(exc)
            raise _RedisUnreachable from None
        return await self._refresh_locked(key, fetch, lock, owner, lock_ms)

    async def _refresh_locked(
        self, key: str, fetch: FetchAccessToken, lock: str, owner: str, lock_ms: int
    ) -> AccessToken:
        renewer = asyncio.create_task(self._keep_lock(lock, owner, lock_ms))
        try:
            try:
                # Read again under the lock: a holder may have finished just before.
                token = await self._read(key)
            except _UNREACHABLE as exc:
                self._link.failed(exc)
                raise _RedisUnreachable from None
            if token is not None and token.fresh(self._clock()):
                await self._remember(key, token)
                return token
            token = await fetch()
            await self._remember(key, token)
            try:
                if not await self._write(key, token):
                    stored = await self._read(key)
                    if stored is not None and stored.fresh(self._clock()):
                        token = stored
            except _UNREACHABLE as exc:
                self._link.failed(exc)
            return token
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            with contextlib.suppress(*_UNREACHABLE):  # if so, the lock expires on its own
                await self._release(keys=[lock], args=[owner])

    async def _keep_lock(self, lock: str, owner: str, lock_ms: int) -> None:
        """Renew the lock while this process refreshes, so only a dead holder loses it."""
        while True:
            # Real time, whatever sleep was injected: the lock expires in Redis' time.
            await asyncio.sleep(self.lock_ttl / 3)
            try:
                renewed = await self._renew(keys=[lock], args=[owner, lock_ms])
            except _UNREACHABLE:
                return
            if not renewed:
                logger.warning("lost the token refresh lock (Redis evicted or restarted)")
                return

    async def aclose(self) -> None:
        """Close the Redis client if the store created it from a URL."""
        if self._owned:
            await self._redis.aclose()


# The next free send slot lives in Redis, in microseconds of Redis' own clock. Each
# caller takes the slot and moves it on by one interval, so slots are exactly one
# interval apart however many processes ask; the caller waits until its slot. A
# caller that gives up before its slot hands it back (_RETURN): the last slot of
# the queue moves the queue back, any other goes to a set of returned slots that
# the next callers take first, so give-ups never push the queue into the future.
_RESERVE = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. now)
local returned = redis.call('ZPOPMIN', KEYS[2])
if returned[1] then
  local slot = tonumber(returned[2])
  return {string.format('%d', slot), slot - now}
end
local slot = tonumber(redis.call('GET', KEYS[1]))
if not slot or slot < now then
  slot = now
end
local after = slot + tonumber(ARGV[1])
local ttl = math.floor((after - now) / 1000) + 1000
redis.call('SET', KEYS[1], string.format('%d', after), 'PX', ttl)
return {string.format('%d', slot), slot - now}
"""

_RETURN = """
local now = redis.call('TIME')
now = tonumber(now[1]) * 1000000 + tonumber(now[2])
local slot = tonumber(ARGV[1])
if slot <= now then
  return 0
end
local after = slot + tonumber(ARGV[2])
if tonumber(redis.call('GET', KEYS[1])) == after then
  local ttl = math.floor((slot - now) / 1000) + 1000
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)
  return 1
end
redis.call('ZADD', KEYS[2], slot, ARGV[1])
local ttl = math.floor((slot - now) / 1000) + 1000
if redis.call('PTTL', KEYS[2]) < ttl then
  redis.call('PEXPIRE', KEYS[2], ttl)
end
return 2
"""


class RedisRateLimiter:
    """At most ``rate`` calls per second across every process that shares the Redis.

    Each call reserves the next send slot with one Redis script that reads Redis'
    own clock (``TIME``), so the processes' clocks don't matter, and then sleeps
    until its slot: no refusals to retry, no polling. Slots are spaced
    ``1 / (rate * headroom)`` seconds apart, so any 1-second window holds at most
    ``rate`` slots with room for the time a call takes to reach WeCom after its slot.

    Pass it as ``rate_limiter=`` to :class:`~wecom_kf_async.KfClient`; it composes
    with the client's own in-process ``rate_limit``, which applies first.

    While Redis is unreachable, calls wait on ``fallback`` instead (by default an
    in-process :class:`~wecom_kf_async.LocalRateLimiter` at ``fallback_rate``, which
    defaults to ``rate``: each process then spends the whole budget alone, and
    WeCom's 45009 answers slow it down; pass ``rate / processes`` to stay within it).

    A caller cancelled while it waits for its slot gives the slot back, and the next
    caller takes it: callers that give up (``asyncio.wait_for``, a closing worker)
    never make the others wait for slots nobody used.

    Args:
        redis: A ``redis://`` URL (the limiter owns and closes its client), or a
            ``redis.asyncio.Redis`` you own.
        rate: Calls per second for the whole fleet.
        name: Which budget: processes with the same namespace and name share it
            (:meth:`KfClient.for_fleet <wecom_kf_async.KfClient.for_fleet>` uses the
            corp id).
        namespace: Prefix of the Redis key.
        headroom: Share of ``rate`` handed out (0 < headroom <= 1).
        fallback_rate: Calls per second per process while Redis is unreachable.
        fallback: A limiter to use while Redis is unreachable instead.
        recheck_interval: Seconds between attempts to reach an unreachable Redis.
        sleep: The coroutine used to wait for a slot.
    """

    def __init__(
        self,
        redis: str | Redis,
        rate: float,
        *,
        name: str = "default",
        namespace: str = DEFAULT_NAMESPACE,
        headroom: float = DEFAULT_SHARED_HEADROOM,
        fallback_rate: float | None = None,
        fallback: RateLimiter | None = None,
        recheck_interval: float = DEFAULT_RECHECK_INTERVAL,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.rate = _positive("rate", rate)
        if isinstance(headroom, bool) or not isinstance(headroom, int | float):
            raise TypeError(f"headroom must be a number, got {type(headroom).__name__}")
        if not 0 < headroom <= 1:
            raise ValueError(f"headroom must be in (0, 1], got {headroom!r}")
        if not isinstance(name, str) or not name:
            raise ValueError("name must be a non-empty string")
        if fallback is not None and fallback_rate is not None:
            raise ValueError("pass either fallback or fallback_rate, not both")
        if fallback is not None and not isinstance(fallback, RateLimiter):
            raise TypeError("fallback must have an async acquire() method")
        self.namespace = _check_namespace(namespace)
        self.name = name
        self.headroom = float(headroom)
        #: Microseconds between two slots.
        self.interval_us = max(1, math.floor(1_000_000 / (self.rate * self.headroom)))
        self.fallback: RateLimiter = (
            fallback
            if fallback is not None
            else LocalRateLimiter(self.rate if fallback_rate is None else fallback_rate)
        )
        recheck = _positive("recheck_interval", recheck_interval)
        self._redis, self._owned = _open(redis)
        self._link = _link_for(self._redis, recheck)
        self._sleep = sleep
        self._reserve = self._redis.register_script(_RESERVE)
        self._return = self._redis.register_script(_RETURN)
        self._args = [self.interval_us]
        self._returns: set[asyncio.Task[None]] = set()

    def __repr__(self) -> str:
        return (
            f"RedisRateLimiter(redis at {self._link.where}, rate={self.rate!r}, name={self.name!r})"
        )

    @property
    def redis(self) -> Redis:
        """The Redis client."""
        return self._redis

    @property
    def key(self) -> str:
        """The Redis key holding the next free slot."""
        return f"{self.namespace}:rate:{self.name}"

    @property
    def returned_key(self) -> str:
        """The Redis key of the sorted set of slots handed back by callers that gave up."""
        return f"{self.namespace}:rate-returned:{self.name}"

    async def acquire(self) -> None:
        """Wait for this process's next slot in the fleet's budget."""
        if self._link.usable():
            try:
                slot, wait_us = await self._reserve(
                    keys=[self.key, self.returned_key], args=self._args
                )
            except _UNREACHABLE as exc:
                self._link.failed(exc)
            else:
                self._link.succeeded()
                if wait_us > 0:
                    try:
                        await self._sleep(wait_us / 1_000_000)
                    except asyncio.CancelledError:
                        self._give_back(_text(slot))
                        raise
                return
        await self.fallback.acquire()

    def _give_back(self, slot: str) -> None:
        """Hand an unused slot back, without keeping the cancelled caller waiting."""
        task = asyncio.get_running_loop().create_task(self._return_slot(slot))
        self._returns.add(task)
        task.add_done_callback(self._returns.discard)

    async def _return_slot(self, slot: str) -> None:
        # Unreachable: the slot is lost, one interval of the budget, once.
        with contextlib.suppress(*_UNREACHABLE):
            await self._return(keys=[self.key, self.returned_key], args=[slot, self.interval_us])

    async def aclose(self) -> None:
        """Close the Redis client if the limiter created it from a URL."""
        if self._returns:
            await asyncio.gather(*self._returns, return_exceptions=True)
        if self._owned:
            await self._redis.aclose()
