"""One KF callback URL for every corp (ProviderBots), and no secret of any kind leaks."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest

from wecom_kf_async import KfBot, Text
from wecom_kf_async.instrumentation import (
    LoggingInstrumentation,
    OpenTelemetryInstrumentation,
    PrometheusInstrumentation,
)
from wecom_kf_async.models import TextMessage
from wecom_kf_async.providers import (
    InMemoryCorpCredentials,
    KfProvider,
    ProviderBots,
    Suite,
    SuiteTicketInstruction,
)
from wecom_kf_async.testing.provider import (
    SIM_SUITE_AES_KEY,
    SIM_SUITE_ID,
    SIM_SUITE_SECRET,
    SIM_SUITE_TOKEN,
    ProviderSimulator,
)


def provider_for(sim: ProviderSimulator, corps: list[str], **client_options: Any) -> KfProvider:
    return KfProvider(
        suite=Suite(SIM_SUITE_ID, SIM_SUITE_SECRET),
        credentials=InMemoryCorpCredentials({c: sim.permanent_code(c) for c in corps}),
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
        client_options={
            "rate_limit": None,
            "rate_limits": {"kf/sync_msg:no_token": None},
            **client_options,
        },
    )


async def test_one_url_50_corps_200_callbacks_each_message_once_in_order_per_account() -> None:
    sim = ProviderSimulator()
    corps = [sim.install().corp_id for _ in range(50)]
    accounts = {c: [sim.corp(c).add_account(f"Support {n}") for n in range(2)] for c in corps}
    expected: dict[tuple[str, str], list[str]] = defaultdict(list)
    handled: dict[tuple[str, str], list[str]] = defaultdict(list)
    done = asyncio.Event()
    total = 50 * 2 * 2

    def setup(corp_id: str, bot: KfBot) -> None:
        @bot.on(TextMessage)
        async def record(message: TextMessage) -> None:
            handled[corp_id, message.open_kfid].append(message.msgid)
            if sum(len(ids) for ids in handled.values()) >= total:
                done.set()

    async with provider_for(sim, corps) as provider:
        await provider.handle(
            SuiteTicketInstruction(
                suite_id=SIM_SUITE_ID, ticket=sim.push_ticket(), timestamp=int(time.time())
            )
        )
        bots = ProviderBots(
            provider, token=SIM_SUITE_TOKEN, encoding_aes_key=SIM_SUITE_AES_KEY, setup=setup
        )
        app = bots.asgi_app()
        pushes = []
        for round_ in range(2):
            for corp_id in corps:
                for open_kfid in accounts[corp_id]:
                    msgid = sim.corp(corp_id).customer_says(
                        open_kfid, f"wm{corp_id}", Text(f"hello {round_}")
                    )
                    expected[corp_id, open_kfid].append(msgid)
                    pushes.append(sim.push_kf_callback(corp_id, open_kfid, app))
        answers = await asyncio.gather(*pushes)  # 200 callbacks in one burst
        assert len(answers) == total
        async with asyncio.timeout(30):
            await done.wait()
        assert sorted(bots.corps) == sorted(corps)
        await bots.aclose()
    assert dict(handled) == dict(expected)  # each once, in order per account


async def test_a_callback_for_a_corp_without_authorisation_is_refused_for_a_retry() -> None:
    sim = ProviderSimulator()
    known, unknown = sim.install().corp_id, sim.install().corp_id
    async with provider_for(sim, [known]) as provider:
        bots = ProviderBots(
            provider,
            token=SIM_SUITE_TOKEN,
            encoding_aes_key=SIM_SUITE_AES_KEY,
            setup=lambda corp_id, bot: None,
        )
        push = await sim.push_kf_callback(
            unknown, sim.corp(unknown).add_account("S"), bots.asgi_app()
        )
        assert push.status == 503
        await bots.aclose()


async def test_no_secret_of_any_kind_in_logs_errors_reprs_metrics_or_spans(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A faulty run: a missing ticket, a cancelled corp, expired suite tokens."""
    caplog.set_level(logging.DEBUG)
    sim = ProviderSimulator()
    installs = [sim.install() for _ in range(3)]
    corps = [i.corp_id for i in installs]
    seen: list[str] = []
    registry = CollectorRegistry()
    spans = InMemorySpanExporter()
    tracer = TracerProvider()
    tracer.add_span_processor(SimpleSpanProcessor(spans))
    hooks = [
        LoggingInstrumentation(),
        PrometheusInstrumentation(registry),
        OpenTelemetryInstrumentation(tracer),
    ]
    provider = provider_for(sim, corps[:2], instrumentation=hooks)
    async with provider:
        async with provider.corp(corps[0]) as kf:
            try:
                await kf.accounts.list()  # no ticket yet
            except Exception as exc:
                seen.append(f"{exc!s} {exc!r}")
        ticket = sim.push_ticket()
        await provider.handle(
            SuiteTicketInstruction(suite_id=SIM_SUITE_ID, ticket=ticket, timestamp=int(time.time()))
        )
        authorized = await provider.authorize(installs[2].auth_code)
        seen.append(repr(authorized))
        sim.expire_suite_tokens()
        sim.uninstall(corps[1])
        for corp_id in corps:
            async with provider.corp(corp_id) as kf:
                seen.append(repr(kf))
                try:
                    await kf.customers.batch_get(["wmA"])
                    await kf.accounts.list()
                except Exception as exc:
                    seen.append(f"{exc!s} {exc!r}")
        seen += [repr(provider), repr(provider.suite), repr(provider.suite_client)]
        seen += [repr(i) for i in installs]
    secrets = {SIM_SUITE_SECRET, ticket}
    secrets |= {sim.permanent_code(c) for c in corps}
    secrets |= {i.auth_code for i in installs}
    secrets |= {t for c in corps for t in sim.corp(c).issued_tokens}
    secrets |= set(sim._suite_tokens)
    assert len(secrets) > 8
    texts = [record.getMessage() for record in caplog.records]
    texts += [str(record.args) for record in caplog.records]
    texts += [record.exc_text or "" for record in caplog.records]
    texts += seen
    texts.append(generate_latest(registry).decode())
    for span in spans.get_finished_spans():
        texts.append(span.to_json())
    assert len(spans.get_finished_spans()) > 5
    spans.shutdown()
    for text in texts:
        for secret in secrets:
            assert secret not in text
