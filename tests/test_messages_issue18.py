"""Messages the official pages list that the library lacked: meeting, schedule, ca_link."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from wecom_kf_async import (
    CaLink,
    KfClient,
    MeetingMessage,
    ScheduleMessage,
    UnknownMessage,
    structure_message,
    structure_messages,
)
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.samples import MESSAGE_SAMPLES, message_sample

from .conftest import client_for
from .sim_messages_helpers import raw_api

ROOT = Path(__file__).resolve().parents[1]
UID = "wmsimcustomer01"


@pytest.mark.parametrize(
    ("msgtype", "cls"), [("meeting", MeetingMessage), ("schedule", ScheduleMessage)]
)
def test_meeting_and_schedule_are_typed_with_their_body_kept(msgtype: str, cls: type) -> None:
    """Both come as their own class; their bodies stay as sent (no field is documented)."""
    sample = MESSAGE_SAMPLES[msgtype]
    msg = structure_message(copy.deepcopy(sample))
    assert type(msg) is cls
    assert getattr(msg, msgtype) == sample[msgtype]
    assert (msg.msgid, msg.open_kfid) == (sample["msgid"], sample["open_kfid"])


def test_their_repr_shows_no_content() -> None:
    """The raw body's values (a customer's meeting title) stay out of the repr."""
    msg = structure_message(message_sample("meeting", meeting={"title": "Secret plans"}))
    assert "Secret plans" not in repr(msg)


def test_a_malformed_body_keeps_the_item() -> None:
    """A meeting whose body is not an object becomes UnknownMessage, nothing lost."""
    bad = message_sample("schedule", schedule="not an object")
    (msg,) = structure_messages([bad])
    assert isinstance(msg, UnknownMessage)
    assert msg.malformed
    assert msg.raw == bad


def test_ca_link_builder() -> None:
    """CaLink sends {"link_url": ...}; a link that is no http(s) URL is refused when built."""
    link = CaLink("https://work.weixin.qq.com/ca/cawcde0000000000")
    assert link.msgtype == "ca_link"
    assert link.body() == {"link_url": "https://work.weixin.qq.com/ca/cawcde0000000000"}
    with pytest.raises(ValueError, match=r"CaLink\.link_url"):
        CaLink("ftp://example.com/x")
    with pytest.raises(TypeError, match=r"CaLink\.link_url"):
        CaLink(None)  # type: ignore[arg-type]


async def test_ca_link_is_sent_and_the_simulator_checks_it() -> None:
    """send() delivers a CaLink; the simulator refuses a ca_link without link_url (40058)."""
    sim = WeComSimulator()
    kfid = sim.add_account("Support")
    sim.customer_says(kfid, UID, {"msgtype": "text", "text": {"content": "hi"}})
    async with client_for(sim) as kf:
        assert isinstance(kf, KfClient)
        msgid = await kf.messages.send(UID, kfid, CaLink("https://work.weixin.qq.com/ca/x"))
        with pytest.raises(ValueError, match="send_on_event takes only"):
            await kf.messages.send_on_event("code", CaLink("https://work.weixin.qq.com/ca/x"))
    (sent,) = sim.sent
    assert (sent.msgid, sent.msgtype, sent.body) == (
        msgid,
        "ca_link",
        {"link_url": "https://work.weixin.qq.com/ca/x"},
    )
    async with raw_api(sim) as api:
        answer = await api.send(kfid, UID, msgtype="ca_link", ca_link={})
    assert answer["errcode"] == 40058


def test_the_guide_says_oversized_media_arrive_as_text() -> None:
    """Page 31078: media over the size limits come as a text notice; the guide says so."""
    guide = (ROOT / "docs" / "messages.md").read_text(encoding="utf-8")
    assert "31078" in guide
    assert "text notice" in guide
