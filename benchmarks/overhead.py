"""Per-call overhead: 2,000 calls, one at a time, at zero simulator latency.

Pairs, each a bare ``httpx.AsyncClient`` posting the same request as the library and
the library's call, both over the same kind of transport (each with its own
instance). The calls: ``KfClient(rate_limit=None).customers.batch_get([id])`` and
a management call, ``kf.sessions.get_state(open_kfid, external_userid)`` (on the
demo corp of the simulator). The transports:

- ``httpx_aiohttp.AiohttpTransport()``;
- httpx's default ``httpx.AsyncHTTPTransport()``.

The bare client sends the very request the library sends (URL, token, headers, body)
and decodes the JSON; the library also goes through its concurrency bound, token
manager, retry wrapper, errcode check, structuring and result assembly. Target:
library <= 1.3x the bare client over the same transport.

Instrumentation rows: ``batch_get`` over ``AiohttpTransport`` with no hook
(``instrumentation=[]``), with the default (``LoggingInstrumentation()``, which
takes no per-request event), and with each built-in hook on:
``PrometheusInstrumentation`` on its own registry, and
``OpenTelemetryInstrumentation`` on an SDK ``TracerProvider`` exporting to memory
(two spans per call) through a ``BatchSpanProcessor`` to an exporter that drops
them (what an OTLP exporter costs the calling thread, less the network). Each is
compared with the no-hook row of the same run.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable, Sequence

import httpx
import httpx_aiohttp

from wecom_kf_async import KfClient
from wecom_kf_async.instrumentation import Hook, LoggingInstrumentation
from wecom_kf_async.testing import serve_in_subprocess
from wecom_kf_async.testing.simulator.accounts import DEMO_ACCOUNT_NAME
from wecom_kf_async.testing.simulator.sessions import DEMO_CUSTOMER

from ._common import (
    Settings,
    batchget_url,
    fetch_token,
    interleaved,
    make_ids,
    median,
    print_header,
    print_table,
    ratio,
    sim_client,
    time_async_cpu,
    verdict,
)

CALLS = 2_000
WARM_UP = 200
TARGET = 1.3

_HEADERS = {"Content-Type": "application/json; charset=utf-8"}

TransportFactory = Callable[[], httpx.AsyncBaseTransport]

TRANSPORTS: dict[str, TransportFactory] = {
    "AiohttpTransport": httpx_aiohttp.AiohttpTransport,
    "AsyncHTTPTransport": httpx.AsyncHTTPTransport,
}


def _hooks() -> dict[str, list[Hook]]:
    """The instrumentation rows: a name and the client's hooks."""
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        SpanExporter,
        SpanExportResult,
    )
    from prometheus_client import CollectorRegistry

    from wecom_kf_async.instrumentation import (
        OpenTelemetryInstrumentation,
        PrometheusInstrumentation,
    )

    class Drop(SpanExporter):
        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Drop()))
    return {
        "no hook": [],
        "LoggingInstrumentation (default)": [LoggingInstrumentation()],
        "PrometheusInstrumentation": [PrometheusInstrumentation(CollectorRegistry())],
        "OpenTelemetryInstrumentation": [OpenTelemetryInstrumentation(provider)],
    }


def _batch_get(kf: KfClient, ids: list[str]) -> Callable[[int], Awaitable[int]]:
    def library(count: int) -> Awaitable[int]:
        async def go() -> int:
            found = 0
            for uid in ids[:count]:
                result = await kf.customers.batch_get([uid])
                if not result.ok:
                    raise RuntimeError(f"batch_get failed: {result.failed}")
                found += len(result.customers)
            return found

        return go()

    return library


async def _run(settings: Settings) -> bool:
    repeats = settings.pick(default=5, quick=2)
    calls = CALLS
    ids = make_ids(calls)
    bodies = [
        json.dumps(
            {"external_userid_list": [uid], "need_enter_session_context": 0},
            ensure_ascii=False,
            separators=(",", ":"),
        ).encode()
        for uid in ids
    ]
    subjects: dict[str, Callable[[int], Awaitable[int]]] = {}
    with serve_in_subprocess(latency=0.0, demo=True) as base_url:
        token = fetch_token(base_url)
        url = batchget_url(base_url, token)
        state_url = f"{base_url}/cgi-bin/kf/service_state/get?access_token={token}"
        clients: list[httpx.AsyncClient] = []
        kfs: list[KfClient] = []
        try:
            for transport_name, factory in TRANSPORTS.items():
                client = httpx.AsyncClient(transport=factory(), timeout=30.0)
                clients.append(client)
                kf = sim_client(base_url, transport=factory())
                await kf.__aenter__()
                kfs.append(kf)
                await kf.tokens.get()
                (open_kfid,) = [
                    a.open_kfid for a in await kf.accounts.list() if a.name == DEMO_ACCOUNT_NAME
                ]
                state_body = json.dumps(
                    {"open_kfid": open_kfid, "external_userid": DEMO_CUSTOMER},
                    separators=(",", ":"),
                ).encode()

                def bare(count: int, client: httpx.AsyncClient = client) -> Awaitable[int]:
                    async def go() -> int:
                        found = 0
                        for body in bodies[:count]:
                            response = await client.post(url, content=body, headers=_HEADERS)
                            data = json.loads(response.content)
                            if data.get("errcode") != 0:
                                raise RuntimeError(f"errcode {data.get('errcode')}")
                            found += len(data["customer_list"])
                        return found

                    return go()

                def bare_state(
                    count: int, client: httpx.AsyncClient = client, state_body: bytes = state_body
                ) -> Awaitable[int]:
                    async def go() -> int:
                        found = 0
                        for _ in range(count):
                            response = await client.post(
                                state_url, content=state_body, headers=_HEADERS
                            )
                            data = json.loads(response.content)
                            if data.get("errcode") != 0:
                                raise RuntimeError(f"errcode {data.get('errcode')}")
                            found += data["service_state"] == 1
                        return found

                    return go()

                def library_state(
                    count: int, kf: KfClient = kf, open_kfid: str = open_kfid
                ) -> Awaitable[int]:
                    async def go() -> int:
                        found = 0
                        for _ in range(count):
                            state = await kf.sessions.get_state(open_kfid, DEMO_CUSTOMER)
                            found += state.state == 1
                        return found

                    return go()

                subjects[f"bare httpx, {transport_name}"] = bare
                subjects[f"wecom_kf_async, {transport_name}"] = _batch_get(kf, ids)
                subjects[f"bare httpx get_state, {transport_name}"] = bare_state
                subjects[f"wecom_kf_async get_state, {transport_name}"] = library_state

            for hook_name, hooks in _hooks().items():
                kf = sim_client(
                    base_url, transport=httpx_aiohttp.AiohttpTransport(), instrumentation=hooks
                )
                await kf.__aenter__()
                kfs.append(kf)
                subjects[f"hooks: {hook_name}"] = _batch_get(kf, ids)

            for go in subjects.values():  # warm-up: connections, caches
                await go(WARM_UP)
            seconds: dict[str, list[float]] = {name: [] for name in subjects}
            cpu: dict[str, list[float]] = {name: [] for name in subjects}
            for name in interleaved(list(subjects), repeats):
                elapsed, used, found = await time_async_cpu(
                    functools.partial(subjects[name], calls)
                )
                if found != calls:
                    raise RuntimeError(f"{name} found {found} customers, expected {calls}")
                seconds[name].append(elapsed)
                cpu[name].append(used)
        finally:
            for kf in kfs:
                await kf.aclose()
            for client in clients:
                await client.aclose()

    print_header(
        "overhead",
        f"{calls:,} sequential one-id calls, simulator latency 0 in another process, "
        f"library rate limit off, {repeats} interleaved repeats; CPU: this process only",
    )
    rows = []
    ratios: dict[str, float] = {}
    extra: dict[str, float] = {}
    for call in ("", " get_state"):
        for transport_name in TRANSPORTS:
            bare_s = median(seconds[f"bare httpx{call}, {transport_name}"])
            bare_cpu = median(cpu[f"bare httpx{call}, {transport_name}"])
            lib_s = median(seconds[f"wecom_kf_async{call}, {transport_name}"])
            key = f"{call.strip() or 'batch_get'}, {transport_name}"
            ratios[key] = ratio(lib_s, bare_s)
            extra[key] = (lib_s - bare_s) / calls * 1e6
            for who in ("bare httpx", "wecom_kf_async"):
                name = f"{who}{call}, {transport_name}"
                value, used = median(seconds[name]), median(cpu[name])
                rows.append(
                    (
                        name,
                        value,
                        f"{value / calls * 1e6:,.0f}",
                        f"{calls / value:,.0f}",
                        f"{ratio(value, bare_s):.2f}x",
                        f"{used / calls * 1e6:,.0f}",
                        f"{ratio(used, bare_cpu):.2f}x",
                    )
                )
    print_table(
        ["subject", "median s", "µs/call", "calls/s", "vs bare", "CPU µs/call", "CPU vs bare"],
        rows,
    )
    for key, extra_us in extra.items():
        print(f"library adds {extra_us:.0f} µs per call ({key})")
    _print_hooks(seconds, cpu, calls)
    worst = max(ratios.values())
    return verdict(
        worst <= TARGET,
        "library / bare httpx over the same transport = "
        + ", ".join(f"{value:.2f}x ({name})" for name, value in ratios.items())
        + f" (target <= {TARGET:.2f}x)",
    )


def _probe_cost() -> float:
    """Microseconds a call spends in the instrumentation code when no hook listens."""
    import time
    import timeit

    from wecom_kf_async.instrumentation import Hooks
    from wecom_kf_async.instrumentation._probe import ProbeFactory

    probes = ProbeFactory(Hooks([]), time.monotonic, "http://sim")

    def one_call() -> None:
        probe = probes("kf/customer/batchget", "POST")
        probe.answered(probe.attempt(), None)
        probe.finished(None)

    number = 100_000
    return min(timeit.repeat(one_call, number=number, repeat=5)) / number * 1e6


def _print_hooks(seconds: dict[str, list[float]], cpu: dict[str, list[float]], calls: int) -> None:
    print()
    print("instrumentation: batch_get over AiohttpTransport, each row its own client")
    base = median(seconds["hooks: no hook"])
    base_cpu = median(cpu["hooks: no hook"])
    rows = []
    for name, values in seconds.items():
        if not name.startswith("hooks: "):
            continue
        value, used = median(values), median(cpu[name])
        rows.append(
            (
                name.removeprefix("hooks: "),
                value,
                f"{value / calls * 1e6:,.0f}",
                f"{ratio(value, base):.2f}x",
                f"{(value - base) / calls * 1e6:+,.1f}",
                f"{used / calls * 1e6:,.0f}",
                f"{ratio(used, base_cpu):.2f}x",
            )
        )
    print_table(
        [
            "hooks",
            "median s",
            "µs/call",
            "vs no hook",
            "µs/call added",
            "CPU µs/call",
            "CPU vs no hook",
        ],
        rows,
    )
    cost = _probe_cost()
    print(
        f"with no hook, a call spends {cost:.2f} µs in the instrumentation code "
        f"({cost / (base / calls * 1e6):.2%} of a call here)"
    )


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its target."""
    return asyncio.run(_run(settings))


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
