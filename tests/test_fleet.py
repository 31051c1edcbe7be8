"""Fleet mode in one process: RedisTokenStore and RedisRateLimiter on a real Redis."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from wecom_kf_async import AccessToken, KfClient, RateLimiter, RequestTimeoutError, token_key
from wecom_kf_async.fleet import RedisRateLimiter, RedisTokenStore, connect
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator

from .conftest import FakeClock, connect_redis, until

KEY = token_key("wwcorp", "s3cret")

pytestmark = pytest.mark.every_redis


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the test Redis (its database emptied by ``redis_url``)."""
    client = connect_redis(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def namespace() -> str:
    """A key prefix of this test's own."""
    return f"t-{uuid.uuid4().hex[:8]}"


def token(
    value: str, clock: Callable[[], float], lifetime: float, lead: float = 60.0
) -> AccessToken:
    now = clock()
    return AccessToken(value=value, expires_at=now + lifetime, refresh_at=now + lifetime - lead)


class Fetches:
    """A fetch function that hands out numbered tokens and counts its calls."""

    def __init__(self, clock: Callable[[], float], lifetime: float = 7200.0) -> None:
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0
        self.during: Callable[[], Awaitable[None]] | None = None

    async def __call__(self) -> AccessToken:
        self.calls += 1
        if self.during is not None:
            await self.during()
        return token(f"fetched-{self.calls}", self.clock, self.lifetime)


# -- the store ----------------------------------------------------------------------


async def test_store_round_trips_a_token_through_redis(
    redis: aioredis.Redis, namespace: str
) -> None:
    clock = FakeClock()
    store = RedisTokenStore(redis, namespace=namespace, clock=clock)
    assert await store.get(KEY) is None
    await store.set(KEY, token("tok-A", clock, 7200, lead=300))

    other = RedisTokenStore(redis, namespace=namespace, clock=clock)
    got = await other.get(KEY)

    assert got is not None
    assert got.value == "tok-A"
    assert got.expires_at == pytest.approx(clock() + 7200, abs=1)
    assert got.refresh_at == pytest.approx(got.expires_at - 300, abs=0.01)
    assert await redis.pttl(store.token_key(KEY)) > 7_100_000


async def test_processes_with_different_clocks_agree_on_freshness(
    redis: aioredis.Redis, namespace: str
) -> None:
    # Lifetimes cross Redis as durations (key expiry), not as wall-clock instants.
    ahead = FakeClock(start=time.time() + 3600)
    behind = FakeClock(start=time.time() - 3600)
    await RedisTokenStore(redis, namespace=namespace, clock=ahead).set(
        KEY, token("tok", ahead, 600, lead=60)
    )

    seen = await RedisTokenStore(redis, namespace=namespace, clock=behind).get(KEY)

    assert seen is not None
    assert seen.fresh(behind())
    assert seen.expires_at == pytest.approx(behind() + 600, abs=1)


async def test_a_write_never_replaces_a_token_that_expires_later(
    redis: aioredis.Redis, namespace: str
) -> None:
    clock = FakeClock()
    store = RedisTokenStore(redis, namespace=namespace, clock=clock)
    await store.set(KEY, token("newer", clock, 7200))
    await store.set(KEY, token("late-writer", clock, 3600))

    got = await RedisTokenStore(redis, namespace=namespace, clock=clock).get(KEY)
    assert got is not None
    assert got.value == "newer"

    await store.set(KEY, token("newest", clock, 7300))
    got = await RedisTokenStore(redis, namespace=namespace, clock=clock).get(KEY)
    assert got is not None
    assert got.value == "newest"


async def test_rewriting_the_same_token_keeps_its_longer_lifetime(
    redis: aioredis.Redis, namespace: str
) -> None:
    # gettoken hands back the same token while it is valid, with a shorter expires_in.
    clock = FakeClock()
    store = RedisTokenStore(redis, namespace=namespace, clock=clock)
    await store.set(KEY, token("same", clock, 7200, lead=300))
    await store.set(KEY, token("same", clock, 100, lead=20))

    got = await RedisTokenStore(redis, namespace=namespace, clock=clock).get(KEY)
    assert got is not None
    assert got.expires_at == pytest.approx(clock() + 7200, abs=1)
    assert got.expires_at - got.refresh_at == pytest.approx(20)


async def test_invalidate_deletes_only_the_token_that_failed(
    redis: aioredis.Redis, namespace: str
) -> None:
    clock = FakeClock()
    store = RedisTokenStore(redis, namespace=namespace, clock=clock)
    await store.set(KEY, token("current", clock, 7200))

    assert await store.invalidate(KEY, "refused-earlier") is False
    got = await store.get(KEY)
    assert got is not None
    assert got.value == "current"

    assert await store.invalidate(KEY, "current") is True
    assert await redis.exists(store.token_key(KEY)) == 0
    assert await store.get(KEY) is None


async def test_refresh_fetches_once_and_releases_the_lock(
    redis: aioredis.Redis, namespace: str
) -> None:
    clock = FakeClock(start=time.time())
    store = RedisTokenStore(redis, namespace=namespace, clock=clock)
    fetch = Fetches(clock)

    async def lock_is_held() -> None:
        owner = await redis.get(store.lock_key(KEY))
        assert owner is not None
        assert len(owner) == 32  # a random owner, nothing about the corp or secret

    fetch.during = lock_is_held
    first = await store.refresh(KEY, fetch)
    second = await store.refresh(KEY, fetch)

    assert fetch.calls == 1
    assert first.value == second.value == "fetched-1"
    assert await redis.exists(store.lock_key(KEY)) == 0


async def test_refresh_never_releases_a_lock_it_no_longer_owns(
    redis: aioredis.Redis, namespace: str
) -> None:
    clock = FakeClock(start=time.time())
    store = RedisTokenStore(redis, namespace=namespace, clock=clock)
    fetch = Fetches(clock)

    async def lock_taken_over() -> None:
        # As if our lock expired and another process took it.
        await redis.set(store.lock_key(KEY), "someone-else", px=60_000)

    fetch.during = lock_taken_over
    await store.refresh(KEY, fetch)

    assert await redis.get(store.lock_key(KEY)) == b"someone-else"


async def test_refresh_waits_for_the_holder_and_takes_its_token(
    redis: aioredis.Redis, namespace: str
) -> None:
    clock = FakeClock(start=time.time())
    holder = RedisTokenStore(redis, namespace=namespace, clock=clock)
    await redis.set(holder.lock_key(KEY), "holder", px=60_000)
    polls: list[float] = []

    async def sleep(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 3:  # the holder finishes while we wait
            await holder.set(KEY, token("holders", clock, 7200))

    waiter = RedisTokenStore(redis, namespace=namespace, clock=clock, sleep=sleep)
    fetch = Fetches(clock)

    got = await waiter.refresh(KEY, fetch)

    assert got.value == "holders"
    assert fetch.calls == 0
    assert len(polls) == 3
    assert all(0 < pause <= 0.2 for pause in polls)  # polling, with backoff: no spin


async def test_a_dead_holders_lock_delays_a_refresh_at_most_its_ttl(
    redis: aioredis.Redis, namespace: str
) -> None:
    clock = FakeClock(start=time.time())
    store = RedisTokenStore(redis, namespace=namespace, clock=clock)
    await redis.set(store.lock_key(KEY), "dead-holder", px=300)
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)
        await asyncio.sleep(seconds)

    store = RedisTokenStore(redis, namespace=namespace, clock=clock, sleep=sleep)
    fetch = Fetches(clock)
    waited_before_fetch: list[float] = []

    async def note_waits() -> None:
        waited_before_fetch.extend(waited)

    fetch.during = note_waits
    got = await store.refresh(KEY, fetch)

    assert got.value == "fetched-1"
    assert fetch.calls == 1
    assert 0 < sum(waited_before_fetch) <= 0.3 + 0.01  # the lock's TTL
    assert await redis.exists(store.lock_key(KEY)) == 0


async def test_a_slow_live_holder_keeps_its_lock(redis: aioredis.Redis, namespace: str) -> None:
    clock = FakeClock(start=time.time())
    store = RedisTokenStore(redis, namespace=namespace, clock=clock, lock_ttl=0.3)
    fetch = Fetches(clock)
    ttls: list[int] = []

    async def slow_gettoken() -> None:
        for _ in range(4):  # well past the lock's TTL
            await asyncio.sleep(0.15)
            ttls.append(await redis.pttl(store.lock_key(KEY)))

    fetch.during = slow_gettoken
    await store.refresh(KEY, fetch)

    assert all(ttl > 0 for ttl in ttls), ttls


async def test_clients_share_one_token_through_redis(
    redis_url: str, namespace: str, sim: WeComSimulator
) -> None:
    clients = [
        KfClient(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url="http://wecom.sim",
            transport=httpx.ASGITransport(app=sim),
            rate_limit=None,
            token_store=RedisTokenStore(redis_url, namespace=namespace),
        )
        for _ in range(3)
    ]
    for client in clients:
        await client.__aenter__()
    try:
        results = await asyncio.gather(
            *(client.customers.batch_get([f"wm{n}"]) for client in clients for n in range(20))
        )
        assert all(not result.failed for result in results)
        assert sim.stats.calls["gettoken"] == 1
        assert sum(client.tokens.refresh_count for client in clients) == 1
    finally:
        for client in clients:
            await client.aclose()


# -- the rate limiter ---------------------------------------------------------------


async def test_limiter_hands_out_slots_spaced_by_the_budget(
    redis: aioredis.Redis, namespace: str
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    # Two processes' limiters on one budget of 20/s: slots 1/19 s apart (headroom 0.95).
    limiters = [
        RedisRateLimiter(redis, 20, name="corp", namespace=namespace, sleep=sleep) for _ in range(2)
    ]
    for n in range(40):
        await limiters[n % 2].acquire()

    interval = 1 / 19
    assert len(waits) >= 39  # everyone after the first waits for a slot, none is refused
    steps = [later - earlier for earlier, later in itertools.pairwise(waits)]
    # Each reservation is one interval after the previous one; Redis' clock moved
    # on by the (short) time between two calls.
    assert all(interval - 0.02 < step <= interval + 1e-6 for step in steps), steps
    assert waits[-1] == pytest.approx(39 * interval, abs=0.1)
    assert await redis.pttl(limiters[0].key) > 0


async def test_callers_that_give_up_hand_their_slots_back(
    redis: aioredis.Redis, namespace: str
) -> None:
    """30 callers cancelled before their slots leave the next caller one slot to wait."""
    waits: list[float] = []
    never = asyncio.Event()

    async def held_sleep(seconds: float) -> None:
        waits.append(seconds)
        await never.wait()

    limiter = RedisRateLimiter(redis, 10, name="corp", namespace=namespace, sleep=held_sleep)
    callers = [asyncio.create_task(limiter.acquire()) for _ in range(30)]
    await until(lambda: len(waits) == 29, limit=100_000)  # the first went at once
    for task in callers:
        task.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    await asyncio.gather(*limiter._returns)  # the hand-backs, each one Redis script

    waits.clear()
    late = asyncio.create_task(limiter.acquire())
    await until(lambda: bool(waits), limit=100_000)
    late.cancel()
    await asyncio.gather(late, return_exceptions=True)
    assert waits[0] <= 2 * limiter.interval_us / 1_000_000  # not the 29 slots given up


async def test_a_refresh_never_waits_for_ever_on_a_lock_that_is_renewed(
    redis: aioredis.Redis, namespace: str
) -> None:
    """A holder that keeps its lock for ever (a hung gettoken) cannot hold the others."""
    clock = FakeClock(start=time.time())
    waited: list[float] = []

    async def sleep(seconds: float) -> None:
        waited.append(seconds)

    store = RedisTokenStore(redis, namespace=namespace, clock=clock, sleep=sleep, refresh_wait=2.0)
    await redis.set(store.lock_key(KEY), "live-holder", px=600_000)
    fetch = Fetches(clock)
    with pytest.raises(RequestTimeoutError, match="refresh lock"):
        await store.refresh(KEY, fetch)
    assert fetch.calls == 0
    assert 2.0 <= sum(waited) < 2.5


async def test_limiters_with_other_names_do_not_share(
    redis: aioredis.Redis, namespace: str
) -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    one = RedisRateLimiter(redis, 1, name="corp-a", namespace=namespace, sleep=sleep)
    other = RedisRateLimiter(redis, 1, name="corp-b", namespace=namespace, sleep=sleep)
    await one.acquire()
    await other.acquire()
    assert waits == []


def test_limiter_checks_its_arguments() -> None:
    url = "redis://127.0.0.1:6379/15"
    with pytest.raises(ValueError, match="rate"):
        RedisRateLimiter(url, 0)
    with pytest.raises(ValueError, match="headroom"):
        RedisRateLimiter(url, 10, headroom=1.5)
    with pytest.raises(ValueError, match="either fallback or fallback_rate"):
        RedisRateLimiter(url, 10, fallback_rate=5, fallback=RedisRateLimiter(url, 5))
    with pytest.raises(TypeError, match="redis must be a URL"):
        RedisRateLimiter(42, 10)  # type: ignore[arg-type]


# -- Redis unreachable ----------------------------------------------------------------


class CountingLimiter:
    """A fallback limiter that counts its use."""

    def __init__(self) -> None:
        self.acquired = 0

    async def acquire(self) -> None:
        self.acquired += 1


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_unreachable_redis_falls_back_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    url = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    clock = FakeClock(start=time.time())
    store = RedisTokenStore(url, clock=clock, recheck_interval=60)
    fallback = CountingLimiter()
    limiter = RedisRateLimiter(store.redis, 10, fallback=fallback, recheck_interval=60)
    fetch = Fetches(clock)
    caplog.set_level(logging.DEBUG, logger="wecom_kf_async")
    try:
        for _ in range(5):
            got = await store.refresh(KEY, fetch)
            assert await store.get(KEY) == got
            await limiter.acquire()
    finally:
        await store.aclose()

    assert fetch.calls == 1  # the in-process copy serves until it is due
    assert fallback.acquired == 5
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert "unreachable" in warnings[0].getMessage()


_NO_DISK = ("--save", "", "--appendonly", "no")


class RedisServer:
    """A redis-server process of the test's own, to stop and restart at will."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.process = subprocess.Popen(  # noqa: S603 - a fixed command line
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", *_NO_DISK],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.01)
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A private Redis server (fails when CI is set and there is no redis-server)."""
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _eventually(check: Callable[[], Awaitable[bool]], seconds: float = 10.0) -> None:
    """Wait for a state that comes about in real time (a reconnect), bounded."""
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("never happened")
        await asyncio.sleep(0.02)


async def test_redis_stopped_mid_run_then_restarted(
    redis_server: RedisServer, sim: WeComSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wecom_kf_async")
    recheck = 0.1

    def fleet_client(redis: aioredis.Redis) -> KfClient:
        return KfClient(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url="http://wecom.sim",
            transport=httpx.ASGITransport(app=sim),
            rate_limit=None,
            token_store=RedisTokenStore(redis, recheck_interval=recheck),
            rate_limiter=RedisRateLimiter(redis, 1000, name="corp", recheck_interval=recheck),
        )

    async def run(client: KfClient, calls: int) -> None:
        results = await asyncio.gather(
            *(client.customers.batch_get([f"wm{n}"]) for n in range(calls))
        )
        assert all(not result.failed and len(result) == 1 for result in results)

    failures: list[BaseException] = []
    completed = 0
    stopping = asyncio.Event()

    async def load(client: KfClient, caller: int) -> None:
        nonlocal completed
        n = 0
        while not stopping.is_set():
            n += 1
            try:
                result = await client.customers.batch_get([f"wm{caller}x{n}"])
            except Exception as exc:
                failures.append(exc)
            else:
                if result.failed or len(result) != 1:
                    failures.append(AssertionError(f"not resolved: {result.failed!r}"))
            completed += 1

    async def progress(calls: int) -> None:
        target = completed + calls

        async def reached() -> bool:
            return completed >= target

        await _eventually(reached)

    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]

    redis = connect(redis_server.url)
    watcher = connect(redis_server.url)
    first = fleet_client(redis)
    try:
        async with first:
            callers = [asyncio.create_task(load(first, caller)) for caller in range(10)]
            await progress(50)
            assert sim.stats.calls["gettoken"] == 1
            store = first.tokens.store
            assert isinstance(store, RedisTokenStore)
            token_key_ = store.token_key(first.tokens._key)
            assert await watcher.exists(token_key_) == 1

            # Redis goes away while calls are running.
            await asyncio.to_thread(redis_server.stop)
            sim.expire_tokens()  # the next calls need a new token, with Redis down
            await progress(300)

            assert sim.stats.calls["gettoken"] == 2
            assert len(warnings()) == 1, warnings()
            assert "unreachable" in warnings()[0]
            held = first.tokens.latest()
            assert held is not None

            await asyncio.to_thread(redis_server.start)  # empty: it keeps nothing on disk

            async def shared_again() -> bool:
                return await watcher.hget(token_key_, "token") == held.value.encode()

            await _eventually(shared_again)
            await progress(50)
            stopping.set()
            await asyncio.gather(*callers)

            assert failures == []
            assert await watcher.exists("wecom_kf:rate:{corp}") == 1
            assert len(warnings()) == 2, warnings()
            assert "answers again" in warnings()[1]

            # A newcomer takes the token from Redis: the fleet shares again.
            newcomer = fleet_client(connect(redis_server.url))
            async with newcomer:
                await run(newcomer, 5)
                assert newcomer.tokens.refresh_count == 0
            assert sim.stats.calls["gettoken"] == 2
    finally:
        stopping.set()
        await redis.aclose()
        await watcher.aclose()


# -- configuration --------------------------------------------------------------------


async def test_for_fleet_wires_store_and_limiter(redis_url: str, sim: WeComSimulator) -> None:
    client = KfClient.for_fleet(
        redis_url,
        corp_id=sim.corp_id,
        secret=SIM_SECRET,
        rate_limit=50,
        namespace="custom",
        lock_ttl=3,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
    )
    store = client.tokens.store
    assert isinstance(store, RedisTokenStore)
    assert store.namespace == "custom"
    assert store.lock_ttl == 3
    limiters = {path: client.limiters_for(path) for path in ("kf/customer/batchget", "kf/sync_msg")}
    for path, (limiter,) in limiters.items():  # one budget per endpoint, one key each
        assert isinstance(limiter, RedisRateLimiter)
        assert (limiter.rate, limiter.name, limiter.key) == (
            50,
            f"{sim.corp_id}:{path}",
            f"custom:rate:{{{sim.corp_id}:{path}}}",
        )
        assert limiter.redis is store.redis  # one connection pool
    async with client:
        result = await client.customers.batch_get(["wmA"])
        assert "wmA" in result


def test_for_fleet_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="URL must start with") as caught:
        KfClient.for_fleet("http://:hunter2@host", corp_id="ww", secret="s")
    assert "hunter2" not in str(caught.value)
    with pytest.raises(TypeError, match="sets token_store"):
        KfClient.for_fleet("redis://127.0.0.1/15", corp_id="ww", secret="s", token_store=None)
    with pytest.raises(ValueError, match="corp_id"):
        KfClient.for_fleet("redis://127.0.0.1/15", corp_id="", secret="s")


def test_reprs_show_where_but_no_password() -> None:
    store = RedisTokenStore("redis://:hunter2@127.0.0.1:6379/15")
    limiter = RedisRateLimiter(store.redis, 10, name="ww")
    for shown in (repr(store), repr(limiter)):
        assert "127.0.0.1:6379/15" in shown
        assert "hunter2" not in shown


def test_limiter_is_a_rate_limiter() -> None:
    limiter: Any = RedisRateLimiter("redis://127.0.0.1:6379/15", 10)
    assert isinstance(limiter, RateLimiter)


async def test_a_wrong_redis_password_raises_instead_of_falling_back(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    from redis.exceptions import AuthenticationError

    caplog.set_level(logging.DEBUG)
    scheme, host = redis_url.split("://", 1)
    store = RedisTokenStore(f"{scheme}://nobody:hunter2@{host}")
    limiter = RedisRateLimiter(store.redis, 10, fallback=CountingLimiter())
    try:
        with pytest.raises(AuthenticationError) as caught:
            await store.get(KEY)
        assert "hunter2" not in str(caught.value)
        with pytest.raises(AuthenticationError):
            await limiter.acquire()
    finally:
        await store.aclose()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
