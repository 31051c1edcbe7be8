"""A worker process for the fleet tests: ``python -m tests.fleet_worker CONFIG_JSON``.

It opens ``KfClient.for_fleet(...)``, prints ``ready``, and then for each ``go`` line
on stdin runs one round (``callers`` concurrent callers, ``calls`` one-id batch_get
calls each) and prints one JSON line with the outcome; ``quit`` ends it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from wecom_kf_async import KfClient
from wecom_kf_async.fleet import DEFAULT_LOCK_TTL
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET


async def _caller(kf: KfClient, worker: int, caller: int, calls: int) -> list[str]:
    errors: list[str] = []
    for n in range(calls):
        uid = f"wm{worker}x{caller}x{n}"
        try:
            result = await kf.customers.batch_get([uid])
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
            continue
        if uid not in result or result.failed:
            errors.append(f"{uid} not resolved: {result.failed!r}")
    return errors


async def _round(kf: KfClient, config: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    outcomes = await asyncio.gather(
        *(
            _caller(kf, config["worker"], caller, config["calls"])
            for caller in range(config["callers"])
        )
    )
    errors = [error for outcome in outcomes for error in outcome]
    return {
        "calls": config["callers"] * config["calls"],
        "errors": errors,
        "elapsed": time.monotonic() - started,
        "refresh_count": kf.tokens.refresh_count,
    }


async def main(config: dict[str, Any]) -> None:
    """Serve rounds until ``quit``."""
    kf = KfClient.for_fleet(
        config["redis_url"],
        corp_id=SIM_CORP_ID,
        secret=SIM_SECRET,
        base_url=config["base_url"],
        rate_limit=config.get("rate_limit"),
        namespace=config["namespace"],
        lock_ttl=config.get("lock_ttl", DEFAULT_LOCK_TTL),
        max_concurrency=config.get("max_concurrency", 100),
    )
    async with kf:
        print("ready", flush=True)
        while True:
            line = (await asyncio.to_thread(sys.stdin.readline)).strip()
            if line != "go":
                return
            print(json.dumps(await _round(kf, config)), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
