"""The fleet's consumer lease when things go wrong: a lost lease, Redis frozen or restarted,
a holder that lets go with a wake-up pending.

Redis is real: the shared test Redis, or a private ``redis-server`` on a Unix socket
of this test's own that the test freezes (SIGSTOP) or restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wecom_kf_async import KfBot, LeaseLostError, TextMessage
from wecom_kf_async.fleet import RedisCursorLease, RedisCursorStore, connect
from wecom_kf_async.testing import WeComSimulator

from .conftest import FakeClock, client_for, connect_redis

LOGGER = "wecom_kf_async"

REDIS_SERVER = shutil.which("redis-server")

pytestmark = [
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server"),
    pytest.mark.every_redis,
]


class PrivateRedis:
    """A ``redis-server`` of one test on a Unix socket: frozen, thawed, restarted at will."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "redis.sock"
        self.url = f"unix://{self.socket}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = subprocess.Popen(  # noqa: S603 - the system's redis-server
            [
                REDIS_SERVER,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.directory),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    async def ready(self) -> None:
        client = aioredis.Redis.from_url(self.url, socket_timeout=1.0)
        try:
            async with asyncio.timeout(20):
                while True:
                    try:
                        if await client.ping():
                            return
                    except (RedisConnectionError, OSError):
                        await asyncio.sleep(0.02)
        finally:
            await client.aclose()

    def freeze(self) -> None:
        """SIGSTOP, and wait (bounded) until the kernel says it is stopped."""
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGSTOP)
        stat = Path(f"/proc/{self.process.pid}/stat")
        for _ in range(10_000):
            if not stat.exists() or stat.read_text().split(") ", 1)[1][0] == "T":
                return
        raise AssertionError("redis-server did not stop")

    def thaw(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        if self.process is None:
            return
        self.thaw()
        self.process.terminate()
        self.process.wait(timeout=20)
        self.process = None

    async def restart(self) -> None:
        self.stop()
        self.start()
        await self.ready()


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    """A fresh private Redis (a short socket path: Unix sockets allow ~100 characters)."""
    directory = Path(tempfile.mkdtemp(prefix="kfr-", dir="/tmp"))
    server = PrivateRedis(directory)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


def quick_client(url: str) -> aioredis.Redis:
    """A client that gives up on a frozen Redis after 0.3 s (``connect`` waits 2 s)."""
    return aioredis.Redis.from_url(
        url,
        socket_connect_timeout=0.3,
        socket_timeout=0.3,
        retry=Retry(NoBackoff(), 1),
        retry_on_error=[RedisConnectionError],
    )


@pytest.fixture
def namespace() -> str:
    """A key prefix of this test's own."""
    return f"t-{uuid.uuid4().hex[:8]}"


@pytest.fixture
async def shared_redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A client of the shared test Redis (its database emptied by ``redis_url``)."""
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


class LogWatch(logging.Handler):
    """Sets an event when a record of the library contains *needle*."""

    def __init__(self, needle: str) -> None:
        super().__init__(logging.DEBUG)
        self.needle = needle
        self.seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.needle in record.getMessage():
            self.seen.set()


@pytest.fixture
def log_watch() -> Iterator[Callable[[str], LogWatch]]:
    """``log_watch(text)``: an event set when the library logs *text*."""
    logger = logging.getLogger(LOGGER)
    watches: list[LogWatch] = []
    old_level = logger.level
    logger.setLevel(logging.DEBUG)

    def watch(needle: str) -> LogWatch:
        handler = LogWatch(needle)
        logger.addHandler(handler)
        watches.append(handler)
        return handler

    yield watch
    for handler in watches:
        logger.removeHandler(handler)
    logger.setLevel(old_level)


async def eventually(condition: Callable[[], Awaitable[bool]], *, within: float = 20.0) -> None:
    """Wait until *condition* holds, failing after *within* seconds."""
    try:
        async with asyncio.timeout(within):
            while True:
                if await condition():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"condition not met within {within} s") from None


def sim_with(messages: int) -> tuple[WeComSimulator, str]:
    sim = WeComSimulator(seed=17)
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    sim.fill(kfid, messages)
    return sim, kfid


async def prime(store: RedisCursorStore) -> None:
    """One whole consume on another account: the scripts are loaded and a connection pooled."""
    async with store.consume("wkPrime") as lease:
        assert lease is not None
        await lease.set("primed")
        assert await lease.again() == (False, None)


async def leave_a_ghost(
    server: PrivateRedis, store: RedisCursorStore, redis: aioredis.Redis, open_kfid: str
) -> None:
    """Every try of *store*'s take times out on a frozen Redis, which runs it when thawed:
    a lease of *store*'s owner that nobody renews."""
    await prime(store)
    server.freeze()
    with pytest.raises((RedisTimeoutError, RedisConnectionError)):  # no answer
        async with store.consume(open_kfid):
            raise AssertionError("no answer from a frozen Redis")
    server.thaw()

    async def ghost_appeared() -> bool:
        return bool(await redis.exists(f"wecom_kf:lease:{{{open_kfid}}}"))

    await eventually(ghost_appeared, within=5.0)  # Redis ran the take when it woke


def record_texts(bot: KfBot) -> list[str]:
    """The msgids of the texts *bot* handles, in order."""
    handled: list[str] = []

    @bot.on(TextMessage)
    async def record(message: TextMessage) -> None:
        handled.append(message.msgid)

    return handled


async def handles(handled: list[str], count: int) -> None:
    async def enough() -> bool:
        return len(handled) >= count

    await eventually(enough)


# -- defect 6: a consumer stops the moment it knows its lease is gone -------------------


async def test_a_stream_stops_before_the_next_message_once_the_renewer_saw_the_lease_lost(
    shared_redis: aioredis.Redis, namespace: str, log_watch: Callable[[str], LogWatch]
) -> None:
    """The renewer finds another owner: the very next message is refused, not handed out."""
    sim, kfid = sim_with(20)
    lost = log_watch("the consumer lease was lost")
    store = RedisCursorStore(shared_redis, namespace=namespace, lease_ttl=0.3)
    successor = RedisCursorStore(shared_redis, namespace=namespace, lease_ttl=30)
    async with client_for(sim) as kf:
        stream = kf.messages.stream(kfid, cursors=store, limit=10)
        first = await anext(stream)
        await shared_redis.delete(f"{namespace}:lease:{{{kfid}}}")  # as if it expired
        async with successor.consume(kfid) as taken:
            assert taken is not None
            async with asyncio.timeout(10):
                await lost.seen.wait()  # the renewer knows
            with pytest.raises(LeaseLostError):
                await anext(stream)
            await stream.aclose()
    assert first.msgid == sim.messages(kfid)[0]["msgid"]
    assert await store.get(kfid) is None  # the old holder saved nothing


async def test_a_lease_not_renewed_for_its_ttl_is_assumed_lost_without_waiting_for_the_renewer(
    shared_redis: aioredis.Redis, namespace: str
) -> None:
    """By its own monotonic clock, past lease_ttl since the last renewal: stop, and let go."""
    sim, kfid = sim_with(20)
    clock = FakeClock(1000.0)
    store = RedisCursorStore(shared_redis, namespace=namespace, lease_ttl=30, monotonic=clock)
    async with client_for(sim) as kf:
        stream = kf.messages.stream(kfid, cursors=store, limit=10)
        await anext(stream)
        clock.advance(30.5)  # no renewal for longer than the lease lives (a long pause)
        with pytest.raises(LeaseLostError):
            await anext(stream)
        await stream.aclose()
    assert await shared_redis.exists(f"{namespace}:lease:{{{kfid}}}") == 0  # let go at once
    assert await store.get(kfid) is None


async def test_a_holder_whose_redis_restarted_stops_and_the_next_pull_takes_a_fresh_lease(
    private_redis: PrivateRedis, log_watch: Callable[[str], LogWatch]
) -> None:
    """A restart empties Redis: the holder's renewer finds no lease, the stream stops."""
    await private_redis.ready()
    sim, kfid = sim_with(20)
    lost = log_watch("the consumer lease was lost")
    redis = connect(private_redis.url)
    store = RedisCursorStore(redis, lease_ttl=0.6)
    try:
        async with client_for(sim) as kf:
            stream = kf.messages.stream(kfid, cursors=store, limit=10)
            await anext(stream)
            await private_redis.restart()
            async with asyncio.timeout(10):
                await lost.seen.wait()
            with pytest.raises(LeaseLostError):
                await anext(stream)
            await stream.aclose()
            # The next pull takes a new lease (and, the cursor being gone, reads from the oldest).
            again = [m.msgid async for m in kf.messages.stream(kfid, cursors=store, limit=10)]
        assert again == [item["msgid"] for item in sim.messages(kfid)]
    finally:
        await store.aclose()
        await redis.aclose()


# -- defect 7: an ambiguous acquisition is resolved; a note never waits on a ghost ------


async def test_a_callback_while_redis_is_frozen_past_the_command_timeout_is_still_pulled(
    private_redis: PrivateRedis,
) -> None:
    """Redis frozen 2.5 s (the command timeout is 2 s) as the wake-up arrives: handled, and
    no lease is left behind that nobody renews."""
    await private_redis.ready()
    sim, kfid = sim_with(3)
    redis = connect(private_redis.url)
    store = RedisCursorStore(redis, lease_ttl=10.0)
    try:
        await prime(store)
        async with client_for(sim) as kf, KfBot(kf, cursors=store) as bot:
            handled = record_texts(bot)
            private_redis.freeze()
            bot.wake(kfid, sim.callback_token(kfid))
            await asyncio.sleep(2.5)  # the freeze, as long as the issue's
            private_redis.thaw()
            await handles(handled, 3)

            async def let_go() -> bool:
                return not await redis.exists(f"wecom_kf:lease:{{{kfid}}}")

            await eventually(let_go, within=5.0)  # not 10 s later, when a ghost would expire
    finally:
        await store.aclose()
        await redis.aclose()
    assert handled == [item["msgid"] for item in sim.messages(kfid)]


async def test_a_take_redis_ran_after_the_client_gave_up_is_claimed_by_the_next_pull(
    private_redis: PrivateRedis,
) -> None:
    """Every try timed out, then Redis woke and ran one: the lease is this process's, and
    its next consume gets it instead of leaving a note for nobody."""
    await private_redis.ready()
    redis = quick_client(private_redis.url)
    store = RedisCursorStore(redis, lease_ttl=30)
    try:
        await leave_a_ghost(private_redis, store, redis, "wkA")
        async with store.consume("wkA", "TOKEN") as lease:
            assert lease is not None  # ours, not a note waiting 30 s for nobody
        assert await redis.exists("wecom_kf:lease:{wkA}", "wecom_kf:wake:{wkA}") == 0
    finally:
        await store.aclose()
        await redis.aclose()


async def test_a_wake_note_left_on_a_lease_nobody_renews_is_pulled_when_it_expires(
    private_redis: PrivateRedis,
) -> None:
    """Worker P's take ran after P gave up (a lease nobody renews); a callback to worker Q
    only finds it taken: Q still pulls, once that lease expires, not at the next callback."""
    await private_redis.ready()
    sim, kfid = sim_with(3)
    p_redis = quick_client(private_redis.url)
    p_store = RedisCursorStore(p_redis, lease_ttl=2.0)
    q_redis = connect(private_redis.url)
    q_store = RedisCursorStore(q_redis, lease_ttl=2.0)
    try:
        await leave_a_ghost(private_redis, p_store, q_redis, kfid)
        async with client_for(sim) as kf, KfBot(kf, cursors=q_store) as q:
            handled = record_texts(q)
            q.wake(kfid, sim.callback_token(kfid))
            await handles(handled, 3)
    finally:
        await p_store.aclose()
        await q_store.aclose()
        await p_redis.aclose()
        await q_redis.aclose()
    assert handled == [item["msgid"] for item in sim.messages(kfid)]


async def test_a_release_check_redis_ran_after_the_client_gave_up_keeps_the_wake_up(
    private_redis: PrivateRedis, log_watch: Callable[[str], LogWatch]
) -> None:
    """``again()`` times out, then Redis runs it (note taken, lease kept): the holder is
    told to pull once more; the wake-up is not dropped with the lease."""
    await private_redis.ready()
    redis = quick_client(private_redis.url)
    holder = RedisCursorStore(redis, lease_ttl=30)
    waker = RedisCursorStore(private_redis.url, lease_ttl=30)
    retried = log_watch("trying again")
    try:
        await prime(holder)
        async with holder.consume("wkA") as lease:
            assert lease is not None
            async with waker.consume("wkA", "TOKEN") as refused:
                assert refused is None
            private_redis.freeze()
            again = asyncio.create_task(lease.again())
            done, _ = await asyncio.wait(
                [again, asyncio.create_task(retried.seen.wait())],
                timeout=10,
                return_when=asyncio.FIRST_COMPLETED,
            )
            assert done, "again() neither answered nor retried"
            private_redis.thaw()
            pull_again, _token = await again
            assert pull_again is True  # the wake-up is honoured
            assert await redis.exists("wecom_kf:lease:{wkA}") == 1  # still ours
    finally:
        await holder.aclose()
        await waker.aclose()
        await redis.aclose()


# -- defect 8: letting go of a lease hands a pending note on -------------------------------


@pytest.fixture
async def two_workers(
    shared_redis: aioredis.Redis, namespace: str
) -> AsyncIterator[tuple[RedisCursorStore, RedisCursorStore]]:
    """Two workers' stores (0.6 s leases) on the shared Redis."""
    a = RedisCursorStore(shared_redis, namespace=namespace, lease_ttl=0.6)
    b = RedisCursorStore(shared_redis, namespace=namespace, lease_ttl=0.6)
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


@contextlib.asynccontextmanager
async def noted_while_held(
    a: RedisCursorStore, b: RedisCursorStore
) -> AsyncIterator[RedisCursorLease]:
    """A holds wkA's lease; B finds it taken and leaves a note with ``TOKEN``."""
    async with a.consume("wkA") as lease:
        assert lease is not None
        async with b.consume("wkA", "TOKEN") as refused:
            assert refused is None
        yield lease


async def test_a_holder_that_lets_go_without_pulling_hands_the_wake_note_on(
    two_workers: tuple[RedisCursorStore, RedisCursorStore], shared_redis: aioredis.Redis
) -> None:
    """A stops (no ``again()``) while B's note is pending: B is woken to pull."""
    a, b = two_workers
    woken: asyncio.Queue[str] = asyncio.Queue()
    b.add_waker(woken.put_nowait)
    async with noted_while_held(a, b):
        pass  # A lets go without pulling again (it is shutting down)
    async with asyncio.timeout(10):
        assert await woken.get() == "wkA"
    async with b.consume("wkA") as taken:
        assert taken is not None  # the note is B's to honour now
    assert await shared_redis.exists(f"{b.namespace}:wake:{{wkA}}") == 0


async def test_a_note_the_holder_honours_wakes_nobody(
    two_workers: tuple[RedisCursorStore, RedisCursorStore],
) -> None:
    """The holder pulls once more for the note: the note's watcher goes away quietly."""
    a, b = two_workers
    woken: list[str] = []
    b.add_waker(woken.append)
    async with noted_while_held(a, b) as lease:
        assert await lease.again() == (True, "TOKEN")
        assert await lease.again() == (False, None)

    async def watcher_done() -> bool:
        return not b.watching  # the accounts whose note it watches

    await eventually(watcher_done, within=10.0)
    assert woken == []
