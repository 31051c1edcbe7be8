"""Streams in real processes: killed with SIGKILL and restarted, and two of a fleet at once.

The simulator is served on a loopback port by this process, so it outlives the
consumer processes (``python -m tests.stream_consumer``) that are killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from wecom_kf_async.testing import WeComSimulator, serve

from .conftest import connect_redis

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 5  # messages per page


pytestmark = pytest.mark.every_redis


async def _start(config: dict[str, Any]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.stream_consumer",
        json.dumps(config),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


def _lines(out: Path) -> list[str]:
    if not out.exists():
        return []
    return [line.split()[-1] for line in out.read_text(encoding="utf-8").splitlines() if line]


async def _until_lines(out: Path, count: int, process: asyncio.subprocess.Process) -> None:
    """Wait (bounded) until *out* holds *count* lines or the process ended."""
    for _ in range(3000):
        if len(_lines(out)) >= count or process.returncode is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the consumer made no progress")


async def _finish(process: asyncio.subprocess.Process) -> str:
    stdout, stderr = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


async def test_a_consumer_killed_20_times_delivers_everything_at_least_once_at_most_twice(
    tmp_path: Path,
) -> None:
    """SIGKILL at random points: every message at least once, none more than twice, file intact."""
    sim = WeComSimulator(seed=7)
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    sim.fill(kfid, 160)
    expected = [item["msgid"] for item in sim.messages(kfid)]
    cursor_file = tmp_path / "cursors.json"
    out = tmp_path / "handled.txt"
    rng = random.Random(20)
    async with serve(sim) as base_url:
        config = {
            "base_url": base_url,
            "open_kfid": kfid,
            "store": "file",
            "cursor_file": str(cursor_file),
            "out": str(out),
            "limit": LIMIT,
            "name": "consumer",
            "handle_seconds": 0.003,
        }
        for _ in range(20):
            before = len(_lines(out))
            process = await _start(config)
            # Kill past the first page of this run, so that each page is cut at most
            # once (a page cut twice would be delivered three times by design).
            await _until_lines(out, before + rng.randint(LIMIT + 1, 3 * LIMIT), process)
            if process.returncode is None:
                os.kill(process.pid, signal.SIGKILL)
            await process.wait()
            if cursor_file.exists():
                json.loads(cursor_file.read_text(encoding="utf-8"))  # never torn
        assert "done" in await _finish(await _start(config))
    counts = Counter(_lines(out))
    assert set(counts) == set(expected)  # nothing lost, nothing invented
    assert max(counts.values()) <= 2
    assert sum(counts.values()) > len(expected)  # the kills did cost re-reads


@pytest.fixture
async def redis_namespace(redis_url: str) -> str:
    """A key prefix of this test's own on the test Redis."""
    return f"t-{uuid.uuid4().hex[:8]}"


def _account(seed: int, count: int) -> tuple[WeComSimulator, str, list[str]]:
    """A simulator with one account holding *count* messages, and their msgids."""
    sim = WeComSimulator(seed=seed)
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    sim.fill(kfid, count)
    return sim, kfid, [item["msgid"] for item in sim.messages(kfid)]


def _fleet_config(
    base_url: str, kfid: str, redis_url: str, namespace: str, out: Path, **settings: Any
) -> dict[str, Any]:
    """A consumer's config with the Redis store; *settings* add to or override it."""
    return {
        "base_url": base_url,
        "open_kfid": kfid,
        "store": "redis",
        "redis_url": redis_url,
        "namespace": namespace,
        "out": str(out),
        "limit": LIMIT,
        **settings,
    }


async def _until_expired(redis: aioredis.Redis, key: str) -> None:
    """Wait (bounded) until Redis expires *key*, a lease nobody renews (<= 1 s here)."""
    for _ in range(500):
        if not await redis.exists(key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{key} never expired")


async def test_two_fleet_processes_woken_together_never_both_handle_one_page(
    tmp_path: Path, redis_url: str, redis_namespace: str
) -> None:
    """Two consumers with the Redis store start at once: each message handled by exactly one."""
    sim, kfid, expected = _account(3, 120)
    out = tmp_path / "handled.txt"
    async with serve(sim) as base_url:
        common = _fleet_config(
            base_url, kfid, redis_url, redis_namespace, out, lease_ttl=5.0, handle_seconds=0.002
        )
        processes = [await _start({**common, "name": name}) for name in ("a", "b")]
        for process in processes:
            await _finish(process)
    handled = [line.split() for line in out.read_text(encoding="utf-8").splitlines()]
    by_msgid = Counter(msgid for _, msgid in handled)
    assert sorted(by_msgid) == sorted(expected)
    assert set(by_msgid.values()) == {1}  # never two handlers, never twice


async def test_a_killed_fleet_consumer_is_replaced_within_the_lease_ttl(
    tmp_path: Path, redis_url: str, redis_namespace: str
) -> None:
    """The holder dies mid-pull; once its lease expires the next one takes over, losing nothing."""
    sim, kfid, expected = _account(5, 60)
    out = tmp_path / "handled.txt"
    redis = connect_redis(redis_url)
    try:
        async with serve(sim) as base_url:
            config = _fleet_config(
                base_url,
                kfid,
                redis_url,
                redis_namespace,
                out,
                lease_ttl=1.0,
                handle_seconds=0.01,
                name="first",
            )
            first = await _start(config)
            await _until_lines(out, 2 * LIMIT + 2, first)
            os.kill(first.pid, signal.SIGKILL)
            await first.wait()
            lease_key = f"{redis_namespace}:lease:{{{kfid}}}"
            remaining_ms = await redis.pttl(lease_key)
            assert 0 < remaining_ms <= 1000  # the dead holder's lease, expiring on its own
            await _until_expired(redis, lease_key)
            assert "done" in await _finish(await _start({**config, "name": "second"}))
    finally:
        await redis.aclose()
    counts = Counter(_lines(out))
    assert set(counts) == set(expected)
    assert max(counts.values()) <= 2


def _stopped(pid: int) -> bool:
    """Whether the kernel reports *pid* stopped (state ``T``)."""
    return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] == "T"


async def test_a_paused_fleet_consumer_hands_out_nothing_once_its_lease_ran_out(
    tmp_path: Path, redis_url: str, redis_namespace: str
) -> None:
    """SIGSTOP past the lease, another consumer takes over, SIGCONT: the paused one stops.

    It may finish the message it had in hand when it was paused, and nothing more.
    """
    sim, kfid, expected = _account(6, 40)
    out = tmp_path / "handled.txt"
    redis = connect_redis(redis_url)
    try:
        async with serve(sim) as base_url:
            config = _fleet_config(
                base_url,
                kfid,
                redis_url,
                redis_namespace,
                out,
                lease_ttl=1.0,
                limit=10,
                handle_seconds=0.05,
                name="paused",
            )
            paused = await _start(config)
            await _until_lines(out, 2, paused)  # early in its first page of 10
            os.kill(paused.pid, signal.SIGSTOP)
            for _ in range(10_000):
                if _stopped(paused.pid):
                    break
            else:
                raise AssertionError("the consumer did not stop")
            before = len(_lines(out))
            await _until_expired(redis, f"{redis_namespace}:lease:{{{kfid}}}")
            assert "done" in await _finish(await _start({**config, "name": "successor"}))
            os.kill(paused.pid, signal.SIGCONT)
            _, stderr = await asyncio.wait_for(paused.communicate(), 60)
    finally:
        await redis.aclose()
    assert paused.returncode != 0
    assert "LeaseLostError" in stderr.decode()
    handled = [line.split() for line in out.read_text(encoding="utf-8").splitlines()]
    by_paused = [msgid for name, msgid in handled if name == "paused"]
    assert len(by_paused) <= before + 1  # at most the message in hand at the pause
    assert {msgid for name, msgid in handled if name == "successor"} == set(expected)
