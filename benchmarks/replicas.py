"""What ``RedisCursorStore(wait_replicas=1)`` costs a cursor save, on Sentinel and a cluster.

A save with ``wait_replicas=1`` sends the fenced save script and a ``WAIT 1`` down one
connection and answers once the replica has the write. Subjects, per deployment:
``wait_replicas=0`` (the baseline: the script alone) and ``wait_replicas=1``. Each
round holds one account's lease and saves its cursor 200 times in a row; rounds are
interleaved; medians of wall time and of this process's CPU time per save, and the
saves a replica did not have within ``wait_timeout`` (100 ms).

Needs the loopback deployments of ``.ci/redis-deployments start`` (or
``REDIS_SENTINEL_URL`` / ``REDIS_CLUSTER_URL``); a deployment that does not answer is
reported and skipped.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid

from wecom_kf_async.fleet import RedisCursorStore, _redis

from ._common import Settings, interleaved, median, print_header, print_table, ratio

SAVES = 200
DEPLOYMENTS = {
    "sentinel": os.environ.get(
        "REDIS_SENTINEL_URL",
        "redis+sentinel://127.0.0.1:26480,127.0.0.1:26481,127.0.0.1:26482/kfprimary",
    ),
    "cluster": os.environ.get(
        "REDIS_CLUSTER_URL", "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"
    ),
}


async def _answers(url: str) -> bool:
    client = _redis.connect(url)
    try:
        await _redis.ready(client)
        return bool(await client.ping())
    except Exception:
        return False
    finally:
        await _redis.close(client)


async def _round(store: RedisCursorStore, open_kfid: str) -> tuple[float, float]:
    """Wall and CPU seconds per save, over SAVES saves under one lease."""
    async with store.consume(open_kfid) as lease:
        assert lease is not None
        cpu, start = time.process_time(), time.perf_counter()
        for n in range(SAVES):
            await lease.set(f"cursor-{n}")
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall / SAVES, cpu / SAVES


async def _measure(url: str, repeats: int) -> list[list[object]]:
    namespace = f"bench-{uuid.uuid4().hex[:8]}"
    stores = {
        f"wait_replicas={n}": RedisCursorStore(
            url, namespace=namespace, wait_replicas=n, wait_timeout=0.1
        )
        for n in (0, 1)
    }
    walls: dict[str, list[float]] = {name: [] for name in stores}
    cpus: dict[str, list[float]] = {name: [] for name in stores}
    try:
        for name in stores:  # warm up: connections, scripts, the cluster's slots
            await _round(stores[name], "wkWarm")
        for name in interleaved(list(stores), repeats):
            wall, cpu = await _round(stores[name], f"wk{name[-1]}")
            walls[name].append(wall)
            cpus[name].append(cpu)
    finally:
        for store in stores.values():
            await store.aclose()
    base = median(walls["wait_replicas=0"])
    return [
        [
            name,
            f"{median(walls[name]) * 1000:.3f}",
            f"{ratio(median(walls[name]), base):.2f}x",
            f"{median(cpus[name]) * 1000:.3f}",
            stores[name].unacknowledged,
        ]
        for name in stores
    ]


def run(settings: Settings) -> bool:
    """Print the table; True when every deployment answered."""
    repeats = settings.pick(9, 3)
    print_header(
        "replicas",
        f"{SAVES} cursor saves per round under one lease, {repeats} rounds per subject, "
        "interleaved; medians per save",
    )
    rows: list[list[object]] = []
    answered = True
    for kind, url in DEPLOYMENTS.items():
        if not asyncio.run(_answers(url)):
            print(f"{kind}: no deployment answers at {url} (see .ci/redis-deployments)")
            answered = False
            continue
        for row in asyncio.run(_measure(url, repeats)):
            rows.append([f"{kind} {row[0]}", *row[1:]])
    print_table(["subject", "ms/save", "vs wait 0", "CPU ms/save", "unacknowledged"], rows)
    return answered


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
