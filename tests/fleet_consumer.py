"""A fleet consumer process: ``python -m tests.fleet_consumer CONFIG_JSON``.

It streams every account of ``accounts`` at once from the simulator at ``base_url``
through one ``RedisCursorStore``, appending ``{name} {open_kfid} {msgid}`` to
``out`` for each message (one short append, flushed: whole lines however many
processes share the file). An account whose lease another process holds, or whose
pull failed (Redis in failover), is tried again until ``out`` holds every one of its
``expected`` messages or ``deadline`` seconds have passed. It prints one JSON line,
``{"errors": [...], "handled": N}``, and exits 0.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

from wecom_kf_async import KfClient
from wecom_kf_async.fleet import RedisCursorStore
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET


def _handled(out: Path, open_kfid: str) -> int:
    if not out.exists():
        return 0
    lines = out.read_text(encoding="utf-8").splitlines()
    return len({line.split()[2] for line in lines if line.split()[1:2] == [open_kfid]})


async def _account(
    kf: KfClient, store: RedisCursorStore, open_kfid: str, config: dict[str, Any]
) -> tuple[int, list[str]]:
    out = Path(config["out"])
    deadline = time.monotonic() + config.get("deadline", 60.0)
    handled, errors = 0, []
    with out.open("a", encoding="utf-8") as log:  # noqa: ASYNC230 - a test log
        while time.monotonic() < deadline:
            try:
                stream = kf.messages.stream(open_kfid, cursors=store, limit=config["limit"])
                async for message in stream:
                    log.write(f"{config['name']} {open_kfid} {message.msgid}\n")
                    log.flush()
                    handled += 1
                    if config.get("handle_seconds"):
                        await asyncio.sleep(config["handle_seconds"])
            except Exception as exc:  # Redis in failover: try again, as a bot does
                errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.1)
                continue
            if _handled(out, open_kfid) >= config["expected"][open_kfid]:
                break
            await asyncio.sleep(0.05)  # another process holds the account
    return handled, errors


async def main(config: dict[str, Any]) -> None:
    """Consume every account to its end; print what was handled and what failed."""
    store = RedisCursorStore(
        config["redis_url"],
        namespace=config["namespace"],
        lease_ttl=config.get("lease_ttl", 2.0),
        wait_replicas=config.get("wait_replicas", 0),
    )
    async with KfClient(
        corp_id=SIM_CORP_ID,
        secret=SIM_SECRET,
        base_url=config["base_url"],
        rate_limit=None,
        rate_limits={"kf/sync_msg:no_token": None},
    ) as kf:
        outcomes = await asyncio.gather(
            *(_account(kf, store, kfid, config) for kfid in config["accounts"])
        )
    await store.aclose()
    errors = [error for _, found in outcomes for error in found]
    print(json.dumps({"errors": errors, "handled": sum(n for n, _ in outcomes)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
