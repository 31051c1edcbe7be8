"""A pathological answer or a close in flight costs only what it concerns, and says so.

Issue 17, defects 12 and 13: a 200 answer nested 100,000 arrays deep is an
``InvalidResponseError`` (retried like any bad body), never a bare ``RecursionError``;
and a call that was on the wire when ``kf.aclose()`` ran, if it changes state, ends
with the outcome unknown (for a send, ``SendOutcomeUnknownError`` with its msgid),
never a bare ``RuntimeError``.
"""

from __future__ import annotations

import asyncio

import pytest

from wecom_kf_async import (
    InvalidResponseError,
    KfClient,
    OutcomeUnknownError,
    RetryPolicy,
    SendOutcomeUnknownError,
    Text,
)
from wecom_kf_async.testing import CUSTOMER_BATCHGET, SIM_SECRET, WeComSimulator, serve

from .conftest import client_for, until

SEND = "kf/send_msg"
SYNC = "kf/sync_msg"
ADD_ACCOUNT = "kf/account/add"


@pytest.fixture
def kfid(sim: WeComSimulator) -> str:
    """An account whose customer wmAlice just wrote (so it may be answered)."""
    open_kfid = sim.add_account("Support")
    sim.customer_says(open_kfid, "wmAlice", {"msgtype": "text", "text": {"content": "hi"}})
    return open_kfid


# -- 12. an answer nested 100,000 deep ------------------------------------------------


async def test_a_deeply_nested_answer_is_an_invalid_response_and_is_retried(
    sim: WeComSimulator, kfid: str
) -> None:
    """sync: the first answer is 100,000 arrays deep; the retry reads the page."""
    sim.script(SYNC, ["deep"])
    async with client_for(sim) as kf:
        page = await kf.messages.sync(open_kfid=kfid)
    assert sim.stats.calls[SYNC] == 2
    assert [m.external_userid for m in page.messages] == ["wmAlice"]


async def test_a_deeply_nested_answer_every_time_raises_invalid_response(
    sim: WeComSimulator, kfid: str
) -> None:
    """Every try deep: InvalidResponseError naming the path, not RecursionError."""
    sim.script(SYNC, ["deep"] * 3)
    async with client_for(sim, retry=RetryPolicy(attempts=3)) as kf:
        with pytest.raises(InvalidResponseError) as raised:
            await kf.messages.sync(open_kfid=kfid)
    assert raised.value.path == SYNC
    assert "nested" in str(raised.value)
    assert not isinstance(raised.value.__context__, RecursionError)


async def test_a_send_answered_too_deep_every_time_names_its_msgid(
    sim: WeComSimulator, kfid: str
) -> None:
    """A send whose every answer is 100,000 deep: SendOutcomeUnknownError with the msgid."""
    sim.script(SEND, ["deep"] * 3)
    async with client_for(sim, retry=RetryPolicy(attempts=3)) as kf:
        with pytest.raises(SendOutcomeUnknownError) as raised:
            await kf.messages.send("wmAlice", kfid, Text("once"), msgid="order-12")
    assert raised.value.msgid == "order-12"


async def test_deeply_nested_answers_cost_only_retries_of_their_chunks(
    sim: WeComSimulator,
) -> None:
    """Four answers 100,000 deep among a 3-chunk batch: each chunk retries past them and
    every id resolves (the batch is not sunk by a RecursionError)."""
    sim.script(CUSTOMER_BATCHGET, ["deep"] * 4)
    async with client_for(sim, retry=RetryPolicy(attempts=6), max_concurrency=1) as kf:
        result = await kf.customers.batch_get([f"wm{i:04d}" for i in range(300)])
    assert len(result.customers) == 300
    assert not result.failed
    assert sim.stats.calls[CUSTOMER_BATCHGET] == 3 + 4
    assert sim.stats.faults["deep"] == 4


# -- 13. aclose() while a call is on the wire ----------------------------------------


async def _closing_in_flight(sim: WeComSimulator, call: str, kfid: str) -> BaseException:
    """Start *call* against a real server that records it and never answers, then close."""
    sim.script(SEND if call == "send" else ADD_ACCOUNT, ["lost"])
    sim.hang_seconds = 30
    async with serve(sim, shutdown_timeout=0) as base_url:
        kf = KfClient(corp_id=sim.corp_id, secret=SIM_SECRET, base_url=base_url, rate_limit=None)
        async with asyncio.timeout(20):
            await kf.__aenter__()
            await kf.tokens.get()
            path = SEND if call == "send" else ADD_ACCOUNT
            if call == "send":
                task = asyncio.create_task(
                    kf.messages.send("wmAlice", kfid, Text("once"), msgid="order-13")
                )
            else:
                task = asyncio.create_task(
                    kf.accounts.add(name="New desk", media_id=sim.add_media())
                )
            await until(lambda: sim.stats.calls[path] >= 1, limit=1_000_000)
            await kf.aclose()
            (outcome,) = await asyncio.gather(task, return_exceptions=True)
    assert isinstance(outcome, BaseException), f"the call returned {outcome!r}"
    return outcome


async def test_closing_under_a_send_in_flight_raises_outcome_unknown_with_the_msgid(
    sim: WeComSimulator, kfid: str
) -> None:
    """WeCom recorded the send; the client closed before the answer: the msgid is named."""
    error = await _closing_in_flight(sim, "send", kfid)
    assert isinstance(error, SendOutcomeUnknownError), repr(error)
    assert error.msgid == "order-13"
    assert [s.msgid for s in sim.sent] == ["order-13"]


async def test_closing_under_an_unsafe_call_in_flight_raises_outcome_unknown(
    sim: WeComSimulator, kfid: str
) -> None:
    """account/add on the wire when the client closes: OutcomeUnknownError with its check."""
    error = await _closing_in_flight(sim, "add", kfid)
    assert isinstance(error, OutcomeUnknownError), repr(error)
    assert error.check


async def test_closing_under_a_read_in_flight_still_says_closed(sim: WeComSimulator) -> None:
    """A read on the wire when the client closes: RuntimeError('KfClient is closed')."""
    sim.script(CUSTOMER_BATCHGET, ["lost"])
    sim.hang_seconds = 30
    async with serve(sim, shutdown_timeout=0) as base_url:
        kf = KfClient(corp_id=sim.corp_id, secret=SIM_SECRET, base_url=base_url, rate_limit=None)
        async with asyncio.timeout(20):
            await kf.__aenter__()
            await kf.tokens.get()
            task = asyncio.create_task(kf.customers.batch_get(["wmA"]))
            await until(lambda: sim.stats.calls[CUSTOMER_BATCHGET] >= 1, limit=1_000_000)
            await kf.aclose()
            with pytest.raises(RuntimeError, match="KfClient is closed"):
                await task
