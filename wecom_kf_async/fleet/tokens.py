"""``RedisTokenStore``: one access token for the fleet, refreshed by one process at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .._constants import DEFAULT_DEADLINE, DEFAULT_LOCK_TTL, LOGGER_NAME
from .._errors import RequestTimeoutError
from .._token import AccessToken, FetchAccessToken, InMemoryTokenStore
from ._redis import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_NAMESPACE,
    DEFAULT_POLL_INTERVAL,
    DEFAULT_RECHECK_INTERVAL,
    UNREACHABLE,
    Redis,
    RedisUnreachable,
    check_namespace,
    close,
    link_for,
    open_client,
    positive,
    tagged,
    text,
)
from ._scripts import FleetScript

__all__ = ["RedisTokenStore"]

logger = logging.getLogger(LOGGER_NAME)

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

    - Keys are ``<namespace>:token:{<corp_id>:<hash>}`` and
      ``<namespace>:lock:{<corp_id>:<hash>}``: the braces are a hash tag, so on a
      cluster a token and its lock share a slot; the hash is of the secret, which
      never reaches Redis. The only value that matters is the token itself.
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
        redis: A URL (see :func:`~wecom_kf_async.fleet.connect`; the store then owns
            and closes its client), or a client you own: a ``redis.asyncio.Redis``, a
            Sentinel's ``master_for()``, or a ``redis.asyncio.RedisCluster``.
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
        self.namespace = check_namespace(namespace)
        self.lock_ttl = positive("lock_ttl", lock_ttl)
        self.refresh_wait = positive("refresh_wait", refresh_wait)
        recheck = positive("recheck_interval", recheck_interval)
        self._redis, self._owned = open_client(redis)
        self._link = link_for(self._redis, recheck)
        self._clock = clock
        self._sleep = sleep
        self._rng = random.Random()  # noqa: S311 - poll jitter, not cryptography
        self._mirror = InMemoryTokenStore(clock=clock, monotonic=monotonic)
        self._keys: set[str] = set()
        self._synced: dict[str, int] = {}
        self._link.on_recovery(self._resync_all)
        self._claim = FleetScript(self._redis, _CLAIM)
        self._read_script = FleetScript(self._redis, _READ)
        self._write_script = FleetScript(self._redis, _WRITE)
        self._invalidate_script = FleetScript(self._redis, _INVALIDATE)
        self._release = FleetScript(self._redis, _RELEASE)
        self._renew = FleetScript(self._redis, _RENEW)

    def __repr__(self) -> str:
        return f"RedisTokenStore(redis at {self._link.where}, namespace={self.namespace!r})"

    @property
    def redis(self) -> Redis:
        """The Redis client."""
        return self._redis

    def token_key(self, key: str) -> str:
        """The Redis key of the token cached under *key*."""
        return tagged(self.namespace, "token", key)

    def lock_key(self, key: str) -> str:
        """The Redis key of the refresh lock for *key*."""
        return tagged(self.namespace, "lock", key)

    # -- conversions -------------------------------------------------------------

    def _from_redis(self, value: Any, lead: Any, ttl_ms: Any) -> AccessToken | None:
        ttl = int(ttl_ms)
        if ttl <= 0:
            return None
        expires_at = self._clock() + ttl / 1000.0
        return AccessToken(
            value=text(value), expires_at=expires_at, refresh_at=expires_at - float(text(lead))
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
            except UNREACHABLE as exc:
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
            except UNREACHABLE as exc:
                self._link.failed(exc)
        return await self._mirror.get(key)

    async def set(self, key: str, token: AccessToken) -> None:
        """Cache *token* for every process, unless Redis holds one that expires later."""
        await self._remember(key, token)
        if self._link.usable():
            try:
                await self._write(key, token)
            except UNREACHABLE as exc:
                self._link.failed(exc)
            else:
                self._link.succeeded()

    async def invalidate(self, key: str, value: str) -> bool:
        """Delete the token only if it is still *value*; return whether it was."""
        dropped = await self._mirror.invalidate(key, value)
        if self._link.usable():
            try:
                result = await self._invalidate_script(keys=[self.token_key(key)], args=[value])
            except UNREACHABLE as exc:
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
            except RedisUnreachable:
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
        except UNREACHABLE as exc:
            self._link.failed(exc)
            raise RedisUnreachable from None
        return await self._refresh_locked(key, fetch, lock, owner, lock_ms)

    async def _refresh_locked(
        self, key: str, fetch: FetchAccessToken, lock: str, owner: str, lock_ms: int
    ) -> AccessToken:
        renewer = asyncio.create_task(self._keep_lock(lock, owner, lock_ms))
        try:
            try:
                # Read again under the lock: a holder may have finished just before.
                token = await self._read(key)
            except UNREACHABLE as exc:
                self._link.failed(exc)
                raise RedisUnreachable from None
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
            except UNREACHABLE as exc:
                self._link.failed(exc)
            return token
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            with contextlib.suppress(*UNREACHABLE):  # if so, the lock expires on its own
                await self._release(keys=[lock], args=[owner])

    async def _keep_lock(self, lock: str, owner: str, lock_ms: int) -> None:
        """Renew the lock while this process refreshes, so only a dead holder loses it."""
        while True:
            # Real time, whatever sleep was injected: the lock expires in Redis' time.
            await asyncio.sleep(self.lock_ttl / 3)
            try:
                renewed = await self._renew(keys=[lock], args=[owner, lock_ms])
            except UNREACHABLE:
                return
            if not renewed:
                logger.warning("lost the token refresh lock (Redis evicted or restarted)")
                return

    async def aclose(self) -> None:
        """Close the Redis client if the store created it from a URL."""
        if self._owned:
            await close(self._redis)
