"""A provider's fleet on Redis: 4 processes share the suite token and each corp's token."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from wecom_kf_async.fleet import RedisSuiteTicketStore
from wecom_kf_async.providers import SuiteTicket
from wecom_kf_async.testing import SIM_SUITE_ID, serve_provider_in_subprocess

ROOT = Path(__file__).resolve().parents[1]
CORPS = 40

pytestmark = pytest.mark.every_redis


async def test_four_processes_fetch_one_suite_token_and_one_token_per_corp(
    redis_url: str,
) -> None:
    namespace = f"t-{uuid.uuid4().hex[:8]}"
    with serve_provider_in_subprocess(corps=CORPS) as base_url:
        async with httpx.AsyncClient(base_url=f"{base_url}/__sim__/provider") as control:
            codes = (await control.get("/permanent_codes")).json()
            ticket = (await control.post("/ticket")).json()["ticket"]
            # The worker WeCom pushed the ticket to keeps it where the fleet finds it.
            store = RedisSuiteTicketStore(redis_url, namespace=namespace)
            now = time.time()
            await store.put(
                SIM_SUITE_ID, SuiteTicket(value=ticket, timestamp=int(now), received_at=now)
            )
            await store.aclose()
            config = {
                "redis_url": redis_url,
                "namespace": namespace,
                "codes": codes,
                "base_url": base_url,
            }
            workers = [
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.provider_worker",
                    json.dumps(config),
                    cwd=ROOT,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                )
                for _ in range(4)
            ]
            for worker in workers:
                assert worker.stdout is not None
                line = await asyncio.wait_for(worker.stdout.readline(), 60)
                assert line.strip() == b"ready", line
            for worker in workers:  # all at once, cold caches
                assert worker.stdin is not None
                worker.stdin.write(b"go\n")
                await worker.stdin.drain()
            outcomes = []
            for worker in workers:
                stdout, stderr = await asyncio.wait_for(worker.communicate(), 120)
                assert worker.returncode == 0, stderr.decode()[-3000:]
                outcomes.append(json.loads(stdout.decode().splitlines()[-1]))
            stats = (await control.get("/stats")).json()
    assert [o["errors"] for o in outcomes] == [[]] * 4
    assert [o["served"] for o in outcomes] == [CORPS] * 4
    print(
        f"4 processes x {CORPS} corps: get_suite_token {stats['suite_token_calls']}, "
        f"get_corp_token per corp {sorted(set(stats['corp_token_calls'].values()))}"
    )
    assert stats["suite_token_calls"] == 1
    assert stats["corp_token_calls"] == dict.fromkeys(codes, 1)
