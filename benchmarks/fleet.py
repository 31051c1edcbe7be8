"""One calls-per-second budget shared on Redis by 4 processes.

Four worker processes (``python -m benchmarks.fleet --worker SUBJECT``), each a
``KfClient`` with 30 concurrent callers making one-id ``batch_get`` calls, share a
budget of 40 calls/s through one of three limiters (``rate_limiter=``, the client's
own ``rate_limit`` off):

- ``RedisRateLimiter``: this library's Lua script, which reserves send slots on Redis'
  own clock and tells the caller how long to sleep;
- ``limits`` moving window over ``limits.aio.storage.RedisStorage`` (redis-py), with
  a waiting wrapper: ``while not hit(): sleep until get_window_stats().reset_time``
  (by the client's clock) plus up to 10 ms of jitter;
- ``limits`` sliding window counter, same wrapper.

Each subject runs twice: with the clocks agreeing, and with one worker's ``time.time``
0.5 s ahead (patched before its limiter is made). Each worker first opens its HTTP and
Redis connections (30 calls and 30 pings, outside the budget) and runs its limiter's
scripts once on a key of its own; then a ``GO`` line on their stdin starts all four
together. Callers start no call after 5 s (3 s with ``--quick``); calls already waiting
for the limiter complete, so every limiter call counted leads to a call. The simulator
runs in another process. Per run:

- calls: ``kf/customer/batchget`` arrivals at the simulator; calls/s: arrivals in the
  whole seconds after the first arrival, divided by those seconds, and its share of
  the budget;
- the simulator's busiest 1-second window of arrivals (target <= 41);
- Redis round trips per call: commands the limiter's Redis client sent, counted in
  the workers (script calls, ``NOSCRIPT`` retries and loads; no connection set-up);
- Redis commands per call: the server's ``INFO commandstats`` delta, which includes
  the commands run inside scripts and leaves out connection set-up (``CLIENT``,
  ``SELECT``, ``HELLO``, ``AUTH``, ``PING``, ``INFO``, ``COMMAND``); other clients of the
  same server add to it (what they ran in an idle period as long as one run's budget
  is printed);
- the share of the calls made by the worker whose clock is ahead (fair: 25%), and
  errors (error answers at the simulator plus failed calls in the workers).

Target (``RedisRateLimiter`` only): busiest window <= 41 and >= 90% of the budget, in
both conditions, no errors. Redis: database 14 of a local server, or
``BENCH_REDIS_URL``; keys live under a namespace unique to the run and are deleted at
the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import queue
import random
import secrets
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wecom_kf_async.testing import serve_in_subprocess

from ._common import (
    CUSTOMER_BATCHGET,
    Settings,
    make_ids,
    print_header,
    print_table,
    ratio,
    reset_stats,
    sim_client,
    sim_stats,
    verdict,
)

RATE = 40
WORKERS = 4
CALLERS = 30
SKEW = 0.5
JITTER = 0.010
BUSIEST_TARGET = RATE + 1
SHARE_TARGET = 0.90
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"

SUBJECTS: dict[str, str] = {
    "redis_rate_limiter": "wecom_kf_async RedisRateLimiter",
    "limits_moving": "limits moving window + retry",
    "limits_sliding": "limits sliding window counter + retry",
}
BASELINE = "redis_rate_limiter"
CONDITIONS: dict[str, float] = {"agree": 0.0, "skew": SKEW}
CONDITION_LABELS = {"agree": "agree", "skew": f"1 of {WORKERS} +{SKEW:g} s"}

#: Commands a connection sends to set itself up (or that we send to measure).
_SETUP_COMMANDS = frozenset({"client", "select", "hello", "auth", "ping", "info", "command"})
_READY = "READY"
_RESULT_PREFIX = "RESULT "
_START_TIMEOUT = 60.0


# -- worker ------------------------------------------------------------------------


def _skew_clock(seconds: float) -> None:
    """Make this process's ``time.time`` run *seconds* ahead (what limits reads)."""
    real = time.time

    def skewed() -> float:
        return real() + seconds

    time.time = skewed


def _count_commands(client: Any) -> Counter[str]:
    """Count the commands *client* sends (``execute_command``: scripts, loads, ...)."""
    counts: Counter[str] = Counter()
    execute = client.execute_command

    async def counted(*args: Any, **options: Any) -> Any:
        counts["sent"] += 1
        return await execute(*args, **options)

    client.execute_command = counted
    return counts


class _LimitsWaiter:
    """A limits strategy made to wait: retry ``hit()`` after the window's reset time."""

    def __init__(self, strategy: str, redis_url: str, namespace: str) -> None:
        from limits import RateLimitItemPerSecond
        from limits.aio.storage import RedisStorage
        from limits.aio.strategies import (
            MovingWindowRateLimiter,
            SlidingWindowCounterRateLimiter,
        )

        # limits defaults to the coredis client; redis-py is the one installed here.
        self.storage = RedisStorage(
            "async+" + redis_url, implementation="redispy", key_prefix=namespace
        )
        self.limiter = (
            MovingWindowRateLimiter(self.storage)
            if strategy == "limits_moving"
            else SlidingWindowCounterRateLimiter(self.storage)
        )
        self.item = RateLimitItemPerSecond(RATE)
        self.client = self.storage.bridge.get_connection()
        self._rng = random.Random()

    async def acquire(self) -> None:
        while not await self.limiter.hit(self.item, "fleet"):
            stats = await self.limiter.get_window_stats(self.item, "fleet")
            wait = max(0.0, stats.reset_time - time.time())  # the client's clock
            await asyncio.sleep(wait + self._rng.uniform(0.0, JITTER))

    async def aclose(self) -> None:
        await self.client.aclose()


def _make_limiter(subject: str, redis_url: str, namespace: str) -> tuple[Any, Any, Any]:
    """The limiter for *subject*, the Redis client it talks through, and its warm-up.

    The warm-up runs the subject's scripts once on a key of its own, so they are in
    Redis' script cache before the start and no run pays ``NOSCRIPT`` and a load.
    """
    if subject == BASELINE:
        from wecom_kf_async.fleet import RedisRateLimiter, connect

        client = connect(redis_url)
        limiter = RedisRateLimiter(client, RATE, name="bench", namespace=namespace)
        spare = RedisRateLimiter(client, RATE, name="warmup", namespace=namespace)
        return limiter, client, spare.acquire
    waiter = _LimitsWaiter(subject, redis_url, namespace)

    async def warm() -> None:
        await waiter.limiter.hit(waiter.item, "warmup")
        await waiter.limiter.get_window_stats(waiter.item, "warmup")

    return waiter, waiter.client, warm


class _Gate:
    """Passes calls straight through until opened, then waits on the subject.

    Lets a worker open its HTTP and Redis connections before the start without
    spending the shared budget; after that, ``acquire`` is the subject's.
    """

    def __init__(self, subject: Any) -> None:
        self.subject = subject
        self.open = False

    async def acquire(self) -> None:
        if self.open:
            await self.subject.acquire()

    async def aclose(self) -> None:
        closer = getattr(self.subject, "aclose", None)
        if closer is not None:
            await closer()


async def _worker(
    subject: str, base_url: str, redis_url: str, namespace: str, skew: float, duration: float
) -> dict[str, Any]:
    if skew:
        _skew_clock(skew)
    limiter, client, warm = _make_limiter(subject, redis_url, namespace)
    gate = _Gate(limiter)
    ids = make_ids(CALLERS)
    granted = 0
    failures: Counter[str] = Counter()
    try:
        async with sim_client(base_url, max_concurrency=CALLERS, rate_limiter=gate) as kf:
            await kf.tokens.get()
            # Open the connections first: CALLERS calls at once, outside the budget.
            await asyncio.gather(*(kf.customers.batch_get([user_id]) for user_id in ids))
            await asyncio.gather(*(client.ping() for _ in ids))
            await warm()
            sent = _count_commands(client)
            gate.open = True
            print(_READY, flush=True)
            if (await asyncio.to_thread(sys.stdin.readline)).strip() != "GO":
                raise RuntimeError("no GO line on stdin")
            deadline = time.monotonic() + duration

            async def caller(user_id: str) -> None:
                # No new call after the deadline; a call already waiting completes.
                nonlocal granted
                while time.monotonic() < deadline:
                    try:
                        result = await kf.customers.batch_get([user_id])
                    except Exception as exc:
                        failures[type(exc).__name__] += 1
                        await asyncio.sleep(0.01)
                        continue
                    if result.ok:
                        granted += 1
                    else:
                        failures.update(type(e).__name__ for e in result.failed.values())

            await asyncio.gather(*(caller(user_id) for user_id in ids))
    finally:
        if subject == BASELINE:
            await client.aclose()
    return {"granted": granted, "failures": dict(failures), "round_trips": sent["sent"]}


# -- parent ------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    calls: int
    rate: float
    busiest: int
    round_trips: float
    commands: float
    skewed_share: float
    errors: int


def _server_commands(admin: Any) -> int:
    """Commands the Redis server ran so far, connection set-up and INFO left out."""
    total = 0
    for name, fields in admin.info("commandstats").items():
        command = name.removeprefix("cmdstat_").split("|")[0].lower()
        if command not in _SETUP_COMMANDS:
            total += int(fields["calls"])
    return total


def _read_line(process: subprocess.Popen[str], timeout: float) -> str:
    stdout = process.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue(maxsize=1)
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout)
    except queue.Empty:
        return ""


def _spawn(subject: str, args: list[str]) -> subprocess.Popen[str]:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    return subprocess.Popen(  # noqa: S603 - this interpreter, this module
        [sys.executable, "-m", "benchmarks.fleet", "--worker", subject, *args],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop(processes: list[subprocess.Popen[str]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()


def _sustained_rate(arrivals: list[float]) -> float:
    """Calls per second over the whole seconds that follow the first arrival.

    ``(calls - 1) / (last - first)`` would be the same for evenly spaced calls, but
    overstates a limiter that lets its budget through in bursts: 6 bursts of 40 one
    second apart span 5 s, and 239 / 5 would read as 48 calls/s.
    """
    if len(arrivals) < 2:
        return float("nan")
    seconds = math.floor(arrivals[-1] - arrivals[0])
    if seconds < 1:
        return float("nan")
    end = arrivals[0] + seconds
    return sum(1 for t in arrivals if t < end) / seconds


def _one_run(
    subject: str,
    skew: float,
    base_url: str,
    redis_url: str,
    namespace: str,
    duration: float,
    admin: Any,
) -> _Outcome:
    common = ["--url", base_url, "--redis", redis_url, "--namespace", namespace]
    common += ["--duration", repr(duration)]
    processes = [
        _spawn(subject, [*common, "--skew", repr(skew if index == 0 else 0.0)])
        for index in range(WORKERS)
    ]
    try:
        for process in processes:
            line = _read_line(process, _START_TIMEOUT)
            if line.strip() != _READY:
                _stop(processes)
                stderr = process.stderr.read() if process.stderr else ""
                raise RuntimeError(f"a {subject} worker did not start:\n{stderr[-2000:]}")
        reset_stats(base_url)
        before = _server_commands(admin)
        for process in processes:
            assert process.stdin is not None
            process.stdin.write("GO\n")
            process.stdin.flush()
        reports = []
        for process in processes:
            out, err = process.communicate(timeout=duration + _START_TIMEOUT)
            report = next(
                (line for line in out.splitlines() if line.startswith(_RESULT_PREFIX)), None
            )
            if report is None:
                raise RuntimeError(
                    f"a {subject} worker failed (exit {process.returncode}):\n{err[-2000:]}"
                )
            reports.append(json.loads(report[len(_RESULT_PREFIX) :]))
        after = _server_commands(admin)
    finally:
        _stop(processes)
    stats = sim_stats(base_url, times=True)

    arrivals = sorted(stats["call_times"].get(CUSTOMER_BATCHGET, []))
    calls = len(arrivals)
    granted = sum(int(r["granted"]) for r in reports)
    failures = sum(sum(r["failures"].values()) for r in reports)
    return _Outcome(
        calls=calls,
        rate=_sustained_rate(arrivals),
        busiest=int(stats["busiest_window_1s"].get(CUSTOMER_BATCHGET, 0)),
        round_trips=ratio(sum(int(r["round_trips"]) for r in reports), calls),
        commands=ratio(after - before, calls),
        skewed_share=ratio(int(reports[0]["granted"]), granted) if skew else float("nan"),
        errors=sum(stats["errors"].values()) + failures,
    )


def _cleanup(admin: Any, prefix: str) -> int:
    keys = list(admin.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        admin.delete(*keys)
    return len(keys)


def run(settings: Settings) -> bool:
    """Run the benchmark (every subject once per condition); True when it meets its target."""
    import redis

    duration = 3.0 if settings.quick else 5.0
    redis_url = os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL)
    title = "fleet"
    detail = (
        f"{WORKERS} processes x {CALLERS} callers, one-id batch_get, shared budget "
        f"{RATE} calls/s, calls started for {duration:g} s (those waiting then complete), "
        f"simulator latency 0 in another process, Redis {redis_url.rsplit('@', 1)[-1]}, "
        "each subject once per condition"
    )
    admin = redis.Redis.from_url(redis_url, socket_connect_timeout=2.0, socket_timeout=10.0)
    try:
        admin.ping()
    except (redis.RedisError, OSError) as exc:
        print_header(title, detail)
        return verdict(False, f"Redis is unreachable ({type(exc).__name__}); nothing measured")

    prefix = f"bench_fleet:{secrets.token_hex(4)}"
    outcomes: dict[tuple[str, str], _Outcome] = {}
    try:
        idle_before = _server_commands(admin)
        time.sleep(duration)
        idle = _server_commands(admin) - idle_before
        with serve_in_subprocess(latency=0.0) as base_url:
            for condition, skew in CONDITIONS.items():
                for subject in SUBJECTS:
                    outcomes[subject, condition] = _one_run(
                        subject,
                        skew,
                        base_url,
                        redis_url,
                        f"{prefix}:{subject}:{condition}",
                        duration,
                        admin,
                    )
    finally:
        _cleanup(admin, prefix)
        admin.close()

    print_header(title, detail)
    rows = []
    for condition in CONDITIONS:
        base = outcomes[BASELINE, condition]
        for subject, label in SUBJECTS.items():
            o = outcomes[subject, condition]
            rows.append(
                (
                    label,
                    CONDITION_LABELS[condition],
                    o.calls,
                    o.rate,
                    f"{o.rate / RATE:.0%}",
                    o.busiest,
                    f"{o.round_trips:.2f}",
                    f"{ratio(o.round_trips, base.round_trips):.2f}x",
                    f"{o.commands:.2f}",
                    f"{ratio(o.commands, base.commands):.2f}x",
                    "-" if o.skewed_share != o.skewed_share else f"{o.skewed_share:.0%}",
                    o.errors,
                )
            )
    print_table(
        [
            "subject",
            "clocks",
            "calls",
            "calls/s",
            "budget",
            "busiest 1 s",
            "trips/call",
            "vs RRL",
            "cmds/call",
            "vs RRL",
            "skewed share",
            "errors",
        ],
        rows,
    )
    idle_rate = idle / duration
    print(
        "trips/call: Redis round trips per call, counted in the workers; cmds/call: commands "
        "the Redis server ran per call (INFO commandstats), scripts' inner commands included"
    )
    print(
        f"other clients of that server ran {idle_rate:,.0f} commands/s while idle before the "
        f"runs (at {RATE} calls/s that would add {idle_rate / RATE:.1f} to cmds/call)"
    )
    print(
        f"skewed share: calls made by the worker whose clock is ahead (fair: "
        f"{1 / WORKERS:.0%}); vs RRL: against RedisRateLimiter in the same condition"
    )
    mine = {c: outcomes[BASELINE, c] for c in CONDITIONS}
    ok = all(
        o.busiest <= BUSIEST_TARGET and o.rate >= SHARE_TARGET * RATE and o.errors == 0
        for o in mine.values()
    )
    return verdict(
        ok,
        "RedisRateLimiter: busiest 1 s window "
        + ", ".join(f"{o.busiest} ({CONDITION_LABELS[c]})" for c, o in mine.items())
        + f" (target <= {BUSIEST_TARGET}); achieved "
        + ", ".join(f"{o.rate / RATE:.0%}" for o in mine.values())
        + f" of {RATE} calls/s (target >= {SHARE_TARGET:.0%})",
    )


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fleet")
    parser.add_argument("--worker", choices=list(SUBJECTS), help="internal: run one worker")
    parser.add_argument("--url", help="internal: the simulator's base URL")
    parser.add_argument("--redis", help="internal: the Redis URL")
    parser.add_argument("--namespace", help="internal: the Redis key namespace")
    parser.add_argument("--skew", type=float, default=0.0, help="internal: clock skew, s")
    parser.add_argument("--duration", type=float, default=5.0, help="internal: seconds")
    parser.add_argument("--quick", action="store_true", help="3 s per run instead of 5")
    args = parser.parse_args(argv)
    if args.worker is None:
        return 0 if run(Settings(quick=args.quick)) else 1
    if not (args.url and args.redis and args.namespace):
        parser.error("--worker needs --url, --redis and --namespace")
    report = asyncio.run(
        _worker(args.worker, args.url, args.redis, args.namespace, args.skew, args.duration)
    )
    print(_RESULT_PREFIX + json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
