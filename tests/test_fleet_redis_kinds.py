"""Fleet classes on every kind of Redis client: URLs, clients passed in, slots, failover errors."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import MasterNotFoundError, Sentinel
from redis.crc import key_slot
from redis.exceptions import (
    BusyLoadingError,
    ClusterDownError,
    MasterDownError,
    ReadOnlyError,
    SlotNotCoveredError,
    TryAgainError,
)

from wecom_kf_async import KfClient, token_key
from wecom_kf_async.fleet import (
    RedisCallbackTokens,
    RedisCursorStore,
    RedisRateLimiter,
    RedisTokenStore,
    _redis,
    connect,
)
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator

from .conftest import deployment_url

KINDS = ["single", "cluster", "sentinel", "valkey"]


async def _client_of(kind: str, url: str) -> tuple[_redis.Redis, list[aioredis.Redis]]:
    """A client built by hand, the way a user who owns it would, and what else to close."""
    if kind == "cluster":
        host, port = url.split("://", 1)[1].split(",")[0].split(":")
        return RedisCluster(host=host, port=int(port)), []
    if kind == "sentinel":
        hosts, service = url.split("://", 1)[1].split("/", 1)
        pairs = [(h.split(":")[0], int(h.split(":")[1])) for h in hosts.split(",")]
        sentinel = Sentinel(pairs)  # type: ignore[no-untyped-call]
        return sentinel.master_for(service), sentinel.sentinels
    return aioredis.Redis.from_url(url), []


@pytest.fixture(params=KINDS)
async def kind_url(request: pytest.FixtureRequest) -> tuple[str, str]:
    kind: str = request.param
    return kind, await deployment_url(kind)


@pytest.fixture
async def own_client(kind_url: tuple[str, str]) -> AsyncIterator[_redis.Redis]:
    client, others = await _client_of(*kind_url)
    try:
        yield client
    finally:
        await client.aclose()
        for other in others:
            await other.aclose()


async def test_for_fleet_takes_a_client_of_every_kind_and_never_closes_it(
    own_client: _redis.Redis, sim: WeComSimulator
) -> None:
    kf = KfClient.for_fleet(
        own_client,
        corp_id=sim.corp_id,
        secret=SIM_SECRET,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
        namespace=f"t-{uuid.uuid4().hex[:8]}",
    )
    async with kf:
        result = await kf.customers.batch_get(["wmA", "wmB"])
        assert "wmA" in result
        assert kf.tokens.store.redis is own_client  # type: ignore[attr-defined]
    # Still the caller's, and still open.
    assert await own_client.ping()


@pytest.mark.parametrize(
    "make",
    [
        lambda r: RedisTokenStore(r, namespace="t"),
        lambda r: RedisRateLimiter(r, 10, namespace="t"),
        lambda r: RedisCursorStore(r, namespace="t"),
        lambda r: RedisCallbackTokens(r, namespace="t"),
    ],
    ids=["tokens", "limiter", "cursors", "callback-tokens"],
)
async def test_each_fleet_class_takes_a_client_of_every_kind_and_never_closes_it(
    own_client: _redis.Redis, make: object
) -> None:
    part = make(own_client)  # type: ignore[operator]
    assert part._redis is own_client
    await part.aclose()
    assert await own_client.ping()


async def test_a_url_of_every_kind_makes_the_right_client_with_the_fleet_timeouts(
    kind_url: tuple[str, str],
) -> None:
    kind, url = kind_url
    client = connect(url)
    try:
        await _redis.ready(client)
        assert await client.ping()
        if kind == "cluster":
            assert isinstance(client, RedisCluster)
            for node in client.get_nodes():
                kwargs = node.connection_kwargs
                assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (1.0, 2.0)
        else:
            assert isinstance(client, aioredis.Redis)
            kwargs = client.connection_pool.connection_kwargs
            assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (1.0, 2.0)
        if kind == "sentinel":
            pool = client.connection_pool
            for sentinel in pool.sentinel_manager.sentinels:  # type: ignore[attr-defined]
                kwargs = sentinel.connection_pool.connection_kwargs
                assert (kwargs["socket_connect_timeout"], kwargs["socket_timeout"]) == (1.0, 2.0)
    finally:
        await _redis.close(client)


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("redis://:hunter2@127.0.0.1:6379/15", "127.0.0.1:6379/15"),
        (
            "redis+cluster://user:hunter2@127.0.0.1:7000,127.0.0.1:7001",
            "cluster 127.0.0.1:7000,127.0.0.1:7001",
        ),
        (
            "redis+sentinel://:hunter2@127.0.0.1:26480,[::1]:26481/kfprimary/2",
            "sentinel service kfprimary/2 via 127.0.0.1:26480,::1:26481",
        ),
    ],
)
async def test_the_warning_names_the_right_address_and_no_password(url: str, where: str) -> None:
    store = RedisTokenStore(url)
    try:
        assert f"redis at {where}" in repr(store)
        assert "hunter2" not in repr(store)
    finally:
        await store.aclose()


@pytest.mark.parametrize(
    "url",
    [
        "http://:hunter2@host",
        "redis+sentinel://:hunter2@127.0.0.1:26480",  # no service name
        "redis+sentinel://:hunter2@127.0.0.1:26480/kfprimary/x",
        "redis+cluster://:hunter2@127.0.0.1:port",
    ],
)
def test_a_bad_url_is_refused_without_echoing_its_password(url: str) -> None:
    with pytest.raises(ValueError, match="URL") as caught:
        connect(url)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("namespace", ["a{b", "tenant}", "{x}"])
def test_a_namespace_with_braces_is_refused(namespace: str) -> None:
    for make in (
        lambda: RedisTokenStore("redis://127.0.0.1:6379/15", namespace=namespace),
        lambda: RedisRateLimiter("redis://127.0.0.1:6379/15", 10, namespace=namespace),
        lambda: RedisCursorStore("redis://127.0.0.1:6379/15", namespace=namespace),
        lambda: RedisCallbackTokens("redis://127.0.0.1:6379/15", namespace=namespace),
        lambda: KfClient.for_fleet(
            "redis://127.0.0.1:6379/15", corp_id="ww", secret="s", namespace=namespace
        ),
    ):
        with pytest.raises(ValueError, match="namespace must not contain"):
            make()


def test_every_script_touches_one_slot_and_entities_spread() -> None:
    store = RedisTokenStore("redis://127.0.0.1:6379/15")
    cursors = RedisCursorStore("redis://127.0.0.1:6379/15")
    slots = set()
    for n in range(50):
        key = token_key(f"ww{n}", "secret")
        assert key_slot(store.token_key(key).encode()) == key_slot(store.lock_key(key).encode())
        limiter = RedisRateLimiter(store.redis, 10, name=f"ww:kf/path{n}")
        assert key_slot(limiter.key.encode()) == key_slot(limiter.returned_key.encode())
        keys = cursors._keys(f"wk{n}")
        assert len({key_slot(k.encode()) for k in (keys.lease, keys.wake, keys.cursor)}) == 1
        slots |= {key_slot(store.token_key(key).encode()), key_slot(limiter.key.encode())}
        slots.add(key_slot(keys.lease.encode()))
    assert len(slots) > 100  # 150 entities, spread over the slots


async def test_a_cold_cluster_client_serves_200_concurrent_first_calls() -> None:
    url = await deployment_url("cluster")
    client = connect(url)  # never used yet: it knows no slots
    limiter = RedisRateLimiter(client, 1000, name="cold", namespace="t-cold", headroom=1)
    store = RedisTokenStore(client, namespace="t-cold")
    cursors = RedisCursorStore(client, namespace="t-cold")
    try:
        results = await asyncio.gather(
            *(limiter.acquire() for _ in range(100)),
            *(store.get(token_key(f"ww{n}", "s")) for n in range(50)),
            *(cursors.get(f"wk{n}") for n in range(50)),
            return_exceptions=True,
        )
        assert [r for r in results if isinstance(r, BaseException)] == []
        assert limiter._link.up
    finally:
        await _redis.close(client)


async def test_the_untagged_cursor_of_an_older_release_is_read_until_a_new_one_is_saved(
    redis_url: str,
) -> None:
    store = RedisCursorStore(redis_url, namespace="t-upgrade")
    try:
        await store._redis.set("t-upgrade:cursor:wkA", "old-cursor")  # as the last release saved
        assert await store.get("wkA") == "old-cursor"
        async with store.consume("wkA") as lease:
            assert lease is not None
            assert await lease.get() == "old-cursor"
            await lease.set("new-cursor")
        assert await store.get("wkA") == "new-cursor"
        assert await store._redis.get("t-upgrade:cursor:{wkA}") == b"new-cursor"
    finally:
        await store.aclose()


def test_failover_answers_count_as_unreachable() -> None:
    for error in (
        ClusterDownError,
        MasterDownError,
        TryAgainError,
        SlotNotCoveredError,
        ReadOnlyError,
        BusyLoadingError,
        MasterNotFoundError,
    ):
        assert issubclass(error, _redis.UNREACHABLE), error


async def test_a_write_to_a_replica_falls_back_with_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """READONLY (a primary just demoted answers so) is an outage, not a bug."""
    url = await deployment_url("sentinel")
    primary = connect(url)
    pool = primary.connection_pool
    (host, port), *_ = await pool.sentinel_manager.discover_slaves(pool.service_name)  # type: ignore[attr-defined]
    await _redis.close(primary)
    replica = aioredis.Redis(host=host, port=port)
    limiter = RedisRateLimiter(replica, 50, namespace="t-readonly", name="ro")
    caplog.set_level(logging.WARNING, logger="wecom_kf_async")
    try:
        for _ in range(3):
            await limiter.acquire()
    finally:
        await replica.aclose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "ReadOnlyError" in warnings[0]
    assert f"{host}:{port}" in warnings[0]


@pytest.mark.parametrize("kind", ["cluster", "sentinel"])
async def test_wait_replicas_holds_each_take_and_save_until_a_replica_has_it(kind: str) -> None:
    url = await deployment_url(kind)
    store = RedisCursorStore(url, namespace="t-wait", wait_replicas=1, wait_timeout=1.0)
    try:
        async with store.consume("wkW") as lease:
            assert lease is not None
            for n in range(5):
                await lease.set(f"cursor-{n}")
        assert await store.get("wkW") == "cursor-4"
        assert store.unacknowledged == 0
    finally:
        await store.aclose()


async def test_wait_replicas_counts_and_logs_a_write_no_replica_had(
    redis_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisCursorStore(redis_url, namespace="t-wait", wait_replicas=1, wait_timeout=0.01)
    caplog.set_level(logging.WARNING, logger="wecom_kf_async")
    try:
        async with store.consume("wkW") as lease:
            assert lease is not None
            await lease.set("cursor")
        assert await store.get("wkW") == "cursor"  # written all the same
        assert store.unacknowledged == 2  # the take and the save
        assert any("0 of 1 replicas" in r.getMessage() for r in caplog.records)
    finally:
        await store.aclose()


@pytest.mark.parametrize("bad", [-1, True, 1.5])
def test_wait_replicas_is_checked(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="wait_replicas"):
        RedisCursorStore("redis://127.0.0.1:6379/15", wait_replicas=bad)  # type: ignore[arg-type]
