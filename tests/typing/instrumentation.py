"""Type-checked (never run) examples of the instrumentation hooks (mypy --strict)."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry

from wecom_kf_async import KfClient
from wecom_kf_async.instrumentation import (
    Hook,
    InstrumentationEvent,
    LoggingInstrumentation,
    OpenTelemetryInstrumentation,
    PrometheusInstrumentation,
    RequestFinished,
    RetryScheduled,
    StatsInstrumentation,
    get_default_instrumentation,
    set_default_instrumentation,
)


def a_function_hook(event: InstrumentationEvent) -> None:
    """Any callable taking one event is a hook."""
    if isinstance(event, RequestFinished):
        print(event.path, event.outcome, event.duration)


class OnlyRetries:
    """A hook that asks for one kind of event."""

    event_types = (RetryScheduled,)

    def __call__(self, event: InstrumentationEvent) -> None:
        assert isinstance(event, RetryScheduled)
        print(event.cause, event.wait)


def clients() -> list[KfClient]:
    hooks: list[Hook] = [
        a_function_hook,
        OnlyRetries(),
        LoggingInstrumentation(logging.getLogger("app"), requests=True),
        PrometheusInstrumentation(CollectorRegistry()),
        OpenTelemetryInstrumentation(),
        StatsInstrumentation(),
    ]
    set_default_instrumentation([*get_default_instrumentation(), OnlyRetries()])
    set_default_instrumentation(None)
    plain = KfClient(corp_id="ww", secret="s")
    stats = StatsInstrumentation()
    counted = KfClient(corp_id="ww", secret="s", instrumentation=[*hooks, stats])
    summary: str = stats.summary()
    print(summary, counted.instrumentation.wants(RequestFinished))
    return [plain, counted]
