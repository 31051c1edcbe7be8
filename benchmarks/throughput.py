"""batch_get of 10,000 ids (100 chunks) against a simulator answering in 20 ms.

Subjects, each with its own long-lived client, warmed up once, then timed in
interleaved rounds:

- ``aiohttp, Semaphore(20)``: bare aiohttp posting the 100 chunks, 20 at a time (the floor);
- ``httpx, Semaphore(20)``: the same with a bare ``httpx.AsyncClient``;
- ``httpx, sequential``: one chunk after the other;
- ``wecom_kf_async``: ``KfClient(max_concurrency=20, rate_limit=None).customers.batch_get``.

Every subject encodes the request bodies and decodes the JSON answers; the library
also structures the customers and puts them in input order. Target: library <= 1.15x
the aiohttp floor.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from wecom_kf_async.testing import serve_in_subprocess

from ._common import (
    Settings,
    batchget_url,
    chunked,
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

IDS = 10_000
LATENCY = 0.02
CONCURRENCY = 20
TARGET = 1.15

FLOOR = "aiohttp, Semaphore(20)"
HTTPX = "httpx, Semaphore(20)"
SEQUENTIAL = "httpx, sequential"
LIBRARY = "wecom_kf_async batch_get"

_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _body(chunk: list[str]) -> bytes:
    payload = {"external_userid_list": chunk, "need_enter_session_context": 0}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _count(data: dict[str, object]) -> int:
    if data.get("errcode") != 0:
        raise RuntimeError(f"batchget answered errcode {data.get('errcode')}")
    customers = data.get("customer_list")
    assert isinstance(customers, list)
    return len(customers)


async def _run(settings: Settings) -> bool:
    repeats = settings.pick(default=7, quick=3)
    ids = make_ids(IDS)
    chunks = chunked(ids)
    with serve_in_subprocess(latency=LATENCY) as base_url:
        url = batchget_url(base_url, fetch_token(base_url))
        async with (
            aiohttp.ClientSession() as session,
            httpx.AsyncClient(
                limits=httpx.Limits(
                    max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY
                ),
                timeout=30.0,
            ) as client,
            sim_client(base_url, max_concurrency=CONCURRENCY) as kf,
        ):
            await kf.tokens.get()  # token pre-fetched: not part of the timing

            async def aiohttp_floor() -> int:
                gate = asyncio.Semaphore(CONCURRENCY)

                async def one(chunk: list[str]) -> int:
                    async with gate, session.post(url, data=_body(chunk), headers=_HEADERS) as r:
                        return _count(json.loads(await r.read()))

                return sum(await asyncio.gather(*(one(c) for c in chunks)))

            async def httpx_gated() -> int:
                gate = asyncio.Semaphore(CONCURRENCY)

                async def one(chunk: list[str]) -> int:
                    async with gate:
                        r = await client.post(url, content=_body(chunk), headers=_HEADERS)
                    return _count(json.loads(r.content))

                return sum(await asyncio.gather(*(one(c) for c in chunks)))

            async def httpx_sequential() -> int:
                total = 0
                for chunk in chunks:
                    r = await client.post(url, content=_body(chunk), headers=_HEADERS)
                    total += _count(json.loads(r.content))
                return total

            async def library() -> int:
                result = await kf.customers.batch_get(ids)
                # Correctness check (not a test): every id came back, in order.
                if not result.ok or [c.external_userid for c in result.customers] != ids:
                    raise RuntimeError(
                        f"batch_get lost ids: {len(result.customers)} customers, "
                        f"{len(result.invalid_external_userids)} invalid, "
                        f"{len(result.failed)} failed"
                    )
                return len(result.customers)

            subjects: dict[str, Callable[[], Awaitable[int]]] = {
                FLOOR: aiohttp_floor,
                HTTPX: httpx_gated,
                SEQUENTIAL: httpx_sequential,
                LIBRARY: library,
            }
            for run in subjects.values():  # warm-up: connections, caches
                await run()
            seconds: dict[str, list[float]] = {name: [] for name in subjects}
            for name in interleaved(list(subjects), repeats):
                elapsed, count = await time_async(subjects[name])
                if count != IDS:
                    raise RuntimeError(f"{name} got {count} customers, expected {IDS}")
                seconds[name].append(elapsed)

    print_header(
        "throughput",
        f"batch_get of {IDS:,} ids ({len(chunks)} chunks), simulator latency "
        f"{LATENCY * 1000:.0f} ms in another process, concurrency {CONCURRENCY}, "
        f"rate limit off, {repeats} interleaved repeats",
    )
    floor = median(seconds[FLOOR])
    rows = [
        (
            name,
            median(times),
            min(times),
            max(times),
            f"{IDS / median(times):,.0f}",
            f"{ratio(median(times), floor):.2f}x",
        )
        for name, times in seconds.items()
    ]
    print_table(
        ["subject", "median s", "min s", "max s", "ids/s", "vs floor"],
        rows,
    )
    library_ratio = ratio(median(seconds[LIBRARY]), floor)
    print(f"all {IDS:,} ids came back from every subject")
    return verdict(
        library_ratio <= TARGET,
        f"library / aiohttp floor = {library_ratio:.2f}x (target <= {TARGET:.2f}x)",
    )


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its target."""
    return asyncio.run(_run(settings))


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
