"""``RedisSuiteTicketStore``: the newest suite ticket, shared by a provider's whole fleet.

WeCom pushes the ticket to one worker's instruction callback; every worker needs it
for ``get_suite_token``. The store keeps the newest one per suite on Redis (one
script compares WeCom's ``TimeStamp``, so a delayed push never replaces a newer
ticket) and a copy in memory, used while Redis is unreachable.
"""

from __future__ import annotations

import math

from ..providers.tickets import SUITE_TICKET_LIFETIME, InMemorySuiteTicketStore, SuiteTicket
from ._redis import (
    DEFAULT_NAMESPACE,
    DEFAULT_RECHECK_INTERVAL,
    UNREACHABLE,
    Redis,
    check_namespace,
    close,
    link_for,
    open_client,
    ready,
    tagged,
    text,
)
from ._scripts import FleetScript

__all__ = ["RedisSuiteTicketStore"]

# KEYS: the suite's ticket hash. ARGV: value, timestamp, received_at, ttl ms.
# -> 1 kept, 0 a newer (or the same) ticket is held
_PUT = """
local held = redis.call('HGET', KEYS[1], 'timestamp')
if held and tonumber(held) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'value', ARGV[1], 'timestamp', ARGV[2], 'received_at', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 1
"""


class RedisSuiteTicketStore:
    """Suite tickets on Redis (key ``<namespace>:suite-ticket:{<suite_id>}``).

    Args:
        redis: A URL (the store owns and closes its client) or a client you own (any
            kind: see :func:`~wecom_kf_async.fleet.connect`).
        namespace: Prefix of the key.
    """

    def __init__(self, redis: str | Redis, *, namespace: str = DEFAULT_NAMESPACE) -> None:
        self.namespace = check_namespace(namespace)
        self._redis, self._owned = open_client(redis)
        self._link = link_for(self._redis, DEFAULT_RECHECK_INTERVAL)
        self._put = FleetScript(self._redis, _PUT)
        self._mirror = InMemorySuiteTicketStore()
        # Kept a little past a ticket's life, so an expired one still says "expired".
        self._ttl_ms = math.ceil(2 * SUITE_TICKET_LIFETIME * 1000)

    def __repr__(self) -> str:
        return f"RedisSuiteTicketStore(redis at {self._link.where}, namespace={self.namespace!r})"

    def key(self, suite_id: str) -> str:
        """The Redis key of *suite_id*'s ticket."""
        return tagged(self.namespace, "suite-ticket", suite_id)

    async def get(self, suite_id: str) -> SuiteTicket | None:
        """The newest ticket (this process's copy while Redis is unreachable)."""
        if self._link.usable():
            try:
                await ready(self._redis)
                entry = await self._redis.hgetall(self.key(suite_id))  # type: ignore[misc]
            except UNREACHABLE as exc:
                self._link.failed(exc)
            else:
                self._link.succeeded()
                if entry:
                    ticket = SuiteTicket(
                        value=text(entry[b"value"]),
                        timestamp=int(text(entry[b"timestamp"])),
                        received_at=float(text(entry[b"received_at"])),
                    )
                    await self._mirror.put(suite_id, ticket)
                    return ticket
        return await self._mirror.get(suite_id)

    async def put(self, suite_id: str, ticket: SuiteTicket) -> bool:
        """Keep *ticket* unless a newer one is held; return whether it was kept."""
        kept = await self._mirror.put(suite_id, ticket)
        if self._link.usable():
            try:
                args = [ticket.value, ticket.timestamp, repr(ticket.received_at), self._ttl_ms]
                kept = bool(await self._put(keys=[self.key(suite_id)], args=args))
            except UNREACHABLE as exc:
                self._link.failed(exc)
            else:
                self._link.succeeded()
        return kept

    async def aclose(self) -> None:
        """Close the Redis client if the store created it from a URL."""
        if self._owned:
            await close(self._redis)
