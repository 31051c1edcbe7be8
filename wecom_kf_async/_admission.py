"""Admission of one attempt: its endpoint's budget first, then a concurrency slot.

Waiting for a budget holds no slot another endpoint needs (see :class:`Admission`
in ``_budgets``); the slot is taken last and the budget's room at once after it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from ._budgets import Admission
from ._endpoints import Endpoint
from ._token import AccessToken, TokenManager
from .instrumentation._hooks import Hooks
from .instrumentation.events import RateLimitWaited

__all__ = ["Admitter"]

#: Times a request re-reads the current token while waiting for its turn to send
#: (it changed while the request queued); after that it goes with what it has.
_TOKEN_PASSES = 3


class Admitter:
    """Lets attempts through their budget and the concurrency bound, in that order."""

    def __init__(
        self,
        slots: asyncio.Semaphore,
        tokens: TokenManager,
        *,
        hooks: Hooks,
        monotonic: Callable[[], float],
    ) -> None:
        self._slots = slots
        self._tokens = tokens
        self._hooks = hooks
        self._monotonic = monotonic
        self._waits = hooks.wants(RateLimitWaited)

    def release(self) -> None:
        """Give back the slot :meth:`admit` took."""
        self._slots.release()

    async def _take_slot(self, token: AccessToken | None) -> AccessToken | None:
        """Take a concurrency slot, carrying the newest token known by then.

        A request that queued while the token was refused waits for the refresh
        outside the concurrency bound (which the refresh itself needs).
        """
        passes = 0
        while True:
            if token is not None and not self._tokens.is_current(token):
                token = await self._tokens.get()
            await self._slots.acquire()
            passes += 1
            if token is None or passes >= _TOKEN_PASSES or self._tokens.is_current(token):
                return token
            self._slots.release()

    async def admit(
        self, endpoint: Endpoint, admission: Admission, token: AccessToken | None
    ) -> AccessToken | None:
        """Wait for *endpoint*'s budget, then take a concurrency slot (held on return).

        Waiting for a budget holds no slot: the caller waits for room, takes a slot,
        and takes the room at once (or gives the slot back and waits again), so a
        budget counts a call when it is sent and one endpoint's queue never holds
        what another endpoint needs. Returns the token to send with.
        """
        since = self._monotonic() if self._waits else 0.0
        if not admission.must_wait():
            token = await self._take_slot(token)
            admission.take()
        else:
            async with admission.gate:
                for limiter in admission.before_slot:
                    await limiter.acquire()
                while True:
                    for ready in admission.at_slot:
                        await ready.wait_ready()
                    token = await self._take_slot(token)
                    if admission.has_room():
                        admission.take()
                        break
                    self._slots.release()
        if self._waits:
            waited = self._monotonic() - since
            if waited > 0:
                self._hooks.emit(RateLimitWaited(path=endpoint.budget_key, seconds=waited))
        return token
