"""Hooks: any callable taking one event, and the dispatcher that shields calls from them."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from typing import Protocol, runtime_checkable

from .._constants import LOGGER_NAME
from .events import InstrumentationEvent

__all__ = ["Hook", "Hooks", "get_default_instrumentation", "set_default_instrumentation"]

logger = logging.getLogger(LOGGER_NAME)


@runtime_checkable
class Hook(Protocol):
    """A hook: called with each event it wants, on the caller's task, synchronously.

    It may have an ``event_types`` attribute, the event classes it wants (``None``
    or no attribute: all of them). Events of kinds no hook wants are never even
    built, so an unused kind costs nothing. A hook must be quick; one that raises
    is logged once and otherwise ignored: it never breaks a call.
    """

    def __call__(self, event: InstrumentationEvent) -> None:
        """Take one event."""


def _wanted(hook: Hook) -> Collection[type[InstrumentationEvent]] | None:
    return getattr(hook, "event_types", None)


class Hooks:
    """The hooks of one client, sorted by the event kinds they want."""

    def __init__(self, hooks: Iterable[Hook]) -> None:
        self.hooks: tuple[Hook, ...] = tuple(hooks)
        for hook in self.hooks:
            if not callable(hook):
                raise TypeError(f"an instrumentation hook must be callable, got {hook!r}")
        self._by_kind: dict[type[InstrumentationEvent], tuple[Hook, ...]] = {}
        self._failed: set[int] = set()

    def __repr__(self) -> str:
        return f"Hooks({', '.join(type(h).__name__ for h in self.hooks) or 'none'})"

    def __bool__(self) -> bool:
        return bool(self.hooks)

    def wants(self, kind: type[InstrumentationEvent]) -> bool:
        """Whether any hook takes events of *kind* (build them only then)."""
        return bool(self._for(kind))

    def _for(self, kind: type[InstrumentationEvent]) -> tuple[Hook, ...]:
        found = self._by_kind.get(kind)
        if found is None:
            found = self._by_kind[kind] = tuple(
                hook
                for hook in self.hooks
                if (types := _wanted(hook)) is None or any(issubclass(kind, t) for t in types)
            )
        return found

    def emit(self, event: InstrumentationEvent) -> None:
        """Hand *event* to every hook that wants it; a hook that raises is logged once."""
        for hook in self._for(type(event)):
            try:
                hook(event)
            except Exception:
                if id(hook) not in self._failed:
                    self._failed.add(id(hook))
                    logger.exception(
                        "instrumentation hook %r failed on %s (logged once; calls go on)",
                        hook,
                        type(event).__name__,
                    )


_default: tuple[Hook, ...] | None = None


def set_default_instrumentation(hooks: Sequence[Hook] | None) -> None:
    """The hooks of every client made afterwards without ``instrumentation=``.

    ``None`` restores the library's default, ``[LoggingInstrumentation()]``; ``[]``
    means no hook at all.
    """
    global _default
    if hooks is not None:
        Hooks(hooks)  # checks them
    _default = None if hooks is None else tuple(hooks)


def get_default_instrumentation() -> tuple[Hook, ...]:
    """The hooks a client made now without ``instrumentation=`` gets."""
    if _default is not None:
        return _default
    from .logging import LoggingInstrumentation

    return (LoggingInstrumentation(),)
