"""Downloading 100 MB in 20 MB ranges: ``kf.media.download`` against bare httpx streaming.

The simulator, in another process, seeds a 100 MB medium (``POST /__sim__/media``;
its bytes are generated piece by piece, so it holds none of them). Each round runs
one subject in a fresh child process (``python -m benchmarks.download --child
SUBJECT URL MEDIA_ID DIR``), which warms up (token, connection, a small download),
takes its peak RSS (``VmHWM``) as the baseline, then downloads the file to disk:

- ``library``: ``kf.media.download(media_id, path)`` (Range requests of 20 MB,
  through the pipeline: token, budget, concurrency slot, probe, checks).
- ``bare httpx``: ``httpx.AsyncClient.stream("GET", ...)`` over the same 20 MB
  ranges, ``aiter_raw()`` written to a file: the floor of any httpx client.

Subjects alternate round by round (the first rotating); reported are the medians
of wall time, MB/s, CPU seconds of the child (``time.process_time()``) and peak RSS
growth. Each file's SHA-256 is checked against the simulator's after timing.
Targets: library wall <= 1.25x bare httpx, and peak RSS growth < 20 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from wecom_kf_async.testing import serve_in_subprocess

from ._common import (
    Settings,
    fetch_token,
    interleaved,
    max_rss_bytes,
    median,
    print_header,
    print_table,
    ratio,
    sim_client,
    verdict,
)

SIZE = 100 * 1024 * 1024
RANGE = 20 * 1024 * 1024
SUBJECTS = ("library", "bare httpx")
TARGET_RATIO = 1.25
TARGET_GROWTH_MB = 20.0
_RESULT_PREFIX = "RESULT "
_MB = 1024 * 1024


async def _bare(base_url: str, media_id: str, path: Path, size: int) -> None:
    token = await asyncio.to_thread(fetch_token, base_url)
    params = {"access_token": token, "media_id": media_id}
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0) as http:
        with path.open("wb") as handle:
            for start in range(0, size, RANGE):
                last = min(start + RANGE, size) - 1
                headers = {"Range": f"bytes={start}-{last}"}
                async with http.stream(
                    "GET", "/cgi-bin/media/get", params=params, headers=headers
                ) as response:
                    response.raise_for_status()
                    async for chunk in response.aiter_raw():
                        handle.write(chunk)


async def _child(subject: str, base_url: str, media_id: str, directory: str) -> dict[str, Any]:
    path = Path(directory) / f"{subject.replace(' ', '_')}.bin"
    warm = Path(directory) / "warm.bin"
    if subject == "library":
        async with sim_client(base_url, timeout=60.0) as kf:
            await kf.media.download("sim_demo_avatar", warm)
            baseline = max_rss_bytes()
            cpu, start = time.process_time(), time.perf_counter()
            await kf.media.download(media_id, path)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    else:
        await _bare(base_url, "sim_demo_avatar", warm, 2048)
        baseline = max_rss_bytes()
        cpu, start = time.process_time(), time.perf_counter()
        await _bare(base_url, media_id, path, SIZE)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    growth = max_rss_bytes() - baseline
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(_MB):
            digest.update(block)
    path.unlink()
    return {"wall": wall, "cpu": cpu, "growth": growth, "sha256": digest.hexdigest()}


def _round(subject: str, base_url: str, media_id: str, directory: str) -> dict[str, Any]:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "benchmarks.download", "--child", subject, base_url]
    completed = subprocess.run(  # noqa: S603 - this interpreter, this module
        [*command, media_id, directory],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    for line in completed.stdout.splitlines():
        if line.startswith(_RESULT_PREFIX):
            report: dict[str, Any] = json.loads(line[len(_RESULT_PREFIX) :])
            return report
    raise RuntimeError(f"the {subject} child failed:\n{completed.stderr[-2000:]}")


def run(settings: Settings) -> bool:
    """Run the benchmark; True when it meets its targets."""
    repeats = settings.pick(5, 2)
    results: dict[str, list[dict[str, Any]]] = {name: [] for name in SUBJECTS}
    with serve_in_subprocess(demo=True) as base_url, tempfile.TemporaryDirectory() as directory:
        with httpx.Client(base_url=base_url, timeout=120.0) as http:
            seeded = http.post(
                "/__sim__/media", json={"type": "file", "filename": "big.bin", "size": SIZE}
            )
            seeded.raise_for_status()
        media_id, expected = seeded.json()["media_id"], seeded.json()["sha256"]
        for name in interleaved(SUBJECTS, repeats):
            report = _round(name, base_url, media_id, directory)
            if report["sha256"] != expected:
                raise RuntimeError(f"{name} wrote other bytes than the simulator served")
            results[name].append(report)
    print_header(
        "download",
        f"100 MB in 20 MB ranges to disk, simulator in another process, one fresh child "
        f"per round, {repeats} interleaved rounds, medians",
    )
    rows = []
    walls: dict[str, float] = {}
    growths: dict[str, float] = {}
    for name in SUBJECTS:
        wall = walls[name] = median([r["wall"] for r in results[name]])
        growths[name] = median([r["growth"] for r in results[name]]) / _MB
        rows.append(
            (
                name,
                wall,
                f"{SIZE / _MB / wall:.0f}",
                median([r["cpu"] for r in results[name]]),
                f"{growths[name]:.1f}",
            )
        )
    print_table(["subject", "wall s", "MB/s", "CPU s", "peak RSS growth MB"], rows)
    slower = ratio(walls["library"], walls["bare httpx"])
    return verdict(
        slower <= TARGET_RATIO and growths["library"] < TARGET_GROWTH_MB,
        f"library wall {slower:.2f}x bare httpx (target <= {TARGET_RATIO}), peak RSS growth "
        f"{growths['library']:.1f} MB (target < {TARGET_GROWTH_MB:.0f} MB)",
    )


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.download")
    parser.add_argument(
        "--child", nargs=4, metavar=("SUBJECT", "URL", "MEDIA_ID", "DIR"), help="internal"
    )
    args = parser.parse_args(argv)
    if args.child is None:
        return 0 if run(Settings()) else 1
    report = asyncio.run(_child(*args.child))
    print(_RESULT_PREFIX + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
