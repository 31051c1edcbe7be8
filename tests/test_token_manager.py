"""Tests for TokenManager, InMemoryTokenStore, token_key and AccessToken with fake time."""

from __future__ import annotations

import asyncio
import random

import pytest

from wecom_kf_async import (
    AccessToken,
    ConfigurationError,
    InMemoryTokenStore,
    TokenManager,
    TokenStore,
    token_key,
)
from wecom_kf_async._token import REFRESH_FAILURE_MEMORY

from .conftest import FakeClock

CORP_ID = "ww0123456789abcdef"
SECRET = "s3cr3t-Value_ABCDEFGHIJKLMNOPQRSTUVWXYZ012"
KEY = token_key(CORP_ID, SECRET)
SKEW = 300.0
JITTER = 60.0


class FakeFetch:
    """A gettoken stand-in: counts calls, can be held at a gate, returns or raises."""

    def __init__(self, *, expires_in: float = 7200.0, gated: bool = False) -> None:
        self.calls = 0
        self.expires_in = expires_in
        self.gate = asyncio.Event()
        if not gated:
            self.gate.set()
        self.error: Exception | None = None
        self.same_value: str | None = None

    async def __call__(self) -> tuple[str, float]:
        self.calls += 1
        await self.gate.wait()
        if self.error is not None:
            raise self.error
        return (self.same_value or f"token-{self.calls}", self.expires_in)


def _manager(
    fetch: FakeFetch,
    clock: FakeClock,
    store: InMemoryTokenStore | None = None,
    seed: int = 0,
) -> TokenManager:
    return TokenManager(
        key=KEY,
        fetch=fetch,
        store=store or InMemoryTokenStore(),
        clock=clock,
        monotonic=clock,
        skew=SKEW,
        jitter=JITTER,
        rng=random.Random(seed),
    )


async def _settle(rounds: int = 5) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_thousand_concurrent_callers_share_one_fetch() -> None:
    """1,000 callers arriving with an empty cache cause exactly one gettoken call."""
    clock = FakeClock()
    fetch = FakeFetch(gated=True)
    manager = _manager(fetch, clock)
    tasks = [asyncio.create_task(manager.get()) for _ in range(1000)]
    await _settle()
    assert fetch.calls == 1
    assert not any(t.done() for t in tasks)
    fetch.gate.set()
    tokens = await asyncio.gather(*tasks)
    assert fetch.calls == 1
    assert manager.refresh_count == 1
    assert {t.value for t in tokens} == {"token-1"}


async def test_cached_token_is_reused_while_fresh() -> None:
    """Once fetched, the token is served from the cache until its refresh time."""
    clock = FakeClock()
    fetch = FakeFetch()
    manager = _manager(fetch, clock)
    first = await manager.get()
    for step in (1.0, 60.0, 3600.0):
        clock.now += step
        assert clock.now < first.refresh_at
        assert (await manager.get()).value == first.value
    assert fetch.calls == 1


@pytest.mark.parametrize("seed", range(40))
async def test_refresh_at_lies_within_skew_and_jitter(seed: int) -> None:
    """refresh_at is between ``expires_at - skew - jitter`` and ``expires_at - skew``."""
    clock = FakeClock()
    fetch = FakeFetch(expires_in=7200.0)
    token = await _manager(fetch, clock, seed=seed).get()
    assert token.expires_at == clock.now + 7200.0
    assert token.expires_at - SKEW - JITTER <= token.refresh_at <= token.expires_at - SKEW


async def test_refresh_jitter_differs_between_managers() -> None:
    """Different random draws give different refresh times, so a fleet does not refresh in step."""
    clock = FakeClock()
    refresh_times = {
        (await _manager(FakeFetch(), clock, seed=s).get()).refresh_at for s in range(10)
    }
    assert len(refresh_times) > 1


async def test_refresh_happens_at_refresh_at_before_expiry() -> None:
    """Just before refresh_at the cached token is served; at refresh_at a new one is fetched."""
    clock = FakeClock()
    fetch = FakeFetch()
    manager = _manager(fetch, clock)
    first = await manager.get()
    clock.now = first.refresh_at - 0.01
    assert (await manager.get()).value == first.value
    assert fetch.calls == 1
    clock.now = first.refresh_at
    second = await manager.get()
    assert fetch.calls == 2
    assert second.value != first.value
    assert clock.now < first.expires_at
    assert second.refresh_at > clock.now


async def test_short_expires_in_does_not_loop() -> None:
    """When gettoken hands back the same token with little time left, refresh_at stays ahead."""
    clock = FakeClock()
    fetch = FakeFetch(expires_in=100.0)  # far less than skew + jitter
    fetch.same_value = "same-token"
    manager = _manager(fetch, clock)
    token = await manager.get()
    assert clock.now < token.refresh_at <= token.expires_at
    for _ in range(10):
        assert (await manager.get()).value == "same-token"
    assert fetch.calls == 1
    # at the next refresh WeCom again returns the same token, now with less time left
    clock.now = token.refresh_at
    fetch.expires_in = token.expires_at - clock.now
    again = await manager.get()
    assert fetch.calls == 2
    assert clock.now < again.refresh_at
    for _ in range(10):
        await manager.get()
    assert fetch.calls == 2


async def test_failed_fetch_reaches_all_waiters_and_is_remembered() -> None:
    """A refused gettoken raises to every waiter, once; callers within the memory get it too."""
    clock = FakeClock()
    fetch = FakeFetch(gated=True)
    error = ConfigurationError(40001, "invalid credential, hint: [1_2_3]", path="gettoken")
    fetch.error = error
    manager = _manager(fetch, clock)
    tasks = [asyncio.create_task(manager.get()) for _ in range(50)]
    await _settle()
    fetch.gate.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, ConfigurationError) and r.errcode == 40001 for r in results)
    assert fetch.calls == 1

    # right after, with the clock unchanged: same error, no new gettoken
    with pytest.raises(ConfigurationError):
        await manager.get()
    clock.now += REFRESH_FAILURE_MEMORY / 2
    with pytest.raises(ConfigurationError):
        await manager.get()
    assert fetch.calls == 1

    # once the failure is forgotten, the next caller fetches again
    clock.now += REFRESH_FAILURE_MEMORY
    fetch.error = None
    token = await manager.get()
    assert fetch.calls == 2
    assert token.value == "token-2"


async def test_cancelled_waiter_does_not_cancel_shared_refresh() -> None:
    """Cancelling one caller waiting on a refresh leaves the refresh running for the others."""
    clock = FakeClock()
    fetch = FakeFetch(gated=True)
    manager = _manager(fetch, clock)
    tasks = [asyncio.create_task(manager.get()) for _ in range(5)]
    await _settle()
    tasks[0].cancel()
    await _settle()
    assert tasks[0].cancelled()
    fetch.gate.set()
    tokens = await asyncio.gather(*tasks[1:])
    assert {t.value for t in tokens} == {"token-1"}
    assert fetch.calls == 1
    with pytest.raises(asyncio.CancelledError):
        await tasks[0]


async def test_invalidate_is_compare_and_delete() -> None:
    """``invalidate(token)`` drops the cached token only if the store still holds that token."""
    clock = FakeClock()
    store = InMemoryTokenStore()
    fetch = FakeFetch()
    manager = _manager(fetch, clock, store=store)
    stale = await manager.get()

    # another worker sharing the store already replaced the token
    newer = AccessToken(
        value="from-other-worker",
        expires_at=stale.expires_at + 10,
        refresh_at=stale.refresh_at + 10,
    )
    await store.set(KEY, newer)
    await manager.invalidate(stale)
    assert await store.get(KEY) == newer
    assert (await manager.get()).value == "from-other-worker"
    assert fetch.calls == 1

    # the token WeCom refused is the cached one: it is dropped and the next get refetches
    await manager.invalidate(newer)
    assert await store.get(KEY) is None
    assert (await manager.get()).value == "token-2"
    assert fetch.calls == 2


async def test_store_invalidate_reports_whether_it_dropped() -> None:
    """InMemoryTokenStore.invalidate returns True only when the value matched and was dropped."""
    store = InMemoryTokenStore()
    token = AccessToken(value="a", expires_at=100.0, refresh_at=50.0)
    assert await store.invalidate(KEY, "a") is False
    await store.set(KEY, token)
    assert await store.invalidate(KEY, "b") is False
    assert await store.get(KEY) == token
    assert await store.invalidate(KEY, "a") is True
    assert await store.get(KEY) is None


async def test_store_set_never_replaces_a_later_expiring_token() -> None:
    """InMemoryTokenStore.set keeps the cached token when the new one expires earlier."""
    store = InMemoryTokenStore()
    late = AccessToken(value="late", expires_at=2000.0, refresh_at=1700.0)
    early = AccessToken(value="early", expires_at=1000.0, refresh_at=700.0)
    await store.set(KEY, late)
    await store.set(KEY, early)
    assert await store.get(KEY) == late
    later = AccessToken(value="later", expires_at=3000.0, refresh_at=2700.0)
    await store.set(KEY, later)
    assert await store.get(KEY) == later
    other_key = token_key(CORP_ID, "another-secret")
    await store.set(other_key, early)
    assert await store.get(other_key) == early
    assert await store.get(KEY) == later


def test_in_memory_store_satisfies_the_protocol() -> None:
    """InMemoryTokenStore satisfies the runtime-checkable TokenStore protocol."""
    store = InMemoryTokenStore()
    assert isinstance(store, TokenStore)


def test_token_key_hides_the_secret_and_depends_on_it() -> None:
    """token_key never contains the secret, is stable, and differs per secret and per corp."""
    key = token_key(CORP_ID, SECRET)
    assert SECRET not in key
    assert SECRET[:12] not in key
    assert key == token_key(CORP_ID, SECRET)
    assert key != token_key(CORP_ID, SECRET + "x")
    assert key != token_key(CORP_ID, "other")
    assert key != token_key("ww-other-corp", SECRET)


def test_access_token_repr_hides_the_value() -> None:
    """Neither repr nor str of an AccessToken (alone or in a container) shows its value."""
    value = "TOKEN-VALUE-0123456789abcdefghijklmnopqrstuvwxyz"
    token = AccessToken(value=value, expires_at=1.0, refresh_at=0.5)
    assert value not in repr(token)
    assert value not in str(token)
    assert value not in repr([token])
    assert value not in repr({"t": token})


async def test_store_repr_hides_the_value() -> None:
    """The in-memory store's repr never shows a cached token value."""
    store = InMemoryTokenStore()
    await store.set(KEY, AccessToken(value="TOKEN-VALUE-XYZ", expires_at=1.0, refresh_at=0.5))
    assert "TOKEN-VALUE-XYZ" not in repr(store)
    assert SECRET not in repr(store)
