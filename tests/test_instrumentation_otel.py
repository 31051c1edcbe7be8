"""OpenTelemetryInstrumentation with the SDK's in-memory exporter: nesting, chain, no secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from wecom_kf_async import KfBot, Text, TextMessage
from wecom_kf_async.callback import CallbackCrypto
from wecom_kf_async.instrumentation import OpenTelemetryInstrumentation
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator

from .conftest import client_for, until

BATCHGET = "kf/customer/batchget"
CALLBACK_TOKEN = "kfBotToken123"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    found = InMemorySpanExporter()
    yield found
    found.shutdown()


@pytest.fixture
def hook(exporter: InMemorySpanExporter) -> OpenTelemetryInstrumentation:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OpenTelemetryInstrumentation(provider)


def by_name(spans: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    return [span for span in spans if span.name == name]


def children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


def every_string(spans: tuple[ReadableSpan, ...]) -> Iterator[str]:
    """Every name, attribute key and value, event name and event attribute of every span."""

    def values(attributes: Any) -> Iterator[str]:
        for key, value in (attributes or {}).items():
            yield str(key)
            yield str(value)

    for span in spans:
        yield span.name
        yield from values(span.attributes)
        yield str(span.status.description)
        for event in span.events:
            yield event.name
            yield from values(event.attributes)
        for link in span.links:
            yield from values(link.attributes)


async def test_one_span_per_call_with_one_child_per_attempt(
    sim: WeComSimulator, exporter: InMemorySpanExporter, hook: OpenTelemetryInstrumentation
) -> None:
    sim.script(BATCHGET, [45009])
    async with client_for(sim, instrumentation=[hook]) as kf:
        result = await kf.customers.batch_get([f"wm{index:04d}" for index in range(250)])
    assert result.ok
    spans = exporter.get_finished_spans()

    calls = by_name(spans, f"wecom {BATCHGET}")
    assert len(calls) == 3  # three chunks of at most 100
    attempts = [
        [span for span in children(spans, call) if span.kind is SpanKind.CLIENT] for call in calls
    ]
    assert sorted(len(found) for found in attempts) == [1, 1, 2]
    assert sum(len(found) for found in attempts) == sim.stats.calls[BATCHGET]
    for call, found in zip(calls, attempts, strict=True):
        assert call.kind is SpanKind.INTERNAL
        assert call.attributes is not None
        assert call.attributes["wecom.path"] == BATCHGET
        for attempt in found:
            assert attempt.kind is SpanKind.CLIENT
            assert attempt.name == f"POST /cgi-bin/{BATCHGET}"
            assert attempt.start_time is not None
            assert call.start_time is not None
            assert call.start_time <= attempt.start_time
            assert attempt.end_time is not None
            assert call.end_time is not None
            assert attempt.end_time <= call.end_time
            attributes = attempt.attributes or {}
            assert attributes["http.request.method"] == "POST"
            assert attributes["url.full"] == f"http://wecom.sim/cgi-bin/{BATCHGET}"
            assert attributes["server.address"] == "wecom.sim"
            assert attributes["server.port"] == 80
            assert attributes["http.response.status_code"] == 200
            assert attributes["wecom.path"] == BATCHGET

    (retried,) = [found for found in attempts if len(found) == 2]
    first, second = sorted(retried, key=lambda span: span.start_time or 0)
    assert (first.attributes or {})["wecom.errcode"] == 45009
    assert first.status.status_code is StatusCode.ERROR
    assert "http.request.resend_count" not in (first.attributes or {})
    assert (second.attributes or {})["wecom.errcode"] == 0
    assert (second.attributes or {})["http.request.resend_count"] == 1
    (parent,) = [call for call, found in zip(calls, attempts, strict=True) if found == retried]
    assert [event.name for event in parent.events].count("wecom.retry") == 1

    # gettoken is a call of its own, its attempt nested under it, and it nests under
    # the call that needed the token
    (gettoken,) = by_name(spans, "wecom gettoken")
    assert [span.name for span in children(spans, gettoken)] == ["GET /cgi-bin/gettoken"]
    assert gettoken.parent is not None
    assert gettoken.parent.span_id in {call.context.span_id for call in calls}


async def test_no_span_carries_the_secret_or_the_token(
    sim: WeComSimulator, exporter: InMemorySpanExporter, hook: OpenTelemetryInstrumentation
) -> None:
    sim.script(BATCHGET, [45009, 40014])  # a retry, and a refused token (refresh)
    async with client_for(sim, instrumentation=[hook]) as kf:
        await kf.customers.batch_get([f"wm{index:04d}" for index in range(150)])
        await kf.accounts.list()
        tokens = {(await kf.tokens.get()).value, *sim.issued_tokens}
    spans = exporter.get_finished_spans()
    assert len(spans) >= 6
    strings = list(every_string(spans))
    assert any(s == "http://wecom.sim/cgi-bin/gettoken" for s in strings)  # the search sees URLs
    for secret in (SIM_SECRET, *tokens):
        leaks = [s for s in strings if secret in s]
        assert not leaks, f"{secret[:4]}... found in {leaks}"
    assert not [s for s in strings if "access_token=" in s or "corpsecret" in s]


async def test_callback_pull_and_handlers_share_one_trace(
    sim: WeComSimulator, exporter: InMemorySpanExporter, hook: OpenTelemetryInstrumentation
) -> None:
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    async with client_for(sim, instrumentation=[hook]) as kf:
        bot = KfBot(kf, CallbackCrypto(CALLBACK_TOKEN, KEY, sim.corp_id))
        seen: list[str] = []

        @bot.on(TextMessage)
        async def answer(msg: TextMessage) -> None:
            seen.append(msg.text.content)
            assert msg.external_userid is not None
            await kf.messages.send(msg.external_userid, kfid, Text("hi"))

        sim.set_callback(bot.asgi_app(), token=CALLBACK_TOKEN, encoding_aes_key=KEY)
        async with bot:
            sim.customer_says(kfid, "wmCustomer", Text("hello"))
            push = await sim.push_callback(kfid)
            assert push.ok
            await until(lambda: bool(exporter.get_finished_spans()) and _pull_done(exporter))
    assert seen == ["hello"]
    spans = exporter.get_finished_spans()
    (callback,) = by_name(spans, "wecom callback")
    (pull,) = by_name(spans, "wecom pull")
    (handler,) = by_name(spans, "wecom handler TextMessage")
    assert callback.parent is None
    assert pull.parent is not None
    assert pull.parent.span_id == callback.context.span_id
    assert handler.parent is not None
    assert handler.parent.span_id == pull.context.span_id
    (sync,) = [s for s in by_name(spans, "wecom kf/sync_msg") if s.parent == pull.context]
    (send,) = by_name(spans, "wecom kf/send_msg")
    assert send.parent is not None
    assert send.parent.span_id == handler.context.span_id
    trace_ids = {span.context.trace_id for span in (callback, pull, handler, sync, send)}
    assert len(trace_ids) == 1
    assert (callback.attributes or {})["wecom.open_kfid"] == kfid
    assert (pull.attributes or {})["wecom.messages"] == 1
    assert (handler.attributes or {})["wecom.handler"].endswith("answer")
    assert "wecom.sync_page" in [event.name for event in pull.events]


def _pull_done(exporter: InMemorySpanExporter) -> bool:
    return any(span.name == "wecom pull" for span in exporter.get_finished_spans())


async def test_a_failing_handler_marks_its_span(
    sim: WeComSimulator, exporter: InMemorySpanExporter, hook: OpenTelemetryInstrumentation
) -> None:
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    async with client_for(sim, instrumentation=[hook]) as kf:
        bot = KfBot(kf)

        @bot.on(TextMessage)
        async def broken(msg: TextMessage) -> None:
            raise ValueError("boom")

        async with bot:
            sim.customer_says(kfid, "wmCustomer", Text("hello"))
            bot.wake(kfid)
            await until(lambda: _pull_done(exporter))
    (handler,) = by_name(exporter.get_finished_spans(), "wecom handler TextMessage")
    assert handler.status.status_code is StatusCode.ERROR
    assert (handler.attributes or {})["error.type"] == "ValueError"
    assert "wecom.handler_failed" in [event.name for event in handler.events]


async def test_a_rejected_callback_is_an_error_span(
    sim: WeComSimulator, exporter: InMemorySpanExporter, hook: OpenTelemetryInstrumentation
) -> None:
    import httpx

    async with client_for(sim, instrumentation=[hook]) as kf:
        bot = KfBot(kf, CallbackCrypto(CALLBACK_TOKEN, KEY, sim.corp_id))
        transport = httpx.ASGITransport(app=bot.asgi_app())
        async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
            params = {"msg_signature": "bad", "timestamp": "1", "nonce": "2"}
            answer = await client.post("/", params=params, content=b"<xml/>")
    assert answer.status_code in (400, 403)
    (span,) = by_name(exporter.get_finished_spans(), "wecom callback")
    assert span.status.status_code is StatusCode.ERROR
    assert (span.attributes or {})["http.response.status_code"] == answer.status_code


async def test_the_global_tracer_provider_is_the_default(sim: WeComSimulator) -> None:
    hook = OpenTelemetryInstrumentation()
    async with client_for(sim, instrumentation=[hook]) as kf:
        await kf.accounts.list()
    assert "open_spans=0" in repr(hook)
