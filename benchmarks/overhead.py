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
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable

import httpx
import httpx_aiohttp

from wecom_kf_async import KfClient
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
    time_async,
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

                def library(count: int, kf: KfClient = kf) -> Awaitable[int]:
                    async def go() -> int:
                        found = 0
                        for uid in ids[:count]:
                            result = await kf.customers.batch_get([uid])
                            if not result.ok:
                                raise RuntimeError(f"batch_get failed: {result.failed}")
                            found += len(result.customers)
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
                subjects[f"wecom_kf_async, {transport_name}"] = library
                subjects[f"bare httpx get_state, {transport_name}"] = bare_state
                subjects[f"wecom_kf_async get_state, {transport_name}"] = library_state

            for go in subjects.values():  # warm-up: connections, caches
                await go(WARM_UP)
            seconds: dict[str, list[float]] = {name: [] for name in subjects}
            for name in interleaved(list(subjects), repeats):
                elapsed, found = await time_async(functools.partial(subjects[name], calls))
                if found != calls:
                    raise RuntimeError(f"{name} found {found} customers, expected {calls}")
                seconds[name].append(elapsed)
        finally:
            for kf in kfs:
                await kf.aclose()
            for client in clients:
                await client.aclose()

    print_header(
        "overhead",
        f"{calls:,} sequential one-id calls, simulator latency 0 in another process, "
        f"library rate limit off, {repeats} interleaved repeats",
    )
    rows = []
    ratios: dict[str, float] = {}
    extra: dict[str, float] = {}
    for call in ("", " get_state"):
        for transport_name in TRANSPORTS:
            bare_s = median(seconds[f"bare httpx{call}, {transport_name}"])
            lib_s = median(seconds[f"wecom_kf_async{call}, {transport_name}"])
            key = f"{call.strip() or 'batch_get'}, {transport_name}"
            ratios[key] = ratio(lib_s, bare_s)
            extra[key] = (lib_s - bare_s) / calls * 1e6
            for who, value in (("bare httpx", bare_s), ("wecom_kf_async", lib_s)):
                rows.append(
                    (
                        f"{who}{call}, {transport_name}",
                        value,
                        f"{value / calls * 1e6:,.0f}",
                        f"{calls / value:,.0f}",
                        f"{ratio(value, bare_s):.2f}x",
                    )
                )
    print_table(["subject", "median s", "µs/call", "calls/s", "vs bare"], rows)
    for key, extra_us in extra.items():
        print(f"library adds {extra_us:.0f} µs per call ({key})")
    worst = max(ratios.values())
    return verdict(
        worst <= TARGET,
        "library / bare httpx over the same transport = "
        + ", ".join(f"{value:.2f}x ({name})" for name, value in ratios.items())
        + f" (target <= {TARGET:.2f}x)",
    )


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its target."""
    return asyncio.run(_run(settings))


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
