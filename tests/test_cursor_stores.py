"""Cursor stores: in memory, in an atomically replaced file, and on Redis with a lease."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from wecom_kf_async import (
    CursorStore,
    ExclusiveCursorStore,
    FileCursorStore,
    InMemoryCursorStore,
    LeaseLostError,
)
from wecom_kf_async.fleet import RedisCursorStore

from .conftest import connect_redis


async def test_in_memory_store_round_trips_per_account() -> None:
    """Each account keeps its own cursor; an unknown one has none."""
    store = InMemoryCursorStore()
    assert isinstance(store, CursorStore)
    assert not isinstance(store, ExclusiveCursorStore)
    await store.set("wkA", "c1")
    await store.set("wkB", "c2")
    await store.set("wkA", "c3")
    assert (await store.get("wkA"), await store.get("wkB"), await store.get("wkC")) == (
        "c3",
        "c2",
        None,
    )


async def test_file_store_survives_a_new_process_and_leaves_valid_json(tmp_path: Path) -> None:
    """Cursors written by one store are read by a fresh one; the file is one JSON object."""
    path = tmp_path / "cursors.json"
    first = FileCursorStore(path)
    assert await first.get("wkA") is None
    await asyncio.gather(*(first.set(f"wk{n}", f"cursor-{n}") for n in range(50)))
    await first.set("wk3", "newer")
    again = FileCursorStore(path)
    assert await again.get("wk3") == "newer"
    assert await again.get("wk49") == "cursor-49"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert len(data) == 50
    assert os.listdir(tmp_path) == ["cursors.json"]  # no temp file left


@pytest.mark.parametrize("content", ["not json", "[1, 2]", '{"wkA": 5}'])
async def test_a_file_that_is_not_a_cursor_file_is_refused_not_overwritten(
    tmp_path: Path, content: str
) -> None:
    """Reading a foreign or damaged file raises instead of silently starting from nothing."""
    path = tmp_path / "cursors.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError):  # noqa: PT011 - json's own error or ours, both ValueError
        await FileCursorStore(path).get("wkA")
    assert path.read_text(encoding="utf-8") == content


@pytest.fixture
async def redis(redis_url: str) -> aioredis.Redis:
    """A client of the test Redis (its database emptied by ``redis_url``)."""
    client = connect_redis(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def namespace() -> str:
    """A key prefix of this test's own."""
    return f"t-{uuid.uuid4().hex[:8]}"


async def test_one_consumer_at_a_time_and_a_wake_up_is_never_lost(
    redis: aioredis.Redis, namespace: str
) -> None:
    """The second consumer gets None and leaves a note; the holder then pulls once more."""
    a = RedisCursorStore(redis, namespace=namespace)
    b = RedisCursorStore(redis, namespace=namespace)
    assert isinstance(a, ExclusiveCursorStore)
    async with a.consume("wkA") as lease:
        assert lease is not None
        await lease.set("c1")
        async with b.consume("wkA", "TOKEN-2") as refused:
            assert refused is None
        assert await lease.again() == (True, "TOKEN-2")  # kept: pull once more
        assert await lease.again() == (False, None)  # nobody else: released
    async with b.consume("wkA") as next_holder:
        assert next_holder is not None
        assert await next_holder.get() == "c1"
    assert await b.get("wkA") == "c1"


async def test_a_note_without_token_does_not_erase_one_with_a_token(
    redis: aioredis.Redis, namespace: str
) -> None:
    """Two wake-ups during one pull: the token of the first survives the second's note."""
    store = RedisCursorStore(redis, namespace=namespace)
    async with store.consume("wkA") as lease:
        assert lease is not None
        async with store.consume("wkA", "TOKEN") as refused:
            assert refused is None
        async with store.consume("wkA") as refused:
            assert refused is None
        assert await lease.again() == (True, "TOKEN")


async def test_a_consumer_that_lost_its_lease_cannot_move_the_cursor(
    redis: aioredis.Redis, namespace: str
) -> None:
    """After the lease expired and another took it, the old holder's save is refused."""
    old = RedisCursorStore(redis, namespace=namespace)
    new = RedisCursorStore(redis, namespace=namespace)
    async with old.consume("wkA") as lease:
        assert lease is not None
        await redis.delete(f"{namespace}:lease:{{wkA}}")  # as if it expired during a pause
        async with new.consume("wkA") as successor:
            assert successor is not None
            await successor.set("from-successor")
            with pytest.raises(LeaseLostError):
                await lease.set("from-the-past")
            with pytest.raises(LeaseLostError):
                await lease.again()
    assert await new.get("wkA") == "from-successor"


async def test_a_live_consumer_keeps_its_lease_past_the_ttl(
    redis: aioredis.Redis, namespace: str
) -> None:
    """The renewal task keeps a 0.3 s lease alive through a 1 s pull."""
    store = RedisCursorStore(redis, namespace=namespace, lease_ttl=0.3)
    other = RedisCursorStore(redis, namespace=namespace, lease_ttl=0.3)
    async with store.consume("wkA") as lease:
        assert lease is not None
        for _ in range(5):
            await asyncio.sleep(0.2)  # real time: the lease lives in Redis' time
            async with other.consume("wkA") as refused:
                assert refused is None
        await lease.set("still-mine")
    assert await redis.exists(f"{namespace}:lease:{{wkA}}") == 0  # released on exit
