"""Rate limiting at saturation: 600 calls through ``rate_limit=100``.

``batch_get`` of 60,000 ids (600 chunks) with ``max_concurrency=200`` and a simulator
answering at once, so the rate limiter is the only brake. Two figures:

- the achieved rate, calls / wall time seen by the caller (target >= 95% of 100/s);
- the busiest 1-second window of ``kf/customer/batchget`` arrivals as the simulator
  counted them (``/__sim__/stats``, reset just before; target <= 100).

Runs once (about 6 seconds): the figures are about the limiter's shape, not speed.
"""

from __future__ import annotations

import asyncio
import sys

from wecom_kf_async.testing import serve_in_subprocess

from ._common import (
    CUSTOMER_BATCHGET,
    Settings,
    make_ids,
    print_header,
    print_table,
    reset_stats,
    sim_client,
    sim_stats,
    time_async,
    verdict,
)

RATE = 100
CONCURRENCY = 200
CHUNKS = 600
IDS = CHUNKS * 100
RATE_TARGET = 0.95 * RATE


async def _run(settings: Settings) -> bool:
    del settings  # runs once whatever the repeats
    ids = make_ids(IDS)
    with serve_in_subprocess(latency=0.0) as base_url:
        async with sim_client(base_url, max_concurrency=CONCURRENCY, rate_limit=RATE) as kf:
            await kf.tokens.get()
            reset_stats(base_url)
            wall, result = await time_async(lambda: kf.customers.batch_get(ids))
        stats = sim_stats(base_url, times=True)

    if not result.ok or len(result.customers) != IDS:
        raise RuntimeError(
            f"batch_get lost ids: {len(result.customers)} customers, {len(result.failed)} failed"
        )
    calls = int(stats["calls"].get(CUSTOMER_BATCHGET, 0))
    busiest = int(stats["busiest_window_1s"].get(CUSTOMER_BATCHGET, 0))
    arrivals = sorted(stats["call_times"].get(CUSTOMER_BATCHGET, []))
    span = arrivals[-1] - arrivals[0] if len(arrivals) > 1 else 0.0
    server_rate = (len(arrivals) - 1) / span if span else float("nan")
    achieved = calls / wall
    errors = sum(stats["errors"].values())

    print_header(
        "saturation",
        f"batch_get of {IDS:,} ids ({CHUNKS} chunks), rate_limit={RATE}, "
        f"max_concurrency={CONCURRENCY}, simulator latency 0 in another process, run once",
    )
    print_table(
        ["figure", "value", "target"],
        [
            ("batchget calls (simulator)", calls, f"{CHUNKS}"),
            ("wall time, s", wall, ""),
            ("achieved rate, calls/s (calls / wall)", achieved, f">= {RATE_TARGET:.0f}"),
            ("arrival rate, calls/s (first to last arrival)", server_rate, ""),
            ("busiest 1 s window (simulator)", busiest, f"<= {RATE}"),
            ("max in flight (simulator)", int(stats["max_in_flight"]), ""),
            ("error answers (simulator)", errors, "0"),
        ],
    )
    ok = calls == CHUNKS and achieved >= RATE_TARGET and busiest <= RATE and errors == 0
    return verdict(
        ok,
        f"achieved {achieved:.1f} calls/s (target >= {RATE_TARGET:.0f}), "
        f"busiest 1 s window {busiest} (target <= {RATE})",
    )


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its targets."""
    return asyncio.run(_run(settings))


if __name__ == "__main__":
    sys.exit(0 if run(Settings()) else 1)
