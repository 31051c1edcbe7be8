"""Which KF accounts a bot serves as ``kf_account_auth_change`` callbacks arrive (page 97713).

WeCom tells the app when accounts are authorised to it or withdrawn from it. The bot
starts consuming an authorised account at once (a pull: messages may be waiting),
stops taking wake-ups for a withdrawn one (its pull in progress ends as it is), and
``poll()`` follows both. Handlers registered with ``@bot.on_account_auth_change`` get
the typed callback; they run in tasks of their own, tracked and ended by ``aclose()``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable

from .._constants import LOGGER_NAME
from .events import KfCallback

__all__ = ["AccountAuth", "AuthHandler"]

logger = logging.getLogger(LOGGER_NAME)

#: A handler of ``kf_account_auth_change``: gets the callback.
AuthHandler = Callable[[KfCallback], Awaitable[None]]


class AccountAuth:
    """The accounts authorised and withdrawn so far, and the handlers of the change."""

    def __init__(self) -> None:
        #: Accounts authorised by a callback since the bot was made (and not withdrawn).
        self.added: set[str] = set()
        #: Accounts withdrawn by a callback (and not authorised again since).
        self.withdrawn: set[str] = set()
        self._handlers: list[AuthHandler] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def register(self, handler: AuthHandler) -> AuthHandler:
        """Add *handler* (an async function of the callback)."""
        if not callable(handler):
            raise TypeError(f"a handler must be an async function, got {type(handler).__name__}")
        self._handlers.append(handler)
        return handler

    def serves(self, open_kfid: str) -> bool:
        """Whether wake-ups of *open_kfid* are taken (it was not withdrawn)."""
        return open_kfid not in self.withdrawn

    def accounts(self, base: Iterable[str]) -> list[str]:
        """*base* (the accounts listed or given), plus those authorised, less those withdrawn."""
        found = dict.fromkeys(base)
        found.update(dict.fromkeys(sorted(self.added)))
        return [open_kfid for open_kfid in found if open_kfid not in self.withdrawn]

    def apply(self, callback: KfCallback) -> None:
        """Record *callback*'s accounts and start its handlers (in tasks of their own)."""
        for open_kfid in callback.auth_add_open_kfids:
            self.withdrawn.discard(open_kfid)
            self.added.add(open_kfid)
        for open_kfid in callback.auth_del_open_kfids:
            self.added.discard(open_kfid)
            self.withdrawn.add(open_kfid)
        logger.info(
            "KF accounts authorised: %d, withdrawn: %d",
            len(callback.auth_add_open_kfids),
            len(callback.auth_del_open_kfids),
        )
        for handler in self._handlers:
            task = asyncio.get_running_loop().create_task(self._run(handler, callback))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _run(self, handler: AuthHandler, callback: KfCallback) -> None:
        try:
            await handler(callback)
        except Exception:
            logger.exception("an account authorisation handler failed")

    async def aclose(self, seconds: float) -> None:
        """Let running handlers finish within *seconds*, then cancel them."""
        if not self._tasks:
            return
        tasks = [task for task in self._tasks if task is not asyncio.current_task()]
        if not tasks:
            return
        _, busy = await asyncio.wait(tasks, timeout=seconds)
        for task in busy:
            task.cancel()
        if busy:
            logger.warning("%d account authorisation handler(s) cut off at shutdown", len(busy))
            await asyncio.wait(busy, timeout=1.0)
