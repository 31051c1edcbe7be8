"""A worker process for the fleet tests: ``python -m tests.fleet_worker CONFIG_JSON``.

It opens ``KfClient.for_fleet(...)``, prints ``ready``, and then for each ``go`` line
on stdin runs one round (``callers`` concurrent callers, ``calls`` one-id batch_get
calls each; or, with ``batch``, one batch_get of that many ids) and prints one JSON
line with the outcome, the library's warnings included; ``quit`` ends it.
"""

from __future__ import annotations

import asyncio
import json
import logging
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


async def _batch(kf: KfClient, worker: int, size: int) -> tuple[int, list[str]]:
    """One batch_get of *size* ids: how many were answered with a customer, and errors."""
    ids = [f"wm{worker}b{n}" for n in range(size)]
    try:
        result = await kf.customers.batch_get(ids)
    except Exception as exc:
        return 0, [f"{type(exc).__name__}: {exc}"]
    errors = [f"{uid}: {error!r}" for uid, error in list(result.failed.items())[:5]]
    answered = sum(1 for uid in ids if uid in result)
    if result.failed:
        errors.append(f"{len(result.failed)} ids failed")
    return answered, errors


class _Warnings(logging.Handler):
    """The library's warnings of one round."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


async def _round(kf: KfClient, config: dict[str, Any]) -> dict[str, Any]:
    started = time.monotonic()
    warnings = _Warnings()
    logging.getLogger("wecom_kf_async").addHandler(warnings)
    answered = 0
    try:
        if config.get("batch"):
            answered, errors = await _batch(kf, config["worker"], config["batch"])
            calls = 1
        else:
            outcomes = await asyncio.gather(
                *(
                    _caller(kf, config["worker"], caller, config["calls"])
                    for caller in range(config["callers"])
                )
            )
            errors = [error for outcome in outcomes for error in outcome]
            calls = config["callers"] * config["calls"]
    finally:
        logging.getLogger("wecom_kf_async").removeHandler(warnings)
    return {
        "calls": calls,
        "answered": answered,
        "errors": errors,
        "elapsed": time.monotonic() - started,
        "refresh_count": kf.tokens.refresh_count,
        "warnings": warnings.messages,
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
