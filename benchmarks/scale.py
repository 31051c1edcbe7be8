"""One million ids: ``batch_get`` against the streaming ``iter_batch_get``.

At zero simulator latency, ``max_concurrency=20`` and no rate limit:

- ``batch_get``: wall time and peak RSS growth (it holds a million customers);
- ``iter_batch_get``: the same ids as a stream, counting the customers of each page
  without keeping them; wall time and peak RSS growth.

Each mode runs in a fresh child process (``python -m benchmarks.scale --child MODE``) so
peaks do not mix. The child builds its id list, opens the client and fetches the token,
records its peak RSS as the baseline (``VmHWM`` on Linux, else ``ru_maxrss``), runs, and
reports the growth of the peak.
Target: streaming growth < 100 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from wecom_kf_async.testing import serve_in_subprocess

from ._common import (
    Settings,
    make_ids,
    max_rss_bytes,
    print_header,
    print_table,
    ratio,
    sim_client,
    verdict,
)

IDS = 1_000_000
CONCURRENCY = 20
TARGET_MB = 100.0
MODES = ("batch_get", "iter_batch_get")
_RESULT_PREFIX = "RESULT "
_CHILD_TIMEOUT = 600.0


async def _child(mode: str, base_url: str) -> dict[str, Any]:
    ids = make_ids(IDS)
    async with sim_client(base_url, max_concurrency=CONCURRENCY) as kf:
        await kf.tokens.get()
        baseline = max_rss_bytes()
        start = time.perf_counter()
        if mode == "batch_get":
            result = await kf.customers.batch_get(ids)
            customers, failed = len(result.customers), len(result.failed)
        else:
            customers = failed = 0
            async for page in kf.customers.iter_batch_get(ids):
                customers += len(page.customers)
                failed += len(page.failed)
        wall = time.perf_counter() - start
        peak = max_rss_bytes()
    return {
        "mode": mode,
        "wall": wall,
        "customers": customers,
        "failed": failed,
        "baseline": baseline,
        "peak": peak,
    }


def _run_child(mode: str, base_url: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    completed = subprocess.run(  # noqa: S603 - this interpreter, this module
        [sys.executable, "-m", "benchmarks.scale", "--child", mode, "--url", base_url],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=_CHILD_TIMEOUT,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            report: dict[str, Any] = json.loads(line[len(_RESULT_PREFIX) :])
            return report
    raise RuntimeError(
        f"the {mode} child failed (exit {completed.returncode}):\n{completed.stderr[-2000:]}"
    )


def run(settings: Settings) -> bool:
    """Run the benchmark (each mode once, in its own process); True when it meets its target."""
    del settings  # runs once whatever the repeats: a million ids is already a long run
    with serve_in_subprocess(latency=0.0) as base_url:
        reports = {mode: _run_child(mode, base_url) for mode in MODES}
    for report in reports.values():
        if report["customers"] != IDS or report["failed"]:
            raise RuntimeError(
                f"{report['mode']} lost ids: {report['customers']} customers, "
                f"{report['failed']} failed"
            )

    mb = 1024 * 1024
    print_header(
        "scale",
        f"{IDS:,} ids ({IDS // 100:,} chunks), simulator latency 0 in another process, "
        f"max_concurrency={CONCURRENCY}, rate limit off, each mode once in a fresh process",
    )
    rows = []
    for mode, report in reports.items():
        growth = (report["peak"] - report["baseline"]) / mb
        rows.append(
            (
                mode,
                report["wall"],
                f"{IDS / report['wall']:,.0f}",
                f"{report['baseline'] / mb:.0f}",
                f"{report['peak'] / mb:.0f}",
                f"{growth:.1f}",
            )
        )
    print_table(
        ["mode", "wall s", "ids/s", "baseline MB", "peak MB", "growth MB"],
        rows,
    )
    growth = {m: (r["peak"] - r["baseline"]) / mb for m, r in reports.items()}
    walls = {m: float(r["wall"]) for m, r in reports.items()}
    print(
        f"all {IDS:,} ids came back in both modes; iter_batch_get / batch_get: "
        f"peak growth {ratio(growth['iter_batch_get'], growth['batch_get']):.2f}x, "
        f"wall time {ratio(walls['iter_batch_get'], walls['batch_get']):.2f}x"
    )
    return verdict(
        growth["iter_batch_get"] < TARGET_MB,
        f"iter_batch_get peak RSS growth {growth['iter_batch_get']:.1f} MB "
        f"(target < {TARGET_MB:.0f} MB)",
    )


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("--child", choices=MODES, help="internal: run one mode and report")
    parser.add_argument("--url", help="internal: the simulator's base URL")
    args = parser.parse_args(argv)
    if args.child is None:
        return 0 if run(Settings()) else 1
    if not args.url:
        parser.error("--child needs --url")
    report = asyncio.run(_child(args.child, args.url))
    print(_RESULT_PREFIX + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
