"""``PrometheusInstrumentation``: counters and histograms in a ``prometheus_client`` registry.

Needs the ``[prometheus]`` extra (``pip install 'wecom_kf_async[prometheus]'``).
Every metric is named ``wecom_kf_*``; labels hold API paths, outcomes, causes and
status codes only (bounded sets), never an id, a token or a secret. See
``docs/observability.md`` for the list and example queries.
"""

from __future__ import annotations

import threading
import weakref
from typing import Final

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from .events import (
    CallbackAnswered,
    CallbackRejected,
    HandlerFailed,
    InstrumentationEvent,
    PullFailed,
    RateLimitWaited,
    RequestFinished,
    RetryScheduled,
    SyncPageTaken,
    ThrottleChanged,
    TokenRefreshed,
)

__all__ = ["PrometheusInstrumentation"]

#: Buckets of one HTTP attempt's duration, in seconds.
REQUEST_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
#: Buckets of one wait for a rate budget, in seconds.
WAIT_BUCKETS: Final = (0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class _Metrics:
    """The collectors of one registry (registered once, shared by every hook on it)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "wecom_kf_requests",
            "HTTP attempts to WeCom's API, by path and outcome",
            ["path", "outcome"],
            registry=registry,
        )
        self.request_duration = Histogram(
            "wecom_kf_request_duration_seconds",
            "Seconds from sending an attempt to its decoded answer, by path",
            ["path"],
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.retries = Counter(
            "wecom_kf_retries",
            "Retries scheduled, by path and cause (the failure's class name)",
            ["path", "cause"],
            registry=registry,
        )
        self.token_refreshes = Counter(
            "wecom_kf_token_refreshes",
            "Fresh access tokens taken into use, by source (gettoken or shared)",
            ["source"],
            registry=registry,
        )
        self.rate_limit_wait = Histogram(
            "wecom_kf_rate_limit_wait_seconds",
            "Seconds a call waited for its rate budget, by budget (an API path)",
            ["path"],
            buckets=WAIT_BUCKETS,
            registry=registry,
        )
        self.throttle_rate = Gauge(
            "wecom_kf_throttle_rate",
            "Calls per second the adaptive slow-down allows, by path (0: not engaged)",
            ["path"],
            registry=registry,
        )
        self.sync_messages = Counter(
            "wecom_kf_sync_messages",
            "Messages read with sync_msg",
            registry=registry,
        )
        self.callbacks = Counter(
            "wecom_kf_callbacks",
            "Callback requests answered, by HTTP status",
            ["status"],
            registry=registry,
        )
        self.handler_failures = Counter(
            "wecom_kf_handler_failures",
            "Bot handlers that raised, by message kind",
            ["kind"],
            registry=registry,
        )
        self.pull_failures = Counter(
            "wecom_kf_pull_failures",
            "Bot pulls that failed (tried again), by error class and whether handled "
            "messages' cursor is unsaved (the account held)",
            ["error", "cursor_unsaved"],
            registry=registry,
        )


_lock = threading.Lock()
_by_registry: weakref.WeakKeyDictionary[CollectorRegistry, _Metrics] = weakref.WeakKeyDictionary()


def _metrics(registry: CollectorRegistry) -> _Metrics:
    with _lock:
        found = _by_registry.get(registry)
        if found is None:
            found = _by_registry[registry] = _Metrics(registry)
        return found


class PrometheusInstrumentation:
    """Count calls, retries, refreshes and waits in Prometheus metrics.

    Metrics (``_total``, ``_bucket``, ``_sum`` and ``_count`` as usual):
    ``wecom_kf_requests_total{path,outcome}``,
    ``wecom_kf_request_duration_seconds{path}``,
    ``wecom_kf_retries_total{path,cause}``,
    ``wecom_kf_token_refreshes_total{source}``,
    ``wecom_kf_rate_limit_wait_seconds{path}``, and
    ``wecom_kf_throttle_rate{path}``, ``wecom_kf_sync_messages_total``,
    ``wecom_kf_callbacks_total{status}``, ``wecom_kf_handler_failures_total{kind}``,
    ``wecom_kf_pull_failures_total{error,cursor_unsaved}``.

    Args:
        registry: Where the metrics are registered (default: ``prometheus_client``'s
            global ``REGISTRY``). Several hooks (one per client) on one registry
            share its metrics.
    """

    #: The event kinds this hook takes.
    event_types = (
        RequestFinished,
        RetryScheduled,
        TokenRefreshed,
        RateLimitWaited,
        ThrottleChanged,
        SyncPageTaken,
        CallbackAnswered,
        CallbackRejected,
        HandlerFailed,
        PullFailed,
    )

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = REGISTRY if registry is None else registry
        self._metrics = _metrics(self.registry)

    def __repr__(self) -> str:
        where = "REGISTRY" if self.registry is REGISTRY else f"<registry at {id(self.registry):#x}>"
        return f"PrometheusInstrumentation(registry={where})"

    def __call__(self, event: InstrumentationEvent) -> None:
        """Record *event* in the metrics."""
        m = self._metrics
        if isinstance(event, RequestFinished):
            m.requests.labels(event.path, event.outcome).inc()
            m.request_duration.labels(event.path).observe(event.duration)
        elif isinstance(event, RateLimitWaited):
            m.rate_limit_wait.labels(event.path).observe(event.seconds)
        elif isinstance(event, RetryScheduled):
            m.retries.labels(event.path, event.cause).inc()
        elif isinstance(event, TokenRefreshed):
            m.token_refreshes.labels(event.source).inc()
        elif isinstance(event, ThrottleChanged):
            m.throttle_rate.labels(event.path).set(event.rate or 0.0)
        elif isinstance(event, SyncPageTaken):
            m.sync_messages.inc(event.count)
        elif isinstance(event, CallbackAnswered):
            m.callbacks.labels("200").inc()
        elif isinstance(event, CallbackRejected):
            m.callbacks.labels(str(event.status)).inc()
        elif isinstance(event, HandlerFailed):
            m.handler_failures.labels(event.kind).inc()
        elif isinstance(event, PullFailed):
            m.pull_failures.labels(event.error, str(event.cursor_unsaved).lower()).inc()
