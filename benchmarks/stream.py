"""Memory of ``kf.messages.stream`` over 1,000,000 messages: the stream holds one page.

The simulator, in another process, logs 1,000,000 generated messages on one account
(``POST /__sim__/messages`` ``fill``) with its limit on calls without a token off. A
fresh child process (``python -m benchmarks.stream --child ...``) opens a client,
reads the first page (so the client, the converter and the connection are warm),
takes its peak RSS (``VmHWM``) as the baseline, then streams the account to its end
with an in-memory cursor store, counting messages and keeping none. Reported: wall
time, messages/s, and the peak RSS growth at 100,000 messages and at the end (flat
memory means the two are about the same). Target: growth under 50 MB.
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

import httpx

from wecom_kf_async import InMemoryCursorStore
from wecom_kf_async.testing import serve_in_subprocess

from ._common import Settings, max_rss_bytes, print_header, print_table, sim_client, verdict

MESSAGES = 1_000_000
TARGET_MB = 50.0
_RESULT_PREFIX = "RESULT "


async def _child(base_url: str, open_kfid: str) -> dict[str, Any]:
    async with sim_client(base_url, rate_limits={"kf/sync_msg:no_token": None}) as kf:
        await kf.messages.sync(open_kfid=open_kfid, limit=1000)  # warm: models, connection
        baseline = max_rss_bytes()
        start = time.perf_counter()
        count = 0
        at_100k = 0
        async for _message in kf.messages.stream(open_kfid, cursors=InMemoryCursorStore()):
            count += 1
            if count == 100_000:
                at_100k = max_rss_bytes()
        wall = time.perf_counter() - start
    return {
        "count": count,
        "wall": wall,
        "baseline": baseline,
        "at_100k": at_100k,
        "peak": max_rss_bytes(),
    }


def _seed(base_url: str) -> str:
    with httpx.Client(base_url=base_url, timeout=60.0) as http:
        http.post("/__sim__/config", json={"sync_msg_without_token_per_minute": None})
        added = http.post("/__sim__/messages", json={"op": "add_account", "name": "Bench"})
        open_kfid: str = added.json()["open_kfid"]
        filled = http.post(
            "/__sim__/messages",
            json={"op": "fill", "open_kfid": open_kfid, "count": MESSAGES, "kinds": ["text"]},
        )
        filled.raise_for_status()
    return open_kfid


def run(settings: Settings) -> bool:
    """Run the benchmark once; True when it meets its target."""
    del settings  # a million messages is a long run already
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    with serve_in_subprocess(latency=0.0) as base_url:
        open_kfid = _seed(base_url)
        completed = subprocess.run(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", "benchmarks.stream", "--child", base_url, open_kfid],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    reports = [
        json.loads(line[len(_RESULT_PREFIX) :])
        for line in completed.stdout.splitlines()
        if line.startswith(_RESULT_PREFIX)
    ]
    if not reports:
        raise RuntimeError(f"the stream child failed:\n{completed.stderr[-2000:]}")
    report = reports[0]
    if report["count"] != MESSAGES:
        raise RuntimeError(f"the stream delivered {report['count']} of {MESSAGES} messages")
    mb = 1024 * 1024
    growth_100k = (report["at_100k"] - report["baseline"]) / mb
    growth = (report["peak"] - report["baseline"]) / mb
    print_header(
        "stream",
        f"kf.messages.stream over {MESSAGES:,} messages (pages of 1,000), simulator in "
        "another process, one fresh consumer process",
    )
    print_table(
        ["messages", "wall s", "messages/s", "baseline MB", "growth at 100k MB", "growth MB"],
        [
            (
                f"{report['count']:,}",
                report["wall"],
                f"{report['count'] / report['wall']:,.0f}",
                f"{report['baseline'] / mb:.0f}",
                f"{growth_100k:.1f}",
                f"{growth:.1f}",
            )
        ],
    )
    return verdict(
        growth < TARGET_MB,
        f"peak RSS growth over {MESSAGES:,} messages {growth:.1f} MB "
        f"({growth_100k:.1f} MB at 100,000; target < {TARGET_MB:.0f} MB)",
    )


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.stream")
    parser.add_argument("--child", nargs=2, metavar=("URL", "OPEN_KFID"), help="internal")
    args = parser.parse_args(argv)
    if args.child is None:
        return 0 if run(Settings()) else 1
    report = asyncio.run(_child(*args.child))
    print(_RESULT_PREFIX + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
