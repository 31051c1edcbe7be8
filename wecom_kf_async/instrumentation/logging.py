"""``LoggingInstrumentation``: events as stdlib log records with ``extra=`` fields (the default)."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Final

import attrs

from .._constants import LOGGER_NAME
from .events import (
    CallbackRejected,
    HandlerFailed,
    InstrumentationEvent,
    PullFailed,
    PullRecovered,
    RateLimitWaited,
    RequestFinished,
    RetryScheduled,
    StreamStalled,
    ThrottleChanged,
    TokenRefreshed,
)

__all__ = ["EVENTS_LOGGER", "LoggingInstrumentation"]

#: The logger the events go to.
EVENTS_LOGGER: Final = f"{LOGGER_NAME}.events"

_QUIET: Final = (RequestFinished, RateLimitWaited)
_WARNING: Final = (CallbackRejected, HandlerFailed, PullFailed, StreamStalled)


class LoggingInstrumentation:
    """Log each event on the ``wecom_kf_async.events`` logger, its fields in ``extra``.

    A record's message is the event's class name and fields; ``extra`` holds
    ``event`` (the class name) and every field, so structured handlers (JSON
    logging, structlog's stdlib integration) get them as attributes. Refusals,
    failed handlers, failed pulls and stalled streams log at WARNING, the rest at
    INFO, and per-request events (each attempt, each rate-limit wait) at DEBUG, and
    only with ``requests=True``: by default they are not even built, so the default
    hook costs nothing per call.

    Args:
        logger: The logger (default: ``wecom_kf_async.events``).
        requests: Also log every attempt and every wait (at DEBUG).
    """

    def __init__(self, logger: logging.Logger | None = None, *, requests: bool = False) -> None:
        self.logger = logger or logging.getLogger(EVENTS_LOGGER)
        self.requests = requests
        #: The event kinds this hook takes.
        self.event_types: Collection[type[InstrumentationEvent]] | None = (
            None
            if requests
            else (RetryScheduled, TokenRefreshed, ThrottleChanged, PullRecovered, *_WARNING)
        )

    def __repr__(self) -> str:
        return f"LoggingInstrumentation(logger={self.logger.name!r}, requests={self.requests})"

    def __call__(self, event: InstrumentationEvent) -> None:
        """Log *event*."""
        if isinstance(event, _QUIET):
            level = logging.DEBUG
        elif isinstance(event, _WARNING):
            level = logging.WARNING
        else:
            level = logging.INFO
        if not self.logger.isEnabledFor(level):
            return
        fields = attrs.asdict(event, recurse=False)
        name = type(event).__name__
        text = " ".join(f"{key}={value!r}" for key, value in fields.items())
        self.logger.log(level, "%s %s", name, text, extra={"event": name, **fields})
