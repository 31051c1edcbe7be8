"""Two web workers behind a load balancer, one Redis: every message handled once."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from wecom_kf_async import Text
from wecom_kf_async.testing import WeComSimulator, serve

from .conftest import connect_redis

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "fleetBotToken01"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


pytestmark = pytest.mark.every_redis


async def _worker(config: dict[str, Any]) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.bot_worker",
        json.dumps(config),
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    line = (await asyncio.wait_for(process.stdout.readline(), 30)).decode()
    assert line.startswith("LISTENING "), line
    return process, line.split()[1]


def _common(base_url: str, redis_url: str, namespace: str, out: Path) -> dict[str, Any]:
    """What both workers' configs share."""
    return {
        "base_url": base_url,
        "redis_url": redis_url,
        "namespace": namespace,
        "token": TOKEN,
        "aes_key": KEY,
        "out": str(out),
    }


async def test_two_uvicorn_workers_with_redis_handle_each_message_once(
    tmp_path: Path, redis_url: str
) -> None:
    """Each callback goes to one worker and WeCom's repeat to the other: one handling each."""
    sim = WeComSimulator(seed=11)
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    out = tmp_path / "handled.txt"
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    async with serve(sim) as base_url:
        common = _common(base_url, redis_url, namespace, out)
        (a, url_a), (b, url_b) = [await _worker({**common, "name": name}) for name in ("a", "b")]
        msgids: list[str] = []
        try:
            async with httpx.AsyncClient(timeout=10) as http:
                for burst in range(8):
                    first, other = (url_a, url_b) if burst % 2 == 0 else (url_b, url_a)
                    sim.set_callback(first + "/", token=TOKEN, encoding_aes_key=KEY)
                    for n in range(5):
                        msgids.append(sim.customer_says(kfid, "wmA", Text(f"{burst}.{n}")))
                    push = await sim.push_callback(kfid)  # to one worker ...
                    repeat = await http.post(  # ... and WeCom's repeat lands on the other
                        other + "/", params=dict(push.query), content=push.xml
                    )
                    assert push.status == repeat.status_code == 200
                for _ in range(1000):  # bounded: until both workers handled everything
                    if out.exists() and len(out.read_text().splitlines()) >= len(msgids):
                        break
                    await asyncio.sleep(0.02)
        finally:
            for process in (a, b):
                assert process.stdin is not None
                process.stdin.write(b"quit\n")
                await process.stdin.drain()
                await asyncio.wait_for(process.wait(), 30)
    handled = [line.split() for line in out.read_text().splitlines()]
    counts = Counter(msgid for _, msgid in handled)
    assert sorted(counts) == sorted(msgids)
    assert set(counts.values()) == {1}


async def _quit(process: asyncio.subprocess.Process) -> None:
    assert process.stdin is not None
    if not process.stdin.is_closing():
        process.stdin.write(b"quit\n")
        await process.stdin.drain()
    await asyncio.wait_for(process.wait(), 30)


def _handled(out: Path) -> list[list[str]]:
    if not out.exists():
        return []
    return [line.split() for line in out.read_text().splitlines()]


async def test_a_rolling_deploy_does_not_lose_the_wake_up_left_for_the_old_worker(
    tmp_path: Path, redis_url: str
) -> None:
    """Old worker A holds the lease (a slow handler); a callback to new worker B leaves a
    wake note; A shuts down. The note is not dropped with A's lease: B pulls the message."""
    sim = WeComSimulator(seed=8)
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    out = tmp_path / "handled.txt"
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    redis = connect_redis(redis_url)
    async with serve(sim) as base_url:
        common = {
            **_common(base_url, redis_url, namespace, out),
            "lease_ttl": 2.0,
            "handle_seconds": 2.0,
        }
        (a, url_a), (b, url_b) = [await _worker({**common, "name": name}) for name in ("a", "b")]
        try:
            first = sim.customer_says(kfid, "wmA", Text("before the deploy"))
            sim.set_callback(url_a + "/", token=TOKEN, encoding_aes_key=KEY)
            assert (await sim.push_callback(kfid)).status == 200
            for _ in range(1000):  # bounded: A is in its handler, holding the lease
                if _handled(out):
                    break
                await asyncio.sleep(0.01)
            assert _handled(out) == [["a", first]]
            second = sim.customer_says(kfid, "wmA", Text("during the deploy"))
            sim.set_callback(url_b + "/", token=TOKEN, encoding_aes_key=KEY)
            assert (await sim.push_callback(kfid)).status == 200
            for _ in range(1000):  # bounded: B found the lease taken and left its note
                if await redis.exists(f"{namespace}:wake:{{{kfid}}}"):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("B left no wake note")
            await _quit(a)  # A finishes the message in hand and lets go
            for _ in range(1000):  # bounded: somebody pulls the second message
                if len(_handled(out)) >= 2:
                    break
                await asyncio.sleep(0.02)
        finally:
            for process in (a, b):
                await _quit(process)
            await redis.aclose()
    assert _handled(out) == [["a", first], ["b", second]]
