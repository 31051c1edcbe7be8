"""``OpenTelemetryInstrumentation``: calls, attempts, callbacks, pulls and handlers as spans.

Needs the ``[otel]`` extra (``opentelemetry-api``; install an SDK to export).

- Each API call is an INTERNAL span ``wecom {path}``, current while the call runs
  (so what it does, such as a token refresh, nests under it); each HTTP attempt is
  a CLIENT child ``{METHOD} /cgi-bin/{path}`` with the HTTP client attributes of
  the OpenTelemetry semantic conventions (``http.request.method``, ``url.full``
  without its query, ``url.template``, ``server.address``, ``server.port``,
  ``http.response.status_code``, ``http.request.resend_count``, ``error.type``)
  plus ``wecom.path`` and ``wecom.errcode``. Retries, rate-limit waits, token
  refreshes and slow-down changes are span events.
- A callback is a span ``wecom callback``, current while it wakes the bot; the
  pull it starts (``wecom pull``) is its child, and each handler
  (``wecom handler {Kind}``) a child of the pull, so the callback, the
  ``sync_msg`` calls, the handlers and what they send share one trace.

No attribute carries a token, the secret, a message body or a customer's name:
the events hold none (see :mod:`wecom_kf_async.instrumentation.events`).
"""

from __future__ import annotations

import asyncio
import functools
from contextvars import Token
from typing import Any
from urllib.parse import urlsplit

from opentelemetry import context, trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, TracerProvider

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
    PullFinished,
    PullStarted,
    RateLimitWaited,
    RequestFinished,
    RetryScheduled,
    SyncPageTaken,
    ThrottleChanged,
    TokenRefreshed,
)

__all__ = ["OpenTelemetryInstrumentation"]

_Key = tuple[Any, ...]


def _task() -> int:
    """The running task's identity (spans opened and closed on one task are keyed by it)."""
    try:
        return id(asyncio.current_task())
    except RuntimeError:
        return 0


class OpenTelemetryInstrumentation:
    """Trace every call, attempt, callback, pull and handler (see the module).

    Args:
        tracer_provider: The provider to trace with (default: the global one,
            ``opentelemetry.trace.get_tracer_provider()``).
    """

    #: The event kinds this hook takes.
    event_types = (
        CallStarted,
        AttemptStarted,
        RequestFinished,
        RetryScheduled,
        CallFinished,
        RateLimitWaited,
        TokenRefreshed,
        ThrottleChanged,
        SyncPageTaken,
        CallbackReceived,
        CallbackAnswered,
        CallbackRejected,
        PullStarted,
        PullFinished,
        HandlerStarted,
        HandlerFinished,
        HandlerFailed,
    )

    def __init__(self, tracer_provider: TracerProvider | None = None) -> None:
        from .. import __version__

        self.tracer = trace.get_tracer("wecom_kf_async", __version__, tracer_provider)
        # Open spans, with the context token of those made current.
        self._open: dict[_Key, tuple[Span, Token[Context]]] = {}
        self._attempts: dict[int, Span] = {}

    def __repr__(self) -> str:
        return f"OpenTelemetryInstrumentation(open_spans={len(self._open)})"

    # -- opening and closing -------------------------------------------------------

    def _start(self, key: _Key, name: str, kind: SpanKind, attributes: dict[str, Any]) -> None:
        span = self.tracer.start_span(name, kind=kind, attributes=attributes)
        token = context.attach(trace.set_span_in_context(span))
        self._open[key] = (span, token)

    def _end(self, key: _Key, attributes: dict[str, Any], error: str | None) -> None:
        found = self._open.pop(key, None)
        if found is None:
            return
        span, token = found
        span.set_attributes(attributes)
        if error is not None:
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()
        context.detach(token)

    @staticmethod
    def _note(name: str, attributes: dict[str, Any]) -> None:
        """An event on the current span (the call, the pull or the handler)."""
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(name, attributes)

    # -- the hook --------------------------------------------------------------------

    def __call__(self, event: InstrumentationEvent) -> None:
        """Open, annotate or close the span *event* concerns."""
        handler = _HANDLERS.get(type(event))
        if handler is not None:
            handler(self, event)

    def _call_started(self, e: CallStarted) -> None:
        attributes = {"wecom.path": e.path, "http.request.method": e.method}
        self._start(("call", e.call_id), f"wecom {e.path}", SpanKind.INTERNAL, attributes)

    def _call_finished(self, e: CallFinished) -> None:
        attempt = self._attempts.pop(e.call_id, None)
        if attempt is not None:  # cancelled in flight: no answer to record
            attempt.set_attribute("error.type", e.error or "cancelled")
            attempt.set_status(Status(StatusCode.ERROR))
            attempt.end()
        attributes: dict[str, Any] = {"wecom.outcome": e.outcome}
        if e.errcode is not None:
            attributes["wecom.errcode"] = e.errcode
        self._end(("call", e.call_id), attributes, e.error)

    def _attempt_started(self, e: AttemptStarted) -> None:
        parent = self._open.get(("call", e.call_id))
        ctx = trace.set_span_in_context(parent[0]) if parent is not None else None
        template, address, port = _url_parts(e.url)
        attributes: dict[str, Any] = {
            "http.request.method": e.method,
            "url.full": e.url,
            "url.template": template,
            "server.address": address,
            "server.port": port,
            "wecom.path": e.path,
        }
        if e.attempt > 1:
            attributes["http.request.resend_count"] = e.attempt - 1
        self._attempts[e.call_id] = self.tracer.start_span(
            f"{e.method} {template}", context=ctx, kind=SpanKind.CLIENT, attributes=attributes
        )

    def _request_finished(self, e: RequestFinished) -> None:
        span = self._attempts.pop(e.call_id, None)
        if span is None:
            return
        if e.status_code is not None:
            span.set_attribute("http.response.status_code", e.status_code)
        if e.errcode is not None:
            span.set_attribute("wecom.errcode", e.errcode)
        span.set_attribute("wecom.outcome", e.outcome)
        if e.outcome != "ok":
            error = str(e.status_code) if e.outcome == "http_error" else e.outcome
            span.set_attribute("error.type", error)
            span.set_status(Status(StatusCode.ERROR, error))
        span.end()

    def _retry(self, e: RetryScheduled) -> None:
        found = self._open.get(("call", e.call_id))
        if found is not None:
            found[0].add_event(
                "wecom.retry",
                {"wecom.attempt": e.attempt, "wecom.wait_seconds": e.wait, "wecom.cause": e.cause},
            )

    def _waited(self, e: RateLimitWaited) -> None:
        self._note("wecom.rate_limit_wait", {"wecom.budget": e.path, "wecom.seconds": e.seconds})

    def _refreshed(self, e: TokenRefreshed) -> None:
        self._note("wecom.token_refreshed", {"wecom.source": e.source, "wecom.seconds": e.duration})

    def _throttle(self, e: ThrottleChanged) -> None:
        self._note("wecom.throttle", {"wecom.path": e.path, "wecom.rate": e.rate or 0.0})

    def _page(self, e: SyncPageTaken) -> None:
        self._note(
            "wecom.sync_page",
            {"wecom.open_kfid": e.open_kfid, "wecom.count": e.count, "wecom.has_more": e.has_more},
        )

    def _callback_received(self, e: CallbackReceived) -> None:
        attributes = {"wecom.open_kfid": e.open_kfid, "wecom.with_token": e.with_token}
        self._start(("callback", _task()), "wecom callback", SpanKind.INTERNAL, attributes)

    def _callback_answered(self, e: CallbackAnswered) -> None:
        self._end(("callback", _task()), {"wecom.woke": e.woke}, None)

    def _callback_rejected(self, e: CallbackRejected) -> None:
        attributes: dict[str, Any] = {"http.response.status_code": e.status}
        if e.code is not None:
            attributes["wecom.callback_code"] = e.code
        span = self.tracer.start_span("wecom callback", attributes=attributes)
        span.set_attribute("error.type", e.reason)
        span.set_status(Status(StatusCode.ERROR, e.reason))
        span.end()

    def _pull_started(self, e: PullStarted) -> None:
        attributes = {"wecom.open_kfid": e.open_kfid, "wecom.with_token": e.with_token}
        self._start(("pull", e.open_kfid, _task()), "wecom pull", SpanKind.INTERNAL, attributes)

    def _pull_finished(self, e: PullFinished) -> None:
        self._end(("pull", e.open_kfid, _task()), {"wecom.messages": e.messages}, e.error)

    def _handler_started(self, e: HandlerStarted) -> None:
        attributes = {
            "wecom.open_kfid": e.open_kfid,
            "wecom.msgid": e.msgid,
            "wecom.message_kind": e.kind,
            "wecom.handler": e.handler,
        }
        key = ("handler", e.msgid, e.handler, _task())
        self._start(key, f"wecom handler {e.kind}", SpanKind.INTERNAL, attributes)

    def _handler_finished(self, e: HandlerFinished) -> None:
        self._end(("handler", e.msgid, e.handler, _task()), {}, e.error)

    def _handler_failed(self, e: HandlerFailed) -> None:
        self._note("wecom.handler_failed", {"wecom.handler": e.handler, "error.type": e.error})


@functools.lru_cache(maxsize=256)
def _url_parts(url: str) -> tuple[str, str, int]:
    """``(url.template, server.address, server.port)`` of a query-free API URL."""
    parts = urlsplit(url)
    return parts.path, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)


_HANDLERS: dict[type[InstrumentationEvent], Any] = {
    CallStarted: OpenTelemetryInstrumentation._call_started,
    CallFinished: OpenTelemetryInstrumentation._call_finished,
    AttemptStarted: OpenTelemetryInstrumentation._attempt_started,
    RequestFinished: OpenTelemetryInstrumentation._request_finished,
    RetryScheduled: OpenTelemetryInstrumentation._retry,
    RateLimitWaited: OpenTelemetryInstrumentation._waited,
    TokenRefreshed: OpenTelemetryInstrumentation._refreshed,
    ThrottleChanged: OpenTelemetryInstrumentation._throttle,
    SyncPageTaken: OpenTelemetryInstrumentation._page,
    CallbackReceived: OpenTelemetryInstrumentation._callback_received,
    CallbackAnswered: OpenTelemetryInstrumentation._callback_answered,
    CallbackRejected: OpenTelemetryInstrumentation._callback_rejected,
    PullStarted: OpenTelemetryInstrumentation._pull_started,
    PullFinished: OpenTelemetryInstrumentation._pull_finished,
    HandlerStarted: OpenTelemetryInstrumentation._handler_started,
    HandlerFinished: OpenTelemetryInstrumentation._handler_finished,
    HandlerFailed: OpenTelemetryInstrumentation._handler_failed,
}
