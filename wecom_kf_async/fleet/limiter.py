"""``RedisRateLimiter``: send slots for a whole fleet, spaced by Redis' own clock."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable

from .._limiter import LocalRateLimiter, RateLimiter
from ._redis import (
    DEFAULT_NAMESPACE,
    DEFAULT_RECHECK_INTERVAL,
    DEFAULT_SHARED_HEADROOM,
    UNREACHABLE,
    Redis,
    check_namespace,
    close,
    link_for,
    open_client,
    positive,
    tagged,
    text,
)
from ._scripts import FleetScript

__all__ = ["RedisRateLimiter"]

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
        redis: A URL (see :func:`~wecom_kf_async.fleet.connect`; the limiter owns and
            closes its client), or a client you own: a ``redis.asyncio.Redis``, a
            Sentinel's ``master_for()``, or a ``redis.asyncio.RedisCluster``.
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
        self.rate = positive("rate", rate)
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
        self.namespace = check_namespace(namespace)
        self.name = name
        self.headroom = float(headroom)
        #: Microseconds between two slots.
        self.interval_us = max(1, math.floor(1_000_000 / (self.rate * self.headroom)))
        self.fallback: RateLimiter = (
            fallback
            if fallback is not None
            else LocalRateLimiter(self.rate if fallback_rate is None else fallback_rate)
        )
        recheck = positive("recheck_interval", recheck_interval)
        self._redis, self._owned = open_client(redis)
        self._link = link_for(self._redis, recheck)
        self._sleep = sleep
        self._reserve = FleetScript(self._redis, _RESERVE)
        self._return = FleetScript(self._redis, _RETURN)
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
        return tagged(self.namespace, "rate", self.name)

    @property
    def returned_key(self) -> str:
        """The Redis key of the sorted set of slots handed back by callers that gave up."""
        return tagged(self.namespace, "rate-returned", self.name)

    async def acquire(self) -> None:
        """Wait for this process's next slot in the fleet's budget."""
        if self._link.usable():
            try:
                slot, wait_us = await self._reserve(
                    keys=[self.key, self.returned_key], args=self._args
                )
            except UNREACHABLE as exc:
                self._link.failed(exc)
            else:
                self._link.succeeded()
                if wait_us > 0:
                    try:
                        await self._sleep(wait_us / 1_000_000)
                    except asyncio.CancelledError:
                        self._give_back(text(slot))
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
        with contextlib.suppress(*UNREACHABLE):
            await self._return(keys=[self.key, self.returned_key], args=[slot, self.interval_us])

    async def aclose(self) -> None:
        """Close the Redis client if the limiter created it from a URL."""
        if self._returns:
            await asyncio.gather(*self._returns, return_exceptions=True)
        if self._owned:
            await close(self._redis)
