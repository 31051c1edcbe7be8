"""``RedisCallbackTokens``: the callback Tokens a fleet has pulled with, kept on Redis for a while.

WeCom repeats a callback it thinks was missed, with the same ``Token``; each bot
drops a Token it has seen in memory, but a restarted bot, or another worker behind
the load balancer, has not seen it. With this memory a bot asks Redis too, and
records a Token once a pull with it has ended, so a repeat that reaches any bot of
the fleet afterwards causes no second pull. ``KfBot`` uses one on its own when its
cursor store is a ``RedisCursorStore``.

Keys: ``<namespace>:cbtoken:<sha256 of the Token>`` (the Token itself is never
stored), each expiring after ``ttl`` seconds.
"""

from __future__ import annotations

import hashlib
import math
from typing import Final

from ._redis import DEFAULT_NAMESPACE, Redis, check_namespace, close, open_client, positive, ready
from .cursors import RedisCursorStore

__all__ = ["DEFAULT_CALLBACK_TOKEN_TTL", "RedisCallbackTokens"]

#: Seconds a Token is remembered: as long as ``sync_msg`` accepts it (10 minutes).
DEFAULT_CALLBACK_TOKEN_TTL: Final = 600.0


class RedisCallbackTokens:
    """Which callback Tokens the fleet has pulled with (see the module).

    Args:
        redis: A URL (then owned and closed by :meth:`aclose`), or a client you own:
            a ``redis.asyncio.Redis``, a Sentinel's ``master_for()``, or a
            ``redis.asyncio.RedisCluster``.
        namespace: Prefix of the keys.
        ttl: Seconds a Token is remembered.
    """

    def __init__(
        self,
        redis: str | Redis,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        ttl: float = DEFAULT_CALLBACK_TOKEN_TTL,
    ) -> None:
        self.namespace = check_namespace(namespace)
        self.ttl = positive("ttl", ttl)
        self._redis, self._owned = open_client(redis)
        self._ttl_ms = max(1, math.ceil(self.ttl * 1000))

    @classmethod
    def of_store(
        cls, store: RedisCursorStore, *, ttl: float = DEFAULT_CALLBACK_TOKEN_TTL
    ) -> RedisCallbackTokens:
        """A memory on *store*'s Redis client and namespace (closed with the store)."""
        return cls(store._redis, namespace=store.namespace, ttl=ttl)

    def __repr__(self) -> str:
        return f"RedisCallbackTokens(namespace={self.namespace!r}, ttl={self.ttl!r})"

    def _key(self, token: str) -> str:
        digest = hashlib.sha256(token.encode()).hexdigest()
        return f"{self.namespace}:cbtoken:{digest}"

    async def seen(self, token: str) -> bool:
        """Whether a pull with *token* has ended in the last ``ttl`` seconds, fleet-wide."""
        await ready(self._redis)
        return bool(await self._redis.exists(self._key(token)))

    async def remember(self, token: str) -> None:
        """Record that a pull with *token* has ended."""
        await ready(self._redis)
        await self._redis.set(self._key(token), b"1", px=self._ttl_ms)

    async def aclose(self) -> None:
        """Close the Redis client if this memory created it from a URL."""
        if self._owned:
            await close(self._redis)
