"""kf.messages.send and .send_on_event: a msgid always, the same on a retry, never twice."""

from __future__ import annotations

import re

import pytest

from wecom_kf_async import (
    Click,
    ConversationEndedError,
    EventCodeError,
    Image,
    KfClient,
    Menu,
    RetryPolicy,
    SendLimitError,
    SendNotAllowedError,
    SendOutcomeUnknownError,
    Text,
)
from wecom_kf_async.testing import WeComSimulator

from .conftest import client_for

SEND = "kf/send_msg"
ON_EVENT = "kf/send_msg_on_event"


@pytest.fixture
def kfid(sim: WeComSimulator) -> str:
    """An account whose customer wmAlice just wrote (so it may be answered)."""
    open_kfid = sim.add_account("Support")
    sim.customer_says(open_kfid, "wmAlice", {"msgtype": "text", "text": {"content": "hi"}})
    return open_kfid


async def test_send_always_sends_a_msgid_and_returns_it(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """Without one given, a fresh 32-character [0-9a-zA-Z_-] msgid goes out and comes back."""
    msgid = await kf.messages.send("wmAlice", kfid, Text("Hello"))
    assert re.fullmatch(r"[0-9a-zA-Z_-]{32}", msgid)
    (sent,) = sim.sent
    assert sent.msgid == msgid
    assert (sent.msgtype, sent.body) == ("text", {"content": "Hello"})
    mine = await kf.messages.send("wmAlice", kfid, Text("Again"), msgid="order-42_a")
    assert mine == "order-42_a"
    assert [s.msgid for s in sim.sent] == [msgid, "order-42_a"]


@pytest.mark.parametrize("fault", ["drop", "http502", "truncated"])
async def test_a_send_whose_answer_is_lost_is_retried_and_goes_out_once(
    kf: KfClient, sim: WeComSimulator, kfid: str, fault: str
) -> None:
    """Answer cut off after the send was recorded ("drop"), or lost before it: one message."""
    sim.script(SEND, [fault])
    msgid = await kf.messages.send("wmAlice", kfid, Text("once"))
    assert [s.msgid for s in sim.sent] == [msgid]
    assert sim.stats.calls[SEND] == 2
    assert sim.stats.errors[95010] == (1 if fault == "drop" else 0)  # "msgid used": done


async def test_a_send_that_times_out_after_it_went_out_is_not_sent_again(
    sim: WeComSimulator, kfid: str
) -> None:
    """'lost': recorded, never answered; the client times out, retries, and is told it is done."""
    sim.script(SEND, ["lost"])
    sim.hang_seconds = 30
    async with client_for(sim, timeout=0.2) as kf:
        msgid = await kf.messages.send("wmAlice", kfid, Text("once"))
    assert [s.msgid for s in sim.sent] == [msgid]
    assert sim.stats.calls[SEND] == 2


async def test_when_the_outcome_cannot_be_known_the_error_carries_the_msgid(
    sim: WeComSimulator, kfid: str
) -> None:
    """Every try failed and the first may have gone out: SendOutcomeUnknownError with the msgid."""
    sim.script(SEND, ["drop", "http502", "http502"])
    async with client_for(sim, retry=RetryPolicy(attempts=3)) as kf:
        with pytest.raises(SendOutcomeUnknownError) as raised:
            await kf.messages.send("wmAlice", kfid, Text("maybe"), msgid="m-unknown")
    assert raised.value.msgid == "m-unknown"
    assert "m-unknown" in str(raised.value)
    assert "msg_send_fail" in raised.value.check
    assert [s.msgid for s in sim.sent] == ["m-unknown"]


async def test_the_sixth_message_within_48_hours_is_a_send_limit_error(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """Five sends since the customer's last message pass; the sixth is SendLimitError (95001)."""
    for n in range(5):
        await kf.messages.send("wmAlice", kfid, Text(f"{n}"))
    with pytest.raises(SendLimitError) as raised:
        await kf.messages.send("wmAlice", kfid, Text("sixth"))
    assert raised.value.errcode == 95001
    assert sim.stats.calls[SEND] == 6  # not retried


async def test_a_customer_who_never_wrote_cannot_be_sent_to(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """No message from the customer within 48 hours: SendLimitError (95002)."""
    with pytest.raises(SendLimitError) as raised:
        await kf.messages.send("wmBob", kfid, Text("hello?"))
    assert raised.value.errcode == 95002


@pytest.mark.parametrize(
    ("state", "error", "errcode"),
    [
        (2, SendNotAllowedError, 95018),
        (3, SendNotAllowedError, 95018),
        (4, ConversationEndedError, 95013),
    ],
)
async def test_a_session_state_that_forbids_sending_raises_its_own_error(
    kf: KfClient,
    sim: WeComSimulator,
    kfid: str,
    state: int,
    error: type[Exception],
    errcode: int,
) -> None:
    """Queued or with a servicer: 95018; ended: 95013; each its own class, errcode kept."""
    session = sim.session(kfid, "wmAlice")
    session.state = state
    session.servicer_userid = "zhangsan" if state == 3 else None
    with pytest.raises(error) as raised:
        await kf.messages.send("wmAlice", kfid, Text("hi"))
    assert getattr(raised.value, "errcode", None) == errcode


async def test_send_on_event_answers_a_welcome_code_once(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """A welcome code serves one message; a second use is EventCodeError."""
    code = sim.customer_enters(kfid, "wmCarol", scene="qr")
    msgid = await kf.messages.send_on_event(code, Menu("Pick one", [Click("1", "Price")]))
    assert [s.msgid for s in sim.sent] == [msgid]
    with pytest.raises(EventCodeError):
        await kf.messages.send_on_event(code, Text("again"))


async def test_bad_sends_are_refused_before_any_request(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """A non-builder message, a bad msgid, an id too long, an image on an event: nothing sent."""
    with pytest.raises(TypeError, match="message builder"):
        await kf.messages.send("wmAlice", kfid, {"msgtype": "text"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="msgid"):
        await kf.messages.send("wmAlice", kfid, Text("x"), msgid="has space")
    with pytest.raises(ValueError, match="msgid is 33 bytes"):
        await kf.messages.send("wmAlice", kfid, Text("x"), msgid="m" * 33)
    with pytest.raises(ValueError, match="external_userid"):
        await kf.messages.send("wm" + "x" * 300, kfid, Text("x"))
    with pytest.raises(ValueError, match="send_on_event takes only"):
        await kf.messages.send_on_event("code", Image("media"))
    assert sim.stats.calls[SEND] == sim.stats.calls[ON_EVENT] == 0
