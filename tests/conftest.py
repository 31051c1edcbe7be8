"""Shared fixtures: a fresh simulator per test, clients wired to it, test mode on."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from wecom_kf_async import KfClient, set_testing
from wecom_kf_async.instrumentation import InstrumentationEvent
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator, serve_in_subprocess


@pytest.fixture(autouse=True)
def _testing_mode() -> Iterator[None]:
    """Backoff waits are zero in tests unless a test turns test mode off."""
    set_testing(True)
    yield
    set_testing(False)


@pytest.fixture
def sim() -> WeComSimulator:
    """A fresh WeCom simulator."""
    return WeComSimulator()


def client_for(sim: WeComSimulator, **options: Any) -> KfClient:
    """A KfClient talking to *sim* in process (ASGI), no rate limit unless asked.

    A fake ``clock`` given alone serves as the monotonic clock too. The strict
    budget of ``sync_msg`` without a token is lifted too (tests page quickly).
    """
    options.setdefault("rate_limit", None)
    options.setdefault("rate_limits", {"kf/sync_msg:no_token": None})
    if "clock" in options:
        options.setdefault("monotonic", options["clock"])
    return KfClient(
        corp_id=sim.corp_id,
        secret=options.pop("secret", SIM_SECRET),
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
        **options,
    )


@pytest.fixture
async def kf(sim: WeComSimulator) -> AsyncIterator[KfClient]:
    """An open client talking to ``sim``."""
    async with client_for(sim) as client:
        yield client


@pytest.fixture
def kfid(sim: WeComSimulator) -> str:
    """A KF account ("Support"), the strict tokenless limit of the simulator off."""
    sim.sync_msg_without_token_per_minute = None
    return sim.add_account("Support")


@pytest.fixture
def hook() -> Recorder:
    """An instrumentation hook recording every event (of ``hooked_kf``)."""
    return Recorder()


@pytest.fixture
async def hooked_kf(sim: WeComSimulator, hook: Recorder) -> AsyncIterator[KfClient]:
    """An open client talking to ``sim`` and reporting to ``hook``."""
    async with client_for(sim, instrumentation=[hook]) as client:
        yield client


_E = TypeVar("_E", bound=InstrumentationEvent)


class Recorder:
    """An instrumentation hook keeping every event (or those of the *kinds* given)."""

    def __init__(self, *kinds: type[InstrumentationEvent]) -> None:
        self.events: list[InstrumentationEvent] = []
        if kinds:
            self.event_types = kinds

    def __call__(self, event: InstrumentationEvent) -> None:
        self.events.append(event)

    def of(self, kind: type[_E]) -> list[_E]:
        """The events of *kind*, in order."""
        return [event for event in self.events if isinstance(event, kind)]


class FakeClock:
    """A clock that moves only when told to (or when FakeSleep sleeps)."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeSleep:
    """An async sleep that advances a FakeClock instead of waiting, and records waits."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        wake = self.clock.now + max(seconds, 0.0)
        await asyncio.sleep(0)
        self.clock.now = max(self.clock.now, wake)


@pytest.fixture
def clock() -> FakeClock:
    """A fake wall clock."""
    return FakeClock()


@pytest.fixture
def fake_sleep(clock: FakeClock) -> FakeSleep:
    """A fake sleep bound to ``clock``."""
    return FakeSleep(clock)


@pytest.fixture
def clocked_sim(clock: FakeClock) -> WeComSimulator:
    """A simulator on the fake clock, with one account ``wkSupport01`` zhangsan serves."""
    from wecom_kf_async.testing.simulator._state import SimServicer

    simulator = WeComSimulator(clock=clock)
    simulator.add_account("Support", open_kfid="wkSupport01")
    simulator.corp.accounts["wkSupport01"].servicers["zhangsan"] = SimServicer("zhangsan")
    return simulator


@pytest.fixture
async def clocked_kf(clocked_sim: WeComSimulator, clock: FakeClock) -> AsyncIterator[KfClient]:
    """An open client of ``clocked_sim``, on the same fake clock."""
    async with client_for(clocked_sim, clock=clock) as client:
        yield client


async def until(condition: Callable[[], bool], *, limit: int = 10_000) -> None:
    """Yield to the event loop until *condition* holds (bounded, no wall-clock wait)."""
    for _ in range(limit):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


pytest_plugins = ["pytester"]

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
#: The deployments ``.ci/redis-deployments start`` runs on loopback, by kind.
REDIS_DEPLOYMENTS = {
    "single": REDIS_URL,
    "cluster": os.environ.get(
        "REDIS_CLUSTER_URL", "redis+cluster://127.0.0.1:7000,127.0.0.1:7001,127.0.0.1:7002"
    ),
    "sentinel": os.environ.get(
        "REDIS_SENTINEL_URL",
        "redis+sentinel://127.0.0.1:26480,127.0.0.1:26481,127.0.0.1:26482/kfprimary",
    ),
    "valkey": os.environ.get("VALKEY_URL", "redis://127.0.0.1:6490/0"),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests marked ``every_redis`` run on one server and on the cluster."""
    if "redis_kind" in metafunc.fixturenames and metafunc.definition.get_closest_marker(
        "every_redis"
    ):
        metafunc.parametrize("redis_kind", ["single", "cluster"])


@pytest.fixture
def redis_kind() -> str:
    """Which deployment ``redis_url`` names (``every_redis`` tests get each in turn)."""
    return "single"


def connect_redis(url: str) -> Any:
    """A client of the test Redis at *url*, of whatever kind (single, cluster, Sentinel).

    Built with redis-py alone (not the library's ``fleet.connect``), so the fleet
    tests' own plumbing works whatever the library under test does with URLs.
    """
    import redis.asyncio as aioredis
    from redis.asyncio.cluster import ClusterNode, RedisCluster
    from redis.asyncio.sentinel import Sentinel

    scheme, rest = url.split("://", 1)
    if scheme in ("redis+cluster", "redis+sentinel"):
        hosts, _, path = rest.partition("/")
        pairs = [(host, int(port)) for host, port in (h.rsplit(":", 1) for h in hosts.split(","))]
        if scheme == "redis+cluster":
            return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in pairs])
        sentinel = Sentinel(pairs, socket_timeout=2.0)
        primary = sentinel.master_for(path.split("/")[0], socket_timeout=2.0)
        _sentinels[id(primary)] = sentinel
        return primary
    return aioredis.Redis.from_url(url)


_sentinels: dict[int, Any] = {}


async def close_redis(client: Any) -> None:
    """Close a client :func:`connect_redis` made (a Sentinel's connections too)."""
    await client.aclose()
    sentinel = _sentinels.pop(id(client), None)
    if sentinel is not None:
        for node in sentinel.sentinels:
            await node.aclose()


async def _redis_answers(url: str) -> str | None:
    """None if Redis at *url* answers PING, else why not."""
    client = connect_redis(url)
    try:
        await client.ping()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await close_redis(client)
    return None


async def _empty(url: str) -> None:
    """Delete every key of the test deployment at *url* (it holds nothing else)."""
    from redis.asyncio.cluster import RedisCluster

    client = connect_redis(url)
    try:
        if isinstance(client, RedisCluster):
            await client.flushdb(target_nodes=RedisCluster.PRIMARIES)
        else:
            await client.flushdb()
    finally:
        await close_redis(client)


async def deployment_url(kind: str) -> str:
    """The URL of the *kind* deployment; fails under CI, skips elsewhere, if it is down."""
    url = REDIS_DEPLOYMENTS[kind]
    problem = await _redis_answers(url)
    if problem is not None:
        message = f"no Redis {kind} answers at {url} ({problem}); see .ci/redis-deployments"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


@pytest.fixture
async def redis_url(redis_kind: str) -> AsyncIterator[str]:
    """The test Redis of ``redis_kind``, emptied before and after the test.

    One server is ``REDIS_URL`` (default ``redis://127.0.0.1:6379/15``); the cluster
    is ``REDIS_CLUSTER_URL``. Without it the test fails when ``CI`` is set (CI must
    provide one) and is skipped otherwise.
    """
    url = await deployment_url(redis_kind)
    await _empty(url)
    try:
        yield url
    finally:
        await _empty(url)


@pytest.fixture
def sim_url() -> Iterator[str]:
    """The simulator, served by its own process (the fleet tests' workers call it)."""
    with serve_in_subprocess() as url:
        yield url


@pytest.fixture
async def sim_control(sim_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for the simulator's ``/__sim__/`` control endpoints."""
    async with httpx.AsyncClient(base_url=f"{sim_url}/__sim__") as client:
        yield client


def run_python(code: str, cwd: Path, name: str = "script.py") -> subprocess.CompletedProcess[str]:
    """Run *code* as a file in *cwd* with this interpreter (docs examples, worker scripts)."""
    script = cwd / name
    script.write_text(code, encoding="utf-8")
    return subprocess.run(  # noqa: S603 - this interpreter, a file of ours
        [sys.executable, str(script)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


_ROOT = Path(__file__).resolve().parents[1]


async def run_example(module: str, *args: str, patience: float = 60.0) -> tuple[int, str, str]:
    """Run ``python -m <module> <args>`` from the repository root; return its exit status,
    stdout and stderr (killed if it outlives *patience* seconds, never slept through)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_ROOT), env.get("PYTHONPATH")) if p)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        *args,
        cwd=_ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), patience)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()
