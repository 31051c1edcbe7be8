"""Which callback Tokens the bot has seen: in this process, and, for a fleet, on Redis.

WeCom repeats a callback it thinks was missed, with the same ``Token``. The bot
drops a Token seen in this process (the last 10,000). A fleet's bots (and a bot
restarted) also share the Tokens *pulled with*: a Token is recorded once a pull
with it has ended, never before, so a bot that dies between a callback and its
pull leaves the repeat to be pulled by another. A shared memory that fails or is
slow (over 1 s) is logged and passed over: a second pull costs less than a lost
wake-up.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Final, Protocol, runtime_checkable

from .._constants import LOGGER_NAME
from ..messages.cursors import CursorStore
from ..messages.stream import RecentIds

__all__ = ["CallbackTokens", "SeenTokens", "fleet_tokens"]

logger = logging.getLogger(LOGGER_NAME)

#: Tokens remembered in this process.
_IN_PROCESS: Final = 10_000
#: Seconds the shared memory may take before it is passed over.
_SHARED_TIMEOUT: Final = 1.0
#: Seconds ``sync_msg`` accepts a callback's Token: the least a fleet remembers it.
TOKEN_LIFETIME: Final = 600.0


@runtime_checkable
class CallbackTokens(Protocol):
    """A memory of the callback Tokens pulled with, shared by the bots of a fleet.

    ``wecom_kf_async.fleet.RedisCallbackTokens`` is one.
    """

    async def seen(self, token: str) -> bool:
        """Whether a pull with *token* has ended."""

    async def remember(self, token: str) -> None:
        """Record that a pull with *token* has ended."""


class SeenTokens:
    """This process's Tokens, and the fleet's memory if there is one."""

    def __init__(self, shared: CallbackTokens | None) -> None:
        self._here = RecentIds(_IN_PROCESS)
        #: The fleet's memory, or ``None``.
        self.shared = shared

    def first_here(self, token: str) -> bool:
        """Remember *token* in this process; whether it was new here."""
        return self._here.add(token)

    async def pulled(self, token: str) -> bool:
        """Whether the fleet has pulled with *token* (``False`` if its memory fails)."""
        if self.shared is None:
            return False
        try:
            async with asyncio.timeout(_SHARED_TIMEOUT):
                return await self.shared.seen(token)
        except Exception as exc:
            logger.warning("callback: the fleet's Token memory failed (%r); pulling anyway", exc)
            return False

    async def remember(self, token: str) -> None:
        """Tell the fleet a pull with *token* has ended (a failure is logged)."""
        if self.shared is None:
            return
        try:
            async with asyncio.timeout(_SHARED_TIMEOUT):
                await self.shared.remember(token)
        except Exception as exc:
            logger.warning("callback: the fleet's Token memory failed (%r)", exc)


def fleet_tokens(cursors: CursorStore, ttl: float) -> CallbackTokens | None:
    """The shared memory on a ``RedisCursorStore``'s Redis, or ``None`` for another store."""
    fleet = sys.modules.get("wecom_kf_async.fleet.cursors")  # loaded if such a store exists
    if fleet is None or not isinstance(cursors, fleet.RedisCursorStore):
        return None
    from ..fleet.callbacks import RedisCallbackTokens

    return RedisCallbackTokens.of_store(cursors, ttl=ttl)
