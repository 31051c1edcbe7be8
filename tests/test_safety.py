"""Retry safety per endpoint: what may have reached WeCom is never done twice."""

from __future__ import annotations

import pytest

from wecom_kf_async import (
    KfClient,
    OutcomeUnknownError,
    RequestTimeoutError,
    RetryPolicy,
    TransportError,
    UpstreamHTTPError,
)
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator, serve

from .conftest import client_for

ADD = "kf/account/add"


@pytest.fixture
def media_id(sim: WeComSimulator) -> str:
    """An uploaded image the simulator accepts as an avatar."""
    return sim.add_media("image", filename="logo.png", size=2048)


@pytest.mark.parametrize(
    ("fault", "reason"), [("http502", "HTTP 502"), ("truncated", "not JSON"), ("drop", "not JSON")]
)
async def test_an_unsafe_call_that_may_have_reached_wecom_is_not_retried(
    sim: WeComSimulator, media_id: str, fault: str, reason: str
) -> None:
    """A 5xx, a cut-off or a dropped answer to account/add raises OutcomeUnknownError, once."""
    sim.script(ADD, [fault])
    async with client_for(sim) as kf:
        with pytest.raises(OutcomeUnknownError) as raised:
            await kf.accounts.add(name="Support", media_id=media_id)
    assert sim.stats.calls[ADD] == 1
    assert raised.value.path == ADD
    assert "kf.accounts.list()" in raised.value.check
    assert raised.value.reason == reason
    assert isinstance(raised.value.__cause__, TransportError)
    assert len(sim.corp.accounts) == (1 if fault == "drop" else 0)


@pytest.mark.parametrize("fault", [-1, 45009, "http429", "http408"])
async def test_an_unsafe_call_refused_before_any_effect_is_retried(
    sim: WeComSimulator, media_id: str, fault: int | str
) -> None:
    """An answered error or a 408/429 means nothing was done: retried, one account made."""
    sim.script(ADD, [fault])
    async with client_for(sim) as kf:
        open_kfid = await kf.accounts.add(name="Support", media_id=media_id)
    assert sim.stats.calls[ADD] == 2
    assert list(sim.corp.accounts) == [open_kfid]


async def test_a_4xx_status_fails_an_unsafe_call_without_outcome_doubt(
    sim: WeComSimulator, media_id: str
) -> None:
    """A 404 (a wrong base URL, say) did nothing: a plain UpstreamHTTPError, not retried."""
    sim.script(ADD, ["http404"])
    async with client_for(sim) as kf:
        with pytest.raises(UpstreamHTTPError) as raised:
            await kf.accounts.add(name="Support", media_id=media_id)
    assert raised.value.status_code == 404
    assert not raised.value.sent
    assert sim.stats.calls[ADD] == 1


async def test_the_deadline_cutting_an_unsafe_call_in_flight_leaves_its_outcome_unknown(
    sim: WeComSimulator, media_id: str
) -> None:
    """The account is created, the answer never comes, the deadline passes: outcome unknown."""
    sim.script(ADD, ["lost"])
    sim.hang_seconds = 30
    async with client_for(sim, timeout=30.0, retry=RetryPolicy(deadline=0.3)) as kf:
        await kf.tokens.get()
        with pytest.raises(OutcomeUnknownError) as raised:
            await kf.accounts.add(name="Support", media_id=media_id)
    assert raised.value.reason == "deadline"
    assert isinstance(raised.value.__cause__, RequestTimeoutError)
    assert len(sim.corp.accounts) == 1
    assert sim.stats.calls[ADD] == 1


async def test_a_refused_connection_is_retried_even_for_an_unsafe_call(
    sim: WeComSimulator, media_id: str
) -> None:
    """Nothing can have been done over a connection that was refused: retried, then raised."""
    async with serve(sim) as base_url:
        kf = KfClient(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url=base_url,
            rate_limit=None,
            retry=RetryPolicy(attempts=3),
        )
        await kf.__aenter__()
        await kf.tokens.get()
    try:  # the server is gone now: every connection is refused
        with pytest.raises(TransportError) as raised:
            await kf.accounts.add(name="Support", media_id=media_id)
    finally:
        await kf.aclose()
    assert not isinstance(raised.value, OutcomeUnknownError)
    assert raised.value.sent is False
    assert sim.corp.accounts == {}
