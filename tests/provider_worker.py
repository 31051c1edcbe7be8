"""A provider fleet worker: ``python -m tests.provider_worker CONFIG_JSON``.

It opens ``KfProvider.for_fleet(...)`` on the shared Redis, prints ``ready``, and on
``go`` calls ``batch_get`` for every corp of ``codes`` at once, then prints one JSON
line (``{"errors": [...], "served": N}``) and exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from wecom_kf_async.providers import InMemoryCorpCredentials, KfProvider
from wecom_kf_async.testing.provider import SIM_SUITE_ID, SIM_SUITE_SECRET


async def main(config: dict[str, Any]) -> None:
    """Serve every corp once."""
    provider = KfProvider.for_fleet(
        config["redis_url"],
        suite_id=SIM_SUITE_ID,
        suite_secret=SIM_SUITE_SECRET,
        namespace=config["namespace"],
        rate_limit=None,
        credentials=InMemoryCorpCredentials(config["codes"]),
        base_url=config["base_url"],
    )
    async with provider:
        print("ready", flush=True)
        await asyncio.to_thread(sys.stdin.readline)

        async def serve(corp_id: str) -> str | None:
            try:
                async with provider.corp(corp_id) as kf:
                    result = await kf.customers.batch_get(["wmA", "wmB"])
            except Exception as exc:
                return f"{corp_id}: {type(exc).__name__}: {exc}"
            return None if result.ok and "wmA" in result else f"{corp_id}: {result.failed!r}"

        outcomes = await asyncio.gather(*(serve(c) for c in config["codes"]))
    errors = [o for o in outcomes if o is not None]
    print(json.dumps({"errors": errors, "served": len(outcomes) - len(errors)}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
