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


async def messaging(kf: KfClient, open_kfid: str) -> list[str]:
    from wecom_kf_async import (
        Click,
        EnterSessionEvent,
        FileCursorStore,
        KfMessage,
        Menu,
        MessageStream,
        SendOutcomeUnknownError,
        StreamStalledError,
        SyncPage,
        Text,
        TextMessage,
        View,
    )
    from wecom_kf_async.fleet import RedisCursorStore

    page: SyncPage = await kf.messages.sync(cursor=None, token=None, open_kfid=None, limit=1000)
    out = [m.msgid for m in page.messages]
    stream: MessageStream = kf.messages.stream(
        open_kfid, token="t", cursors=FileCursorStore("cursors.json")
    )
    async for message in stream:
        item: KfMessage = message
        match item:
            case TextMessage(text=text):
                out.append(text.content)
            case EnterSessionEvent(welcome_code=code) if code:
                out.append(await kf.messages.send_on_event(code, Text("Welcome")))
    saved: bool = await stream.ack()
    out.append(str(saved))
    fleet_stream = kf.messages.stream(open_kfid, cursors=RedisCursorStore("redis://r/0"))
    await fleet_stream.aclose()
    try:
        out.extend([m.msgid async for m in kf.messages.stream(open_kfid, max_stalled_pages=3)])
    except StreamStalledError as stalled:
        out.append(f"{stalled.open_kfid}: {stalled.pages}")
    try:
        menu = Menu(head="Pick one", items=[Click("1", "Price"), View("https://x", "Site")])
        out.append(await kf.messages.send("wmA", open_kfid, menu, msgid="m1"))
    except SendOutcomeUnknownError as exc:
        out.append(exc.msgid)
    return out
