"""Observability: every call, retry, refresh, wait and callback as a typed event for hooks.

A hook is any callable taking one event (:class:`Hook`); give a client its hooks
with ``KfClient(..., instrumentation=[...])``, or set them for every client made
afterwards with :func:`set_default_instrumentation`. Built in:

- :class:`LoggingInstrumentation` (the default): stdlib logging with ``extra=`` fields;
- ``PrometheusInstrumentation(registry=None)``: counters and histograms (extra
  ``[prometheus]``);
- ``OpenTelemetryInstrumentation(tracer_provider=None)``: a span per API call with
  one child per attempt, and the callback, its pull and the handlers in one trace
  (extra ``[otel]``);
- :class:`StatsInstrumentation`: counts for a summary (``wecom-kf --stats``).

An event kind that no hook wants is never built: with no hook, a call pays nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._hooks import Hook, Hooks, get_default_instrumentation, set_default_instrumentation
from .events import (
    AttemptStarted,
    CallbackAnswered,
    CallbackReceived,
    CallbackRejected,
    CallFinished,
    CallStarted,
    HandlerFailed,
    HandlerFinished,
    HandlerStarted,
    InstrumentationEvent,
    PullFailed,
    PullFinished,
    PullRecovered,
    PullStarted,
    RateLimitWaited,
    RequestFinished,
    RetryScheduled,
    StreamStalled,
    SyncPageTaken,
    ThrottleChanged,
    TokenRefreshed,
)
from .logging import EVENTS_LOGGER, LoggingInstrumentation
from .stats import StatsInstrumentation

if TYPE_CHECKING:
    from .otel import OpenTelemetryInstrumentation
    from .prometheus import PrometheusInstrumentation

__all__ = [
    "EVENTS_LOGGER",
    "AttemptStarted",
    "CallFinished",
    "CallStarted",
    "CallbackAnswered",
    "CallbackReceived",
    "CallbackRejected",
    "HandlerFailed",
    "HandlerFinished",
    "HandlerStarted",
    "Hook",
    "Hooks",
    "InstrumentationEvent",
    "LoggingInstrumentation",
    "OpenTelemetryInstrumentation",
    "PrometheusInstrumentation",
    "PullFailed",
    "PullFinished",
    "PullRecovered",
    "PullStarted",
    "RateLimitWaited",
    "RequestFinished",
    "RetryScheduled",
    "StatsInstrumentation",
    "StreamStalled",
    "SyncPageTaken",
    "ThrottleChanged",
    "TokenRefreshed",
    "get_default_instrumentation",
    "set_default_instrumentation",
]


def __getattr__(name: str) -> Any:
    """Import the optional built-ins (and their extras' packages) only when asked for."""
    if name == "PrometheusInstrumentation":
        from .prometheus import PrometheusInstrumentation

        return PrometheusInstrumentation
    if name == "OpenTelemetryInstrumentation":
        from .otel import OpenTelemetryInstrumentation

        return OpenTelemetryInstrumentation
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
