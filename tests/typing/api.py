"""Type-checked (never run) examples of how users call the public API (mypy --strict)."""

from __future__ import annotations

import contextlib

import httpx

from wecom_kf_async import (
    BatchGetResult,
    Customer,
    KfClient,
    KfError,
    RateLimiter,
    RetryPolicy,
    SharedTokenStore,
    WeComError,
)
from wecom_kf_async.fleet import RedisRateLimiter, RedisTokenStore, connect
from wecom_kf_async.testing import WeComSimulator, simulated_client


async def fetch(ids: list[str]) -> list[str]:
    async with KfClient(
        corp_id="ww123",
        secret="s",
        max_concurrency=10,
        rate_limit=50.0,
        timeout=httpx.Timeout(5.0),
        retry=RetryPolicy(attempts=3, deadline=30.0),
    ) as kf:
        result: BatchGetResult = await kf.customers.batch_get(ids, need_enter_session_context=True)
        first: Customer | None = result.get(ids[0])
        names = [c.nickname for c in result.customers]
        if first is not None and first.enter_session_context is not None:
            names.append(first.enter_session_context.scene or "")
        for external_userid, exc in result.failed.items():
            names.append(f"{external_userid}: {exc}")
        try:
            result.raise_for_failures()
        except KfError as err:
            names.append(str(err))
        pages = kf.customers.iter_batch_get(ids, window=4)
        async with contextlib.aclosing(pages):
            async for page in pages:
                names.extend(page.invalid_external_userids)
        raw = await kf.request("POST", "kf/customer/batchget", json={"external_userid_list": ids})
        errcode: object = raw.get("errcode")
        names.append(repr(errcode))
        return names


async def with_own_http_client(http: httpx.AsyncClient) -> int | None:
    async with KfClient(corp_id="ww", secret="s", http_client=http, rate_limit=None) as kf:
        try:
            await kf.customers.batch_get(["wmA"])
        except WeComError as err:
            return err.errcode
    return None


async def against_simulator() -> int:
    sim = WeComSimulator()
    sim.shuffle = True
    async with simulated_client(sim, max_concurrency=4) as kf:
        result = await kf.customers.batch_get(["wmA", "nobody"])
    return len(result) + sim.stats.calls["gettoken"]


async def in_a_fleet(redis_url: str) -> int:
    async with KfClient.for_fleet(redis_url, corp_id="ww", secret="s", rate_limit=40) as kf:
        result = await kf.customers.batch_get(["wmA"])
    store: SharedTokenStore = RedisTokenStore(redis_url, lock_ttl=2.0)
    limiter: RateLimiter = RedisRateLimiter(connect(redis_url), 40, name="ww", fallback_rate=10)
    async with KfClient(
        corp_id="ww", secret="s", rate_limit=5, token_store=store, rate_limiter=limiter
    ) as manual:
        await manual.request("GET", "kf/account/list")
    return len(result)
