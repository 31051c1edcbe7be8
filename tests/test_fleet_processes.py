"""Fleet mode across real processes: worker processes, a real Redis, the simulator on a port.

Each worker is ``python -m tests.fleet_worker`` with ``KfClient.for_fleet``; the
simulator runs in its own process and counts what reaches it.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from wecom_kf_async.testing import SIM_SECRET

from .conftest import connect_redis

ROOT = Path(__file__).resolve().parent.parent

#: Generous bound for a process to start or a round to finish on a loaded machine.
STEP_TIMEOUT = 60.0


pytestmark = pytest.mark.every_redis


class Worker:
    """One ``tests.fleet_worker`` process."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    async def _line(self) -> str:
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), STEP_TIMEOUT)
        if not line:
            raise AssertionError(f"worker {self.process.pid} exited ({self.process.returncode})")
        return line.decode().strip()

    async def ready(self) -> None:
        assert await self._line() == "ready"

    def go(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(b"go\n")

    async def result(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(await self._line())
        return result

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)

    async def stop(self) -> None:
        if self.process.returncode is None:
            if self.process.stdin is not None and not self.process.stdin.is_closing():
                self.process.stdin.write(b"quit\n")
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()


class Fleet:
    """Starts workers against one simulator and one Redis namespace; stops them all."""

    def __init__(self, base_url: str, redis_url: str) -> None:
        self.base_url = base_url
        self.redis_url = redis_url
        self.namespace = f"fleet-test-{uuid.uuid4().hex[:8]}"
        self.workers: list[Worker] = []

    async def start(self, count: int, **config: Any) -> list[Worker]:
        started = []
        for _ in range(count):
            settings = {
                "redis_url": self.redis_url,
                "base_url": self.base_url,
                "namespace": self.namespace,
                "worker": len(self.workers),
                "callers": 1,
                "calls": 1,
                **config,
            }
            env = dict(os.environ)
            env["PYTHONPATH"] = os.pathsep.join(
                part for part in (str(ROOT), env.get("PYTHONPATH")) if part
            )
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.fleet_worker",
                json.dumps(settings),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                cwd=ROOT,
                env=env,
            )
            worker = Worker(process)
            self.workers.append(worker)
            started.append(worker)
        for worker in started:
            await worker.ready()
        return started

    async def round(self, workers: list[Worker]) -> list[dict[str, Any]]:
        """Send ``go`` to every worker at once; return their outcomes."""
        for worker in workers:
            worker.go()
        return [await worker.result() for worker in workers]

    async def stop(self) -> None:
        await asyncio.gather(*(worker.stop() for worker in self.workers))


@pytest.fixture
async def fleet(sim_url: str, redis_url: str) -> AsyncIterator[Fleet]:
    """Worker processes for one test, stopped at its end."""
    group = Fleet(sim_url, redis_url)
    try:
        yield group
    finally:
        await group.stop()


async def _stats(control: httpx.AsyncClient, *, times: bool = False) -> dict[str, Any]:
    response = await control.get("/stats", params={"times": "1"} if times else None)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def _gettokens(stats: dict[str, Any]) -> int:
    return int(stats["calls"].get("gettoken", 0))


def _assert_all_succeeded(results: list[dict[str, Any]]) -> None:
    for result in results:
        assert result["errors"] == [], result["errors"][:5]


async def test_cold_fleet_fetches_one_token_and_one_more_after_rotation(
    fleet: Fleet, sim_control: httpx.AsyncClient
) -> None:
    workers = await fleet.start(4, callers=50)

    results = await fleet.round(workers)

    _assert_all_succeeded(results)
    assert sum(result["calls"] for result in results) == 200
    stats = await _stats(sim_control)
    assert stats["calls"]["kf/customer/batchget"] == 200
    assert _gettokens(stats) == 1
    assert sum(result["refresh_count"] for result in results) == 1

    (await sim_control.post("/rotate")).raise_for_status()
    results = await fleet.round(workers)

    _assert_all_succeeded(results)
    assert _gettokens(await _stats(sim_control)) == 2
    assert sum(result["refresh_count"] for result in results) == 2


async def test_a_killed_lock_holder_delays_the_others_at_most_the_lock_ttl(
    fleet: Fleet, sim_control: httpx.AsyncClient, redis_url: str
) -> None:
    lock_ttl = 2.0
    # The first gettoken hangs until its caller goes away.
    config = {"script": {"gettoken": ["timeout"]}, "hang_seconds": 600}
    (await sim_control.post("/config", json=config)).raise_for_status()
    (victim,) = await fleet.start(1, lock_ttl=lock_ttl)
    others = await fleet.start(3, callers=50, lock_ttl=lock_ttl)

    victim.go()
    for _ in range(int(STEP_TIMEOUT / 0.02)):
        if (await _stats(sim_control))["faults"].get("timeout") == 1:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the victim's gettoken never reached the simulator")
    redis = connect_redis(redis_url)
    try:
        locks = [key async for key in redis.scan_iter(f"{fleet.namespace}:lock:*")]
        assert len(locks) == 1, "the victim should hold the refresh lock"
        victim.kill()
        await victim.process.wait()
        # The lock outlives its dead holder until its TTL runs out.
        assert await redis.exists(locks[0]) == 1
    finally:
        await redis.aclose()

    results = await fleet.round(others)

    _assert_all_succeeded(results)
    assert _gettokens(await _stats(sim_control)) == 2
    # Each caller waited at most for the lock to expire, plus one refresh and its call.
    slowest = max(result["elapsed"] for result in results)
    print(f"slowest caller after the holder died: {slowest:.2f} s (lock TTL {lock_ttl} s)")
    assert slowest < lock_ttl + 1.5, slowest


async def test_four_processes_share_one_rate_budget(
    fleet: Fleet, sim_control: httpx.AsyncClient
) -> None:
    budget = 40
    workers = await fleet.start(4, callers=25, calls=2, rate_limit=budget)
    _assert_all_succeeded(await fleet.round(workers[:1]))  # fetch the token first
    (await sim_control.post("/reset")).raise_for_status()

    results = await fleet.round(workers)

    _assert_all_succeeded(results)
    stats = await _stats(sim_control, times=True)
    arrivals = sorted(stats["call_times"]["kf/customer/batchget"])
    calls = len(arrivals)
    assert calls == 200  # 5 s of work at the budget
    busiest = stats["busiest_window_1s"]["kf/customer/batchget"]
    achieved = (calls - 1) / (arrivals[-1] - arrivals[0])
    print(f"busiest 1 s window {busiest}, achieved {achieved:.1f} calls/s of {budget}")
    assert busiest <= budget + 1
    assert achieved >= 0.9 * budget
    assert stats["errors"] == {}


async def test_no_secret_reaches_redis(
    fleet: Fleet, sim_control: httpx.AsyncClient, redis_url: str
) -> None:
    workers = await fleet.start(2, callers=5, rate_limit=100)
    _assert_all_succeeded(await fleet.round(workers))
    redis = connect_redis(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(f"{fleet.namespace}:*")]
        assert keys, "fleet mode wrote nothing to Redis"
        contents: list[bytes] = []
        tokens: list[bytes] = []
        for key in keys:
            contents.append(key)
            kind = await redis.type(key)
            if kind == b"hash":
                entry = await redis.hgetall(key)
                tokens.append(entry.pop(b"token"))
                contents += [*entry, *entry.values()]
            else:
                assert kind == b"string", (key, kind)
                contents.append(await redis.get(key))
    finally:
        await redis.aclose()
    assert len(tokens) == 1
    secret = SIM_SECRET.encode()
    for blob in contents:
        assert secret not in blob
        assert tokens[0] not in blob
