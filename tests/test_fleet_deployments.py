"""Fleet mode on the Redis people run: a cluster, Sentinel, Valkey (real servers, processes).

Each test runs on the loopback deployments ``.ci/redis-deployments`` starts; the
failover tests kill a primary with SIGKILL mid-run and bring it back afterwards.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from wecom_kf_async.fleet import RedisCursorStore, RedisRateLimiter
from wecom_kf_async.testing import SIM_CORP_ID, WeComSimulator, serve

from . import redis_deployments as deployments
from .conftest import close_redis, connect_redis, deployment_url
from .test_fleet_processes import Fleet, _assert_all_succeeded, _gettokens, _stats

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 40  # calls per second per endpoint, for the whole fleet
BATCH_PATH = "kf/customer/batchget"


@pytest.fixture(params=["cluster", "sentinel", "valkey"])
async def deployment(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(kind, url) of a running deployment, healthy (every primary with its replica)."""
    kind: str = request.param
    url = await deployment_url(kind)
    await deployments.until_healthy(kind, url)
    return kind, url


@pytest.fixture(params=["cluster", "sentinel"])
async def replicated(request: pytest.FixtureRequest) -> tuple[str, str]:
    """(kind, url) of a deployment with failover, healthy."""
    kind: str = request.param
    url = await deployment_url(kind)
    await deployments.until_healthy(kind, url)
    return kind, url


class KilledPrimary:
    """Kills the primary that holds a key; brings it back and waits for health at exit."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind, self.url = kind, url
        self.node: deployments.Node | None = None
        self.killed_at = 0.0

    async def kill(self, key: str) -> deployments.Node:
        client = connect_redis(self.url)
        try:
            host, port = await deployments.primary_of(client, key)
        finally:
            await close_redis(client)
        self.node = deployments.describe(host, port)
        self.killed_at = time.monotonic()
        deployments.kill(self.node)
        return self.node

    async def restore(self) -> None:
        if self.node is not None:
            deployments.restart(self.node)
            await deployments.until_healthy(self.kind, self.url)


async def test_a_cold_fleet_fetches_one_token_and_keeps_each_budget(
    deployment: tuple[str, str], sim_url: str, sim_control: httpx.AsyncClient
) -> None:
    """4 processes x 50 callers from a cold cache: 1 gettoken, no 1 s window over budget."""
    kind, url = deployment
    fleet = Fleet(sim_url, url)
    try:
        workers = await fleet.start(4, callers=50, rate_limit=BUDGET)
        results = await fleet.round(workers)
    finally:
        await fleet.stop()
    _assert_all_succeeded(results)
    stats = await _stats(sim_control)
    assert stats["calls"][BATCH_PATH] == 200
    assert _gettokens(stats) == 1
    busiest = {path: n for path, n in stats["busiest_window_1s"].items() if path != "gettoken"}
    print(f"{kind}: 200 calls, 1 gettoken, busiest 1 s window per endpoint {busiest}")
    assert busiest[BATCH_PATH] <= BUDGET
    assert all(n <= BUDGET for n in busiest.values())


def _accounts(sim: WeComSimulator, count: int, messages: int) -> dict[str, list[str]]:
    found = {}
    for n in range(count):
        kfid = sim.add_account(f"Support {n}")
        sim.fill(kfid, messages)
        found[kfid] = [item["msgid"] for item in sim.messages(kfid)]
    return found


async def _consumers(count: int, config: dict[str, Any]) -> list[asyncio.subprocess.Process]:
    return [
        await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fleet_consumer",
            json.dumps({**config, "name": f"c{n}"}),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        for n in range(count)
    ]


async def _outcome(process: asyncio.subprocess.Process) -> dict[str, Any]:
    stdout, stderr = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, stderr.decode()[-3000:]
    outcome: dict[str, Any] = json.loads(stdout.decode().splitlines()[-1])
    return outcome


def _handled(out: Path) -> Counter[str]:
    return Counter(line.split()[2] for line in out.read_text(encoding="utf-8").splitlines())


def _stream_config(
    base_url: str, url: str, expected: dict[str, list[str]], out: Path
) -> dict[str, Any]:
    return {
        "base_url": base_url,
        "redis_url": url,
        "namespace": f"t-{uuid.uuid4().hex[:8]}",
        "accounts": list(expected),
        "expected": {kfid: len(ids) for kfid, ids in expected.items()},
        "out": str(out),
        "limit": 5,
        "lease_ttl": 2.0,
        "handle_seconds": 0.002,
    }


async def test_three_processes_stream_300_messages_each_handled_once(
    deployment: tuple[str, str], tmp_path: Path
) -> None:
    """3 processes on 3 accounts x 100 messages through the fleet cursor store: exactly once."""
    kind, url = deployment
    sim = WeComSimulator(seed=19)
    sim.sync_msg_without_token_per_minute = None
    expected = _accounts(sim, 3, 100)
    out = tmp_path / "handled.txt"
    async with serve(sim) as base_url:
        config = _stream_config(base_url, url, expected, out)
        outcomes = [await _outcome(p) for p in await _consumers(3, config)]
    assert [o["errors"] for o in outcomes] == [[], [], []]
    handled = _handled(out)
    print(f"{kind}: 300 messages, handled by process {[o['handled'] for o in outcomes]}")
    assert sorted(handled) == sorted(m for ids in expected.values() for m in ids)
    assert set(handled.values()) == {1}


async def test_a_primary_killed_mid_batch_costs_no_id_and_no_call(
    replicated: tuple[str, str], sim_url: str, sim_control: httpx.AsyncClient
) -> None:
    """3 x 20,000-id batches; the primary of the batch budget's key is killed mid-run."""
    kind, url = replicated
    fleet = Fleet(sim_url, url)
    victim = KilledPrimary(kind, url)
    size, rate = 20_000, 100
    key = RedisRateLimiter(url, rate, name=f"{SIM_CORP_ID}:{BATCH_PATH}", namespace=fleet.namespace)
    try:
        workers = await fleet.start(3, batch=size, rate_limit=rate)
        for worker in workers:
            worker.go()
        deadline = time.monotonic() + 60
        while (await _stats(sim_control))["calls"].get(BATCH_PATH, 0) < 120:
            assert time.monotonic() < deadline, "the batches made no progress"
            await asyncio.sleep(0.02)
        probe = connect_redis(url)
        try:
            assert await probe.exists(key.key) == 1, "the budget's key should be in use"
        finally:
            await close_redis(probe)
        node = await victim.kill(key.key)
        results = [await worker.result() for worker in workers]
    finally:
        await fleet.stop()
        await key.aclose()
        try:
            await victim.restore()
        finally:
            restored = time.monotonic() - victim.killed_at
    stats = await _stats(sim_control)
    warnings = [w for result in results for w in result["warnings"]]
    outages = sum("unreachable" in w for w in warnings)
    print(
        f"{kind}: killed {node.host}:{node.port}; ids answered "
        f"{[r['answered'] for r in results]} of {size} each, errors "
        f"{sum(len(r['errors']) for r in results)}, gettoken {_gettokens(stats)}, "
        f"batchget calls {stats['calls'][BATCH_PATH]}, fallback warnings {outages}, "
        f"slowest batch {max(r['elapsed'] for r in results):.1f} s, "
        f"healthy again {restored:.1f} s after the kill"
    )
    for result in results:
        assert result["errors"] == [], result["errors"][:5]
        assert result["answered"] == size
    assert _gettokens(stats) <= 2  # the cold start's, and at most one more
    assert outages <= 3  # one warning per process and outage


async def test_streams_deliver_every_message_across_a_failover(
    replicated: tuple[str, str], tmp_path: Path
) -> None:
    """3 processes streaming 3 accounts; the primary of one account's keys is killed mid-run."""
    kind, url = replicated
    sim = WeComSimulator(seed=23)
    sim.sync_msg_without_token_per_minute = None
    expected = _accounts(sim, 3, 100)
    out = tmp_path / "handled.txt"
    victim = KilledPrimary(kind, url)
    async with serve(sim) as base_url:
        config = {**_stream_config(base_url, url, expected, out), "handle_seconds": 0.01}
        processes = await _consumers(3, config)
        try:
            deadline = time.monotonic() + 60
            while not out.exists() or len(out.read_text(encoding="utf-8").splitlines()) < 60:
                assert time.monotonic() < deadline, "the streams made no progress"
                await asyncio.sleep(0.02)
            store = RedisCursorStore(url, namespace=config["namespace"])
            lease_key = store._keys(next(iter(expected))).lease
            await store.aclose()
            node = await victim.kill(lease_key)
            outcomes = [await _outcome(p) for p in processes]
        finally:
            for process in processes:
                if process.returncode is None:
                    process.kill()
                    await process.wait()
            await victim.restore()
    handled = _handled(out)
    errors = [e for o in outcomes for e in o["errors"]]
    twice = sum(n - 1 for n in handled.values())
    print(
        f"{kind}: killed {node.host}:{node.port}; {len(handled)} of 300 messages handled, "
        f"{twice} again, pulls failed and retried {len(errors)}"
    )
    assert sorted(handled) == sorted(m for ids in expected.values() for m in ids)
