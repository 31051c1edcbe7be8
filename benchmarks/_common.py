"""Shared helpers: settings, timing, medians, tables, and simulator access."""

from __future__ import annotations

import gc
import json
import resource
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from wecom_kf_async import KfClient
from wecom_kf_async.testing import BATCHGET_MAX_IDS, CUSTOMER_BATCHGET, SIM_CORP_ID, SIM_SECRET

__all__ = [
    "BATCHGET_MAX_IDS",
    "CUSTOMER_BATCHGET",
    "SIM_CORP_ID",
    "SIM_SECRET",
    "Settings",
    "batchget_url",
    "chunked",
    "fetch_token",
    "interleaved",
    "make_ids",
    "median",
    "print_header",
    "print_table",
    "ratio",
    "reset_stats",
    "sim_stats",
    "time_async",
    "time_async_cpu",
    "time_sync",
    "verdict",
]


@dataclass(frozen=True)
class Settings:
    """What the command line asked for."""

    quick: bool = False
    repeats: int | None = None

    def pick(self, default: int, quick: int) -> int:
        """Repeats for one benchmark: ``--repeats`` wins, then ``--quick``, then *default*."""
        if self.repeats is not None:
            return self.repeats
        return quick if self.quick else default


# -- numbers -----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    """The median of *values* (NaN when empty)."""
    return statistics.median(values) if values else float("nan")


def ratio(subject: float, baseline: float) -> float:
    """``subject / baseline`` (NaN when the baseline is zero)."""
    return subject / baseline if baseline else float("nan")


async def time_async(run: Callable[[], Awaitable[Any]]) -> tuple[float, Any]:
    """Seconds one awaited call of *run* took, and what it returned."""
    gc.collect()
    start = time.perf_counter()
    result = await run()
    return time.perf_counter() - start, result


async def time_async_cpu(run: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    """Wall seconds and this process's CPU seconds of one awaited call of *run*, and its result.

    ``time.process_time()`` counts this process only: a simulator served in another
    process (``serve_in_subprocess``) does not add to it.
    """
    gc.collect()
    cpu = time.process_time()
    start = time.perf_counter()
    result = await run()
    return time.perf_counter() - start, time.process_time() - cpu, result


def time_sync(run: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call of *run* took, and what it returned."""
    gc.collect()
    start = time.perf_counter()
    result = run()
    return time.perf_counter() - start, result


def interleaved(names: Sequence[str], repeats: int) -> Iterator[str]:
    """Yield each name *repeats* times, round by round, rotating who goes first.

    Interleaving spreads the machine's drifts (other load, frequency scaling) over
    every subject instead of letting one of them soak them up.
    """
    for round_number in range(repeats):
        shift = round_number % len(names)
        yield from (*names[shift:], *names[:shift])


# -- ids ---------------------------------------------------------------------------


def parse_subjects(
    bodies: Sequence[bytes], key: str, structure: Callable[[Any], Sequence[Any]]
) -> tuple[Callable[[], int], Callable[[], int]]:
    """Two subjects over the same answers: ``json.loads`` alone, and it plus *structure*.

    Each counts the items under *key* (the baseline) or the objects *structure*
    makes of them, so both must agree on how many there are.
    """

    def loads() -> int:
        return sum(len(json.loads(body)[key]) for body in bodies)

    def loads_and_structure() -> int:
        return sum(len(structure(json.loads(body)[key])) for body in bodies)

    return loads, loads_and_structure


def sim_client(base_url: str, **options: Any) -> KfClient:
    """A client of the simulator at *base_url*; the library's rate limit off unless given."""
    options.setdefault("rate_limit", None)
    return KfClient(corp_id=SIM_CORP_ID, secret=SIM_SECRET, base_url=base_url, **options)


def make_ids(count: int, prefix: str = "wm") -> list[str]:
    """*count* distinct ids the simulator knows (they start with ``wm``)."""
    return [f"{prefix}bench{index:09d}" for index in range(count)]


def chunked(ids: Sequence[str], size: int = BATCHGET_MAX_IDS) -> list[list[str]]:
    """Split *ids* into lists of at most *size*."""
    return [list(ids[start : start + size]) for start in range(0, len(ids), size)]


# -- simulator ---------------------------------------------------------------------


def fetch_token(base_url: str) -> str:
    """Get an access token from the simulator with plain httpx (for the baselines).

    The simulator hands out the same token until it expires, so this is also the
    token the library's own token manager gets.
    """
    response = httpx.get(
        f"{base_url}/cgi-bin/gettoken",
        params={"corpid": SIM_CORP_ID, "corpsecret": SIM_SECRET},
        timeout=10.0,
    )
    response.raise_for_status()
    data = response.json()
    if data.get("errcode", 0) != 0 or not data.get("access_token"):
        raise RuntimeError(f"gettoken failed: errcode {data.get('errcode')}")
    token: str = data["access_token"]
    return token


def batchget_url(base_url: str, token: str) -> str:
    """The full ``kf/customer/batchget`` URL with its token."""
    return f"{base_url}/cgi-bin/{CUSTOMER_BATCHGET}?access_token={token}"


def sim_stats(base_url: str, *, times: bool = False) -> dict[str, Any]:
    """The simulator's counters (``GET /__sim__/stats``), with arrival times if *times*."""
    params = {"times": "1"} if times else None
    response = httpx.get(f"{base_url}/__sim__/stats", params=params, timeout=30.0)
    response.raise_for_status()
    stats: dict[str, Any] = response.json()
    return stats


def reset_stats(base_url: str) -> None:
    """Forget the simulator's counters (``POST /__sim__/reset``)."""
    httpx.post(f"{base_url}/__sim__/reset", timeout=10.0).raise_for_status()


# -- output ------------------------------------------------------------------------


def print_header(title: str, detail: str) -> None:
    """Print a benchmark's title and set-up line."""
    print()
    print(f"== {title} ==")
    print(detail)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a plain text table: first column left-aligned, the others right-aligned."""
    cells = [[str(h) for h in headers], *[[_cell(v) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            row[i].ljust(widths[i]) if i == 0 else row[i].rjust(widths[i]) for i in range(len(row))
        ]
        return "  ".join(parts).rstrip()

    print(line(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(line(row))


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "-"
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def verdict(ok: bool, text: str) -> bool:
    """Print a PASS/MISS line and return *ok*."""
    print(f"{'PASS' if ok else 'MISS'}: {text}")
    return ok


def max_rss_bytes() -> int:
    """This process's peak resident set size, in bytes.

    On Linux ``ru_maxrss`` carries over through ``execve`` the peak of the parent at
    the time it spawned the child (after the other benchmarks ran, that can be
    hundreds of MB and would hide the growth), so the peak of this process's own
    address space, ``VmHWM`` in ``/proc/self/status``, is read first.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024


def time_interleaved(
    subjects: dict[str, Callable[[], int]], repeats: int, expected: int
) -> dict[str, list[float]]:
    """Seconds of each subject over interleaved repeats, after one warm-up run each.

    Every subject returns how many items it handled; a count other than *expected*
    (something lost) raises.
    """
    for go in subjects.values():
        go()
    seconds: dict[str, list[float]] = {name: [] for name in subjects}
    for name in interleaved(list(subjects), repeats):
        elapsed, count = time_sync(subjects[name])
        if count != expected:
            raise RuntimeError(f"{name} handled {count} items, expected {expected}")
        seconds[name].append(elapsed)
    return seconds
