"""``python -m benchmarks [NAME ...] [--quick] [--repeats N]``: run the benchmarks."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys
import time
from collections.abc import Sequence

from ._common import Settings

#: Benchmark names, in the order they run, each with a one-line description.
BENCHMARKS: dict[str, str] = {
    "throughput": "batch_get of 10,000 and 100,000 ids at 20 ms: wall and CPU vs bare aiohttp",
    "overhead": "2,000 sequential batch_get / get_state calls vs bare httpx, same transport",
    "saturation": "rate_limit=100: achieved rate and the server's busiest 1 s window",
    "cpu": "json.loads + structuring 100,000 customers vs json.loads alone",
    "idcheck": "checking 50,000 ids before a batch_get: µs per id (target <= 1)",
    "messages": "json.loads + structuring 100,000 sync_msg messages of mixed types vs json.loads",
    "stream": "kf.messages.stream over 1,000,000 messages: peak RSS growth (flat memory)",
    "scale": "1,000,000 ids: batch_get vs iter_batch_get wall time and peak RSS",
    "fleet": "4 processes sharing 40 calls/s on Redis: RedisRateLimiter vs limits",
    "replicas": "a cursor save with wait_replicas=1 vs 0, on Sentinel and a cluster",
    "providers": "KfProvider serving 300 corps: KB per idle corp vs 300 separate clients",
    "download": "kf.media.download of 100 MB in 20 MB ranges: MB/s, CPU, peak RSS vs bare httpx",
    "callback": "callback POST path (verify + decrypt + parse) per request vs wechatpy",
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run the wecom_kf_async benchmarks. Each prints a table of medians, "
        "ratios against baselines measured in the same run, and PASS/MISS.",
        epilog="benchmarks: " + "; ".join(f"{name}: {text}" for name, text in BENCHMARKS.items()),
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run (default: all): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument(
        "--repeats", type=int, default=None, metavar="N", help="repeats per subject"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks; return 0 (a MISS is reported, not an error)."""
    args = _parser().parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        _parser().error(
            f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}"
        )
    if args.repeats is not None and args.repeats < 1:
        _parser().error("--repeats must be >= 1")
    names = list(dict.fromkeys(args.names)) or list(BENCHMARKS)
    settings = Settings(quick=args.quick, repeats=args.repeats)
    print(
        f"wecom_kf_async benchmarks on Python {platform.python_version()}, "
        f"{platform.system()} {platform.machine()}"
        + (", --quick" if args.quick else "")
        + (f", --repeats {args.repeats}" if args.repeats else "")
    )
    outcomes: dict[str, tuple[bool, float]] = {}
    for name in names:
        module = importlib.import_module(f"benchmarks.{name}")
        start = time.perf_counter()
        ok: bool = module.run(settings)
        outcomes[name] = (ok, time.perf_counter() - start)
    print()
    print("== summary ==")
    for name, (ok, seconds) in outcomes.items():
        print(f"{'PASS' if ok else 'MISS'}  {name:<11} ({seconds:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
