"""Type-checked (never run) examples of the client's budgets, endpoints and errors."""

from __future__ import annotations

from wecom_kf_async import (
    ENDPOINTS,
    AdaptiveThrottle,
    Endpoint,
    KfClient,
    LocalRateLimiter,
    OutcomeUnknownError,
    RateLimiter,
    Safety,
)
from wecom_kf_async.fleet import RedisRateLimiter, connect


def budgets() -> list[float | None]:
    kf = KfClient(
        corp_id="ww",
        secret="s",
        rate_limit=100,
        rate_limits={"kf/sync_msg": 20, "kf/account/list": None},
        rate_limiter=LocalRateLimiter(500),
    )
    throttle: AdaptiveThrottle = kf.throttle_for("kf/sync_msg")
    limiters: tuple[RateLimiter, ...] = kf.limiters_for("kf/send_msg")
    rates = [kf.rate_for(path) for path in ENDPOINTS]
    rates.append(throttle.rate)
    rates.append(float(len(limiters)))
    rates.extend(kf.rate_limits.values())
    return rates


def fleet_budgets(redis_url: str) -> KfClient:
    redis = connect(redis_url)

    def per_path(path: str, rate: float) -> RateLimiter:
        return RedisRateLimiter(redis, rate, name=f"ww:{path}")

    return KfClient(corp_id="ww", secret="s", limiter_factory=per_path)


def endpoint_rows() -> list[str]:
    rows: list[Endpoint] = list(ENDPOINTS.values())
    return [row.path for row in rows if row.safety is Safety.UNSAFE and row.check]


async def outcome_unknown(kf: KfClient) -> str:
    try:
        await kf.request("POST", "kf/account/add", json={"name": "x", "media_id": "m"})
    except OutcomeUnknownError as exc:
        return exc.check + (exc.path or "") + exc.reason
    return ""
