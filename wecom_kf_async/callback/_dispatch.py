"""The bot's handler table: which handlers take a message, and running them.

Handlers are registered per ``Message``/``Event`` class; a message goes to the
handlers of its nearest registered class, else to the fallback. Handlers of one
message run in order; at most ``max_concurrency`` messages are in handlers at
once. A handler that raises is logged with the msgid, reported to the error hook
and to the instrumentation, and the next handler and message go on; a
``CancelledError`` that escapes a handler (an inner task's) is such a failure too:
only the cancellation of the running task itself (the bot's) goes through.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from .._constants import LOGGER_NAME
from ..instrumentation._hooks import Hooks
from ..instrumentation.events import HandlerFailed, HandlerFinished, HandlerStarted
from ..models import KfMessage

__all__ = ["ErrorHook", "Handler", "Handlers", "cancelled_here"]

logger = logging.getLogger(LOGGER_NAME)

_M = TypeVar("_M", bound=KfMessage)
Handler = Callable[[Any], Awaitable[None]]
#: Called with the message and the exception when a handler raises.
ErrorHook = Callable[[KfMessage, BaseException], Awaitable[None] | None]


class Handlers:
    """Registered handlers, resolved per message class, run under a semaphore."""

    def __init__(self, max_concurrency: int, on_error: ErrorHook | None, hooks: Hooks) -> None:
        self._by_class: dict[type[KfMessage], list[Handler]] = {}
        self.fallback: list[Handler] = []
        self._resolved: dict[type[KfMessage], list[Handler]] = {}
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._on_error = on_error
        self._hooks = hooks
        self._observed = hooks.wants(HandlerStarted) or hooks.wants(HandlerFinished)
        self._failures = hooks.wants(HandlerFailed)
        #: Messages handed to handlers.
        self.handled = 0

    def register(
        self, cls: type[_M], base: type[KfMessage], name: str
    ) -> Callable[[Callable[[_M], Awaitable[None]]], Any]:
        """A decorator registering a handler of *cls*, which must subclass *base*."""
        if not (isinstance(cls, type) and issubclass(cls, base)):
            raise TypeError(f"bot.{name}() takes a {base.__name__} class, got {cls!r}")

        def register(handler: Callable[[_M], Awaitable[None]]) -> Any:
            self._by_class.setdefault(cls, []).append(_checked(handler))
            self._resolved.clear()
            return handler

        return register

    def add_fallback(self, handler: Callable[[KfMessage], Awaitable[None]]) -> None:
        """Register *handler* for the messages no class handler takes."""
        self.fallback.append(_checked(handler))
        self._resolved.clear()

    def for_class(self, cls: type[KfMessage]) -> list[Handler]:
        """The handlers of a message of *cls*: its nearest registered class's, or the fallback."""
        found = self._resolved.get(cls)
        if found is None:
            found = next(
                (self._by_class[k] for k in cls.__mro__ if k in self._by_class), self.fallback
            )
            self._resolved[cls] = found
        return found

    async def dispatch(self, message: KfMessage) -> None:
        """Hand *message* to its handlers, in order (a raising handler does not stop the rest)."""
        handlers = self.for_class(type(message))
        if not handlers:
            logger.debug("%s: no handler for %s", message.msgid, type(message).__name__)
            return
        async with self._semaphore:
            self.handled += 1
            for handler in handlers:
                if self._observed:
                    await self._run_observed(handler, message)
                else:
                    await self._run(handler, message)

    async def _run(self, handler: Handler, message: KfMessage) -> str | None:
        """Run *handler*; a failure is reported and its class name returned."""
        try:
            await handler(message)
        except asyncio.CancelledError as exc:
            if cancelled_here():
                raise
            failure: BaseException = exc
        except Exception as exc:
            failure = exc
        else:
            return None
        await self._failed(message, handler, failure)
        return type(failure).__name__

    async def _run_observed(self, handler: Handler, message: KfMessage) -> None:
        fields = {
            "open_kfid": message.open_kfid or "",
            "msgid": message.msgid,
            "kind": type(message).__name__,
            "handler": _name(handler),
        }
        self._hooks.emit(HandlerStarted(**fields))
        started, error = time.monotonic(), None
        try:
            error = await self._run(handler, message)
        except BaseException as exc:
            error = type(exc).__name__
            raise
        finally:
            self._hooks.emit(
                HandlerFinished(**fields, duration=time.monotonic() - started, error=error)
            )

    async def _failed(self, message: KfMessage, handler: Handler, exc: BaseException) -> None:
        if self._failures:
            self._hooks.emit(
                HandlerFailed(
                    open_kfid=message.open_kfid or "",
                    msgid=message.msgid,
                    kind=type(message).__name__,
                    handler=_name(handler),
                    error=type(exc).__name__,
                )
            )
        logger.exception(
            "handler %s failed on %s %s; going on with the next message",
            _name(handler),
            type(message).__name__,
            message.msgid,
            exc_info=exc,
        )
        hook = self._on_error
        if hook is None:
            return
        try:
            outcome = hook(message, exc)
            if inspect.isawaitable(outcome):
                await outcome
        except Exception:
            logger.exception("the bot's error hook failed on %s", message.msgid)


def cancelled_here() -> bool:
    """Whether the running task itself was asked to stop (not a CancelledError of another's)."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _name(handler: Handler) -> str:
    return str(getattr(handler, "__qualname__", type(handler).__qualname__))


def _checked(handler: Callable[..., Awaitable[None]]) -> Handler:
    if not inspect.iscoroutinefunction(handler) and not inspect.iscoroutinefunction(
        getattr(handler, "__call__", None)  # noqa: B004 - an object with an async __call__
    ):
        raise TypeError(f"a handler must be an async function, got {handler!r}")
    return handler
