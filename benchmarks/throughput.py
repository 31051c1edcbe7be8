"""batch_get of 10,000 and 100,000 ids against a simulator answering in 20 ms.

Subjects, each with its own long-lived client, warmed up once, then timed in
interleaved rounds (the sizes interleaved too):

- ``aiohttp``: bare aiohttp posting the chunks, 20 at a time, decoding the JSON (the
  wall-time floor);
- ``aiohttp + cattrs``: the same, also structuring every answer's customers with the
  library's converter and keeping them in one list (the CPU floor: the work any
  typed client must do);
- ``httpx``: the same as ``aiohttp`` with a bare ``httpx.AsyncClient``;
- ``wecom_kf_async``: ``KfClient(max_concurrency=20, rate_limit=None).customers.batch_get``,
  which also checks the ids, accounts for every id and puts results in input order.

Each row reports the median wall time and the median CPU seconds of this process
(the simulator runs in another). Targets: the library's wall time <= 1.10x the
``aiohttp`` floor, and its CPU <= 1.5x ``aiohttp + cattrs``, at both sizes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx

from wecom_kf_async.models import structure_customers
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
    time_async_cpu,
    verdict,
)

SIZES = (10_000, 100_000)
LATENCY = 0.02
CONCURRENCY = 20
WALL_TARGET = 1.10
CPU_TARGET = 1.5

FLOOR = "aiohttp"
CPU_FLOOR = "aiohttp + cattrs"
HTTPX = "httpx"
LIBRARY = "wecom_kf_async batch_get"

_HEADERS = {"Content-Type": "application/json; charset=utf-8"}


def _body(chunk: list[str]) -> bytes:
    payload = {"external_userid_list": chunk, "need_enter_session_context": 0}
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _customers(data: dict[str, object]) -> list[Any]:
    if data.get("errcode") != 0:
        raise RuntimeError(f"batchget answered errcode {data.get('errcode')}")
    customers = data.get("customer_list")
    assert isinstance(customers, list)
    return customers


Subject = Callable[[list[str]], Awaitable[int]]


async def _run(settings: Settings) -> bool:
    repeats = settings.pick(default=7, quick=3)
    ids_of = {size: make_ids(size) for size in SIZES}
    with serve_in_subprocess(latency=LATENCY) as base_url:
        url = batchget_url(base_url, fetch_token(base_url))
        async with (
            aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session,
            httpx.AsyncClient(
                limits=httpx.Limits(
                    max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY
                ),
                timeout=30.0,
            ) as client,
            sim_client(base_url, max_concurrency=CONCURRENCY) as kf,
        ):
            await kf.tokens.get()  # token pre-fetched: not part of the timing

            def bare_aiohttp(structure: bool) -> Subject:
                async def run(ids: list[str]) -> int:
                    gate = asyncio.Semaphore(CONCURRENCY)

                    async def one(chunk: list[str]) -> list[Any]:
                        async with (
                            gate,
                            session.post(url, data=_body(chunk), headers=_HEADERS) as r,
                        ):
                            raw = _customers(json.loads(await r.read()))
                        return list(structure_customers(raw)) if structure else raw

                    pages = await asyncio.gather(*(one(c) for c in chunked(ids)))
                    # Like any client that returns what it fetched: one list, kept
                    # until the caller is done with it.
                    return len([c for page in pages for c in page])

                return run

            async def bare_httpx(ids: list[str]) -> int:
                gate = asyncio.Semaphore(CONCURRENCY)

                async def one(chunk: list[str]) -> int:
                    async with gate:
                        r = await client.post(url, content=_body(chunk), headers=_HEADERS)
                    return len(_customers(json.loads(r.content)))

                return sum(await asyncio.gather(*(one(c) for c in chunked(ids))))

            async def library(ids: list[str]) -> int:
                result = await kf.customers.batch_get(ids)
                # Correctness check (not a test): every id came back, in order.
                if not result.ok or [c.external_userid for c in result.customers] != ids:
                    raise RuntimeError(
                        f"batch_get lost ids: {len(result.customers)} customers, "
                        f"{len(result.invalid_external_userids)} invalid, "
                        f"{len(result.failed)} failed"
                    )
                return len(result.customers)

            subjects: dict[str, Subject] = {
                FLOOR: bare_aiohttp(structure=False),
                CPU_FLOOR: bare_aiohttp(structure=True),
                HTTPX: bare_httpx,
                LIBRARY: library,
            }
            for run in subjects.values():  # warm-up: connections, caches
                await run(ids_of[SIZES[0]])
            rows = [(size, name) for size in SIZES for name in subjects]
            wall: dict[tuple[int, str], list[float]] = {row: [] for row in rows}
            cpu: dict[tuple[int, str], list[float]] = {row: [] for row in rows}
            for size, name in interleaved(rows, repeats):
                elapsed, used, count = await time_async_cpu(
                    functools.partial(subjects[name], ids_of[size])
                )
                if count != size:
                    raise RuntimeError(f"{name} got {count} customers, expected {size}")
                wall[size, name].append(elapsed)
                cpu[size, name].append(used)

    print_header(
        "throughput",
        f"batch_get of {' and '.join(f'{s:,}' for s in SIZES)} ids (100 per chunk), simulator "
        f"latency {LATENCY * 1000:.0f} ms in another process, concurrency {CONCURRENCY}, "
        f"rate limit off, {repeats} interleaved repeats; CPU: this process only",
    )
    table = []
    ok = True
    findings = []
    for size in SIZES:
        floor, cpu_floor = median(wall[size, FLOOR]), median(cpu[size, CPU_FLOOR])
        for name in subjects:
            w, c = median(wall[size, name]), median(cpu[size, name])
            table.append(
                (
                    f"{size:,} ids, {name}",
                    w,
                    f"{size / w:,.0f}",
                    f"{ratio(w, floor):.2f}x",
                    c,
                    f"{ratio(c, cpu_floor):.2f}x",
                )
            )
        wall_ratio = ratio(median(wall[size, LIBRARY]), floor)
        cpu_ratio = ratio(median(cpu[size, LIBRARY]), cpu_floor)
        ok = ok and wall_ratio <= WALL_TARGET and cpu_ratio <= CPU_TARGET
        findings.append(f"{size:,} ids: wall {wall_ratio:.2f}x, CPU {cpu_ratio:.2f}x")
    print_table(["subject", "wall s", "ids/s", f"vs {FLOOR}", "CPU s", f"vs {CPU_FLOOR}"], table)
    print("every id came back from every subject")
    return verdict(
        ok,
        f"library vs {FLOOR} (wall, target <= {WALL_TARGET:.2f}x) and vs {CPU_FLOOR} "
        f"(CPU, target <= {CPU_TARGET:.2f}x): " + "; ".join(findings),
    )


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its targets."""
    return asyncio.run(_run(settings))


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
