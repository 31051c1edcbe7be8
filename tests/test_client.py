"""KfClient: lifecycle, tokens, transport errors and retries, against the simulator."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from wecom_kf_async import (
    AccessTokenError,
    ConfigurationError,
    InvalidResponseError,
    KfClient,
    RequestTimeoutError,
    RetryPolicy,
    ServerBusyError,
    TransportError,
    UpstreamHTTPError,
)
from wecom_kf_async.testing import (
    CUSTOMER_BATCHGET,
    GETTOKEN,
    SIM_SECRET,
    WeComSimulator,
    serve,
)

from .conftest import FakeClock, FakeSleep, client_for, until

BODY = {"external_userid_list": ["wmA"], "need_enter_session_context": 0}


async def call(kf: KfClient) -> dict[str, object]:
    """One raw batchget call."""
    return await kf.request("POST", CUSTOMER_BATCHGET, json=BODY)


async def test_entering_twice_is_refused(sim: WeComSimulator) -> None:
    """A client is entered once; a second entry raises."""
    client = client_for(sim)
    async with client:
        with pytest.raises(RuntimeError, match="twice"):
            await client.__aenter__()


async def test_use_before_enter_and_after_close(sim: WeComSimulator) -> None:
    """Calls before entering or after closing raise a clear RuntimeError, sending nothing."""
    client = client_for(sim)
    with pytest.raises(RuntimeError, match="async with"):
        await call(client)
    async with client:
        await call(client)
    with pytest.raises(RuntimeError, match="closed"):
        await call(client)
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 1


async def test_callers_http_client_is_not_closed(sim: WeComSimulator) -> None:
    """An http_client passed in is used and left open."""
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim)) as http:
        kf = KfClient(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url="http://wecom.sim",
            http_client=http,
            rate_limit=None,
        )
        async with kf:
            await call(kf)
        assert not http.is_closed
        response = await http.get("http://wecom.sim/__sim__/stats")
        assert response.status_code == 200


def test_constructor_validates() -> None:
    """Bad constructor arguments raise, naming the argument."""
    with pytest.raises(ValueError, match="corp_id"):
        KfClient(corp_id="", secret="s")
    with pytest.raises(ValueError, match="secret"):
        KfClient(corp_id="ww", secret="")
    with pytest.raises(ValueError, match="max_concurrency"):
        KfClient(corp_id="ww", secret="s", max_concurrency=0)
    with pytest.raises(ValueError, match="rate_limit"):
        KfClient(corp_id="ww", secret="s", rate_limit=-1)
    with pytest.raises(ValueError, match="base_url"):
        KfClient(corp_id="ww", secret="s", base_url="qyapi.weixin.qq.com")
    with pytest.raises(ValueError, match="not both"):
        KfClient(
            corp_id="ww",
            secret="s",
            http_client=httpx.AsyncClient(),
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
        )


async def test_thousand_concurrent_callers_one_gettoken(sim: WeComSimulator) -> None:
    """1,000 concurrent calls on a cold client cause exactly one gettoken."""
    async with client_for(sim, max_concurrency=50) as kf:
        gate = asyncio.Event()
        sim.hold = gate
        tasks = [asyncio.create_task(call(kf)) for _ in range(1000)]
        await until(lambda: sim.stats.in_flight == 1)
        for _ in range(50):
            await asyncio.sleep(0)
        assert sim.stats.calls[GETTOKEN] == 1
        assert sim.stats.calls[CUSTOMER_BATCHGET] == 0
        gate.set()
        await asyncio.gather(*tasks)
    assert sim.stats.calls[GETTOKEN] == 1
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 1000
    assert kf.tokens.refresh_count == 1


async def test_same_token_reused_until_refresh_time(clock: FakeClock) -> None:
    """The cached token serves calls until its refresh time, then one gettoken renews it."""
    sim = WeComSimulator(clock=clock, token_ttl=7200)
    async with client_for(sim, clock=clock) as kf:
        await call(kf)
        first = await kf.tokens.get()
        assert first.refresh_at < first.expires_at
        clock.now = first.refresh_at - 1
        await call(kf)
        assert sim.stats.calls[GETTOKEN] == 1
        clock.now = first.expires_at + 1  # the simulator now issues a new token
        await call(kf)
        assert sim.stats.calls[GETTOKEN] == 2
        assert (await kf.tokens.get()).value != first.value
    assert sim.stats.errors[42001] == 0  # refreshed before WeCom refused anything


async def test_token_refused_twice_fails_without_loop(sim: WeComSimulator, kf: KfClient) -> None:
    """A token refused again after the one refresh raises AccessTokenError: no unbounded retry."""
    sim.script(CUSTOMER_BATCHGET, [40014, 40014, 0])
    with pytest.raises(AccessTokenError) as raised:
        await call(kf)
    assert raised.value.errcode == 40014
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 2
    assert sim.stats.calls[GETTOKEN] == 2
    assert raised.value.__cause__ is None
    assert raised.value.__context__ is None


async def test_missing_token_41001_refreshes_once(sim: WeComSimulator, kf: KfClient) -> None:
    """41001 counts as a token problem: refresh once and retry."""
    sim.script(CUSTOMER_BATCHGET, [41001])
    data = await call(kf)
    assert data["errcode"] == 0
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 2


async def test_wrong_corp_id_fails_fast(sim: WeComSimulator) -> None:
    """A wrong corp id (40013) raises at once with one gettoken."""
    kf = KfClient(
        corp_id="wwnotmine",
        secret=SIM_SECRET,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
        rate_limit=None,
    )
    async with kf:
        with pytest.raises(ConfigurationError) as raised:
            await call(kf)
        # A second call right after reuses the remembered failure: no hammering.
        with pytest.raises(ConfigurationError):
            await call(kf)
    assert raised.value.errcode == 40013
    assert raised.value.path == GETTOKEN
    assert raised.value.hint is not None
    assert sim.stats.calls[GETTOKEN] == 1


@pytest.mark.parametrize(
    ("fault", "exc"),
    [
        (-1, ServerBusyError),
        ("http502", UpstreamHTTPError),
        ("truncated", InvalidResponseError),
    ],
)
async def test_transient_faults_retried_then_given_up(
    sim: WeComSimulator, fault: int | str, exc: type[Exception]
) -> None:
    """Transient faults are retried up to the attempt limit, then raise their own type."""
    async with client_for(sim, retry=RetryPolicy(attempts=3)) as kf:
        await kf.tokens.get()
        sim.script(CUSTOMER_BATCHGET, [fault] * 3)
        with pytest.raises(exc):
            await call(kf)
        assert sim.stats.calls[CUSTOMER_BATCHGET] == 3
        sim.script(CUSTOMER_BATCHGET, [fault, fault])
        assert (await call(kf))["errcode"] == 0
        assert sim.stats.calls[CUSTOMER_BATCHGET] == 6


async def test_http_404_is_not_retried(sim: WeComSimulator, kf: KfClient) -> None:
    """A 4xx status (a wrong base URL, say) fails at once instead of being retried."""
    await kf.tokens.get()
    sim.script(CUSTOMER_BATCHGET, ["http404"])
    with pytest.raises(UpstreamHTTPError) as raised:
        await call(kf)
    assert raised.value.status_code == 404
    assert not raised.value.retryable
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 1


async def test_unknown_errcode_fails_fast(sim: WeComSimulator, kf: KfClient) -> None:
    """An errcode the table does not know is not retried and keeps its code."""
    sim.script(CUSTOMER_BATCHGET, [99999])
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the type is what we check
        await call(kf)
    assert type(raised.value).__name__ == "WeComError"
    assert getattr(raised.value, "errcode", None) == 99999
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 1


async def test_connect_error_is_transport_error_without_chain() -> None:
    """A refused connection is a TransportError, retried, with no chained httpx exception."""
    with socket.socket() as sock:  # a loopback port that nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    kf = KfClient(
        corp_id="ww",
        secret="s3cret-value",
        base_url=f"http://127.0.0.1:{port}",
        rate_limit=None,
        retry=RetryPolicy(attempts=2),
    )
    async with kf:
        with pytest.raises(TransportError) as raised:
            await call(kf)
    assert "Connect" in raised.value.reason
    assert not isinstance(raised.value, RequestTimeoutError)
    # The failure came from the shared token refresh: the caller's own copy is
    # chained to that original, and the original to nothing (no httpx exception).
    original = raised.value.__cause__
    assert type(original) is TransportError
    assert original.__cause__ is None
    assert original.__context__ is None
    assert raised.value.retryable


async def test_timeout_is_request_timeout_error(sim: WeComSimulator) -> None:
    """A server (on a loopback port) that hangs past the timeout gives RequestTimeoutError."""
    sim.hang_seconds = 0.3
    async with serve(sim) as base_url:
        kf = KfClient(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url=base_url,
            rate_limit=None,
            timeout=0.05,
            retry=RetryPolicy(attempts=2),
        )
        async with kf:
            await kf.tokens.get()
            sim.script(CUSTOMER_BATCHGET, ["timeout", "timeout"])
            with pytest.raises(RequestTimeoutError) as raised:
                await call(kf)
    assert sim.stats.faults["timeout"] == 2
    assert raised.value.__context__ is None


async def test_deadline_stops_retries(sim: WeComSimulator, clock: FakeClock) -> None:
    """Retries stop when the next wait would pass the deadline (time from the fake clock)."""
    from wecom_kf_async import set_testing

    set_testing(False)
    sleep = FakeSleep(clock)
    policy = RetryPolicy(attempts=100, deadline=5.0, backoff_base=1.0, backoff_cap=1.0)
    sim.clock = clock
    async with client_for(sim, clock=clock, sleep=sleep, retry=policy) as kf:
        await kf.tokens.get()
        sim.set_fault_rate(CUSTOMER_BATCHGET, 1.0, faults=(-1,))
        with pytest.raises(ServerBusyError):
            await call(kf)
    assert sum(sleep.waits) <= 5.0
    assert 2 <= sim.stats.calls[CUSTOMER_BATCHGET] < 100


async def test_throttling_backs_off_longer_and_slows_sending(
    sim: WeComSimulator, clock: FakeClock
) -> None:
    """45009 waits on the throttle backoff and caps the client's own send rate."""
    from wecom_kf_async import set_testing

    set_testing(False)
    sleep = FakeSleep(clock)
    sim.clock = clock
    policy = RetryPolicy(backoff_base=0.01, backoff_cap=0.01, throttle_backoff_base=2.0)
    async with client_for(sim, clock=clock, sleep=sleep, retry=policy) as kf:
        await kf.tokens.get()
        for _ in range(5):
            await call(kf)
        assert kf.throttle.rate is None
        sim.script(CUSTOMER_BATCHGET, [45009])
        await call(kf)
        assert kf.throttle.rate is not None
    assert sim.stats.errors[45009] == 1
    assert max(sleep.waits) > 0.01  # the throttle backoff, not the transient one
