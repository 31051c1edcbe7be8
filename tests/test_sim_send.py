"""The simulator's ``kf/send_msg`` and ``kf/send_msg_on_event``: rules, errcodes, the record."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.samples import MESSAGE_SAMPLES
from wecom_kf_async.testing.simulator import (
    ERR_EVENT_CODE_INVALID,
    ERR_MSGID_DUPLICATE,
    ERR_SEND_COUNT_LIMIT,
    ERR_SEND_TIME_LIMIT,
    ERR_SESSION_ENDED,
    ERR_STATE_FORBIDS_SEND,
)
from wecom_kf_async.testing.simulator._state import SimServicer

from .conftest import FakeClock
from .sim_messages_helpers import RawApi, raw_api

HOUR = 3600.0
UID = "wmsimcustomer01"
HI = {"msgtype": "text", "text": {"content": "hi"}}


@pytest.fixture
def fsim(clock: FakeClock) -> WeComSimulator:
    """A simulator on a fake clock."""
    return WeComSimulator(clock=clock)


@pytest.fixture
def kfid(fsim: WeComSimulator) -> str:
    """An account of ``fsim`` whose customer ``UID`` has just written."""
    kfid = fsim.add_account("Support")
    fsim.customer_says(kfid, UID, HI)
    return kfid


async def _codes(api: RawApi, kfid: str, n: int, **body: Any) -> list[int]:
    return [(await api.send(kfid, UID, **body))["errcode"] for _ in range(n)]


# ---------------------------------------------------------------------- rules


async def test_send_is_recorded_once_with_its_msgid(
    fsim: WeComSimulator, kfid: str, clock: FakeClock
) -> None:
    """An accepted send answers its msgid and appears once in sim.sent with body and time."""
    async with raw_api(fsim) as api:
        mine = await api.send(kfid, UID, msgid="reply-001")
        generated = await api.send(kfid, UID)
    assert mine == {"errcode": 0, "errmsg": "ok", "msgid": "reply-001"}
    assert generated["errcode"] == 0
    assert len(generated["msgid"].encode()) <= 32
    first, second = fsim.sent
    assert (first.msgid, first.open_kfid, first.touser) == ("reply-001", kfid, UID)
    assert (first.msgtype, first.body, first.time) == ("text", {"content": "hi"}, clock.now)
    assert (first.endpoint, first.code) == ("kf/send_msg", None)
    assert second.msgid == generated["msgid"]


@pytest.mark.parametrize(
    ("state", "errcode"), [(0, 0), (1, 0), (2, ERR_STATE_FORBIDS_SEND), (3, ERR_STATE_FORBIDS_SEND)]
)
async def test_only_states_0_and_1_may_send(
    fsim: WeComSimulator, kfid: str, state: int, errcode: int
) -> None:
    """send_msg answers a new or bot-handled session; a queued or servicer's one gets 95018."""
    fsim.set_session(kfid, UID, state, "zhangsan" if state == 3 else None)
    async with raw_api(fsim) as api:
        assert (await api.send(kfid, UID))["errcode"] == errcode
    assert len(fsim.sent) == (1 if errcode == 0 else 0)


async def test_ended_session_until_the_customer_writes(fsim: WeComSimulator, kfid: str) -> None:
    """An ended session answers 95013; the customer's next message reopens it (state 0)."""
    fsim.set_session(kfid, UID, 4)
    async with raw_api(fsim) as api:
        assert (await api.send(kfid, UID))["errcode"] == ERR_SESSION_ENDED
        fsim.customer_says(kfid, UID, HI)
        assert fsim.session(kfid, UID).state == 0
        assert (await api.send(kfid, UID))["errcode"] == 0


async def test_five_sends_per_customer_message(fsim: WeComSimulator, kfid: str) -> None:
    """Five sends pass, the sixth answers 95001; the customer writing again allows five more."""
    async with raw_api(fsim) as api:
        assert await _codes(api, kfid, 6) == [0] * 5 + [ERR_SEND_COUNT_LIMIT]
        fsim.customer_says(kfid, UID, HI)
        assert await _codes(api, kfid, 6) == [0] * 5 + [ERR_SEND_COUNT_LIMIT]
    assert len(fsim.sent) == 10


async def test_48_hour_window(fsim: WeComSimulator, kfid: str, clock: FakeClock) -> None:
    """Just under 48 h after the customer wrote a send passes; at 48 h it answers 95002."""
    async with raw_api(fsim) as api:
        clock.advance(48 * HOUR - 1)
        assert (await api.send(kfid, UID))["errcode"] == 0
        clock.advance(1)
        assert (await api.send(kfid, UID))["errcode"] == ERR_SEND_TIME_LIMIT


async def test_no_window_without_a_customer_message(fsim: WeComSimulator, kfid: str) -> None:
    """A session seeded without a message, or only entered, has no window: 95002."""
    fsim.session(kfid, "wmquiet")
    fsim.customer_enters(kfid, "wmentered")
    async with raw_api(fsim) as api:
        assert (await api.send(kfid, "wmquiet"))["errcode"] == ERR_SEND_TIME_LIMIT
        assert (await api.send(kfid, "wmentered"))["errcode"] == ERR_SEND_TIME_LIMIT


async def test_unknown_customer_or_account(fsim: WeComSimulator, kfid: str) -> None:
    """An unknown customer answers 40096, a bad or unknown account 95000 / 95004."""
    fsim.known_prefix = None
    async with raw_api(fsim) as api:
        assert (await api.send(kfid, "stranger"))["errcode"] == 40096
        assert (await api.send("wknone", UID))["errcode"] == 95004
        assert (await api.send("", UID))["errcode"] == 95000


# ---------------------------------------------------------------------- msgid


async def test_repeated_msgid_answers_duplicate(fsim: WeComSimulator, kfid: str) -> None:
    """A msgid is used once per account: a repeat answers the duplicate errcode, nothing sent."""
    other = fsim.add_account("Other")
    fsim.customer_says(other, UID, HI)
    async with raw_api(fsim) as api:
        assert (await api.send(kfid, UID, msgid="m1"))["errcode"] == 0
        assert (await api.send(kfid, UID, msgid="m1"))["errcode"] == ERR_MSGID_DUPLICATE
        assert (await api.send(other, UID, msgid="m1"))["errcode"] == 0
    assert [(s.open_kfid, s.msgid) for s in fsim.sent] == [(kfid, "m1"), (other, "m1")]


async def test_duplicate_wins_over_every_other_rule(
    fsim: WeComSimulator, kfid: str, clock: FakeClock
) -> None:
    """After the window closed and the count ran out, a repeat still answers duplicate."""
    async with raw_api(fsim) as api:
        await _codes(api, kfid, 4)
        assert (await api.send(kfid, UID, msgid="last"))["errcode"] == 0
        fsim.set_session(kfid, UID, 3, "zhangsan")
        clock.advance(49 * HOUR)
        assert (await api.send(kfid, UID, msgid="last"))["errcode"] == ERR_MSGID_DUPLICATE


@pytest.mark.parametrize(
    ("msgid", "errcode"),
    [("a" * 32, 0), ("a" * 33, 40058), ("has space", 40058), ("中文", 40058), ("ok_-9Z", 0)],
)
async def test_msgid_shape(fsim: WeComSimulator, kfid: str, msgid: str, errcode: int) -> None:
    """A msgid is at most 32 characters of [0-9a-zA-Z_-]."""
    async with raw_api(fsim) as api:
        assert (await api.send(kfid, UID, msgid=msgid))["errcode"] == errcode


async def test_dropped_answer_records_once_and_the_retry_is_a_duplicate(
    fsim: WeComSimulator, kfid: str
) -> None:
    """With a "drop" fault the send is done but the answer is cut; the retry answers duplicate."""
    fsim.script("kf/send_msg", ["drop"])
    async with raw_api(fsim) as api:
        response = await api.client.post(
            "/cgi-bin/kf/send_msg",
            params={"access_token": fsim.issue_token()},
            json={"touser": UID, "open_kfid": kfid, "msgid": "retry-me", **HI},
        )
        with pytest.raises(json.JSONDecodeError):
            response.json()
        assert [s.msgid for s in fsim.sent] == ["retry-me"]
        retry = await api.send(kfid, UID, msgid="retry-me")
    assert retry["errcode"] == ERR_MSGID_DUPLICATE
    assert [s.msgid for s in fsim.sent] == ["retry-me"]


# --------------------------------------------------------------------- bodies


def _menu(n: int, kind: str = "click") -> dict[str, Any]:
    inner = {"click": {"id": "1", "content": "Yes"}, "bogus": {"content": "?"}}[kind]
    return {"head_content": "Pick", "list": [{"type": kind, kind: inner}] * n}


_LINK = {"title": "T", "url": "https://example.com", "thumb_media_id": "thumb"}
_MINI = {"appid": "wx1", "title": "T", "pagepath": "p", "thumb_media_id": "thumb"}


@pytest.mark.parametrize(
    ("msgtype", "body", "errcode"),
    [
        ("text", {"content": "é" * 1024}, 0),
        ("text", {"content": "é" * 1024 + "x"}, 40058),
        ("text", {"content": ""}, 44004),
        ("text", "hi", 40058),
        ("hologram", {}, 40008),
        ("business_card", {"userid": "lisi"}, 40008),
        ("msgmenu", _menu(10), 0),
        ("msgmenu", _menu(11), 95008),
        ("msgmenu", _menu(1, "bogus"), 95009),
        ("msgmenu", {**_menu(1), "head_content": "x" * 1025}, 40058),
        ("msgmenu", {"list": []}, 40058),
        ("location", {"latitude": 90, "longitude": -180}, 0),
        ("location", {"latitude": 90.0001, "longitude": 0}, 40058),
        ("location", {"latitude": 0, "longitude": 180.5}, 40058),
        ("location", {"latitude": "north", "longitude": 0}, 40058),
        ("link", _LINK, 0),
        ("link", {**_LINK, "title": "t" * 129}, 40058),
        ("link", {**_LINK, "desc": "d" * 513}, 40058),
        ("link", {**_LINK, "url": "ftp://example.com"}, 40058),
        ("link", {**_LINK, "thumb_media_id": "nope"}, 40007),
        ("miniprogram", _MINI, 0),
        ("miniprogram", {**_MINI, "title": "t" * 65}, 40058),
        ("image", {"media_id": "thumb"}, 0),
        ("image", {"media_id": "unknown"}, 40007),
    ],
)
async def test_body_limits(
    fsim: WeComSimulator, kfid: str, msgtype: str, body: Any, errcode: int
) -> None:
    """Each body is checked against the documented limits, with WeCom's errcode."""
    fsim.add_media("image", media_id="thumb")
    async with raw_api(fsim) as api:
        answer = await api.send(kfid, UID, msgtype=msgtype, **{msgtype: body})
    assert answer["errcode"] == errcode, answer
    assert len(fsim.sent) == (1 if errcode == 0 else 0)


async def test_media_a_customer_sent_may_be_sent_back(fsim: WeComSimulator, kfid: str) -> None:
    """The media_id of a customer's image is one send_msg accepts."""
    fsim.customer_says(kfid, UID, MESSAGE_SAMPLES["image"])
    media_id = MESSAGE_SAMPLES["image"]["image"]["media_id"]
    async with raw_api(fsim) as api:
        answer = await api.send(kfid, UID, msgtype="image", image={"media_id": media_id})
    assert answer["errcode"] == 0


# ------------------------------------------------------------ send_msg_on_event


async def _on_event(api: RawApi, code: str, **body: Any) -> dict[str, Any]:
    request: dict[str, Any] = {"code": code}
    if "msgtype" not in body:
        request.update(HI)
    request.update(body)
    return await api.call("kf/send_msg_on_event", request)


async def test_welcome_code_once_within_20_seconds(
    fsim: WeComSimulator, kfid: str, clock: FakeClock
) -> None:
    """A welcome_code answers once within 20 s; again, late or made up it is refused."""
    first = fsim.customer_enters(kfid, "wmnew1", scene="poster", scene_param="a=1")
    late = fsim.customer_enters(kfid, "wmnew2")
    async with raw_api(fsim) as api:
        clock.advance(19.9)
        assert (await _on_event(api, first, msgid="w1"))["msgid"] == "w1"
        assert (await _on_event(api, first))["errcode"] == ERR_EVENT_CODE_INVALID
        clock.advance(0.1)
        assert (await _on_event(api, late))["errcode"] == ERR_EVENT_CODE_INVALID
        assert (await _on_event(api, "made-up"))["errcode"] == ERR_EVENT_CODE_INVALID
        assert (await _on_event(api, ""))["errcode"] == 40058
    (sent,) = fsim.sent
    assert (sent.touser, sent.code, sent.endpoint) == ("wmnew1", first, "kf/send_msg_on_event")
    event = fsim.messages(kfid)[-2]["event"]
    assert (event["welcome_code"], event["scene"], event["scene_param"]) == (first, "poster", "a=1")


async def test_on_event_takes_text_and_menu_only(fsim: WeComSimulator, kfid: str) -> None:
    """send_msg_on_event refuses an image (40008) and leaves the code unused."""
    code = fsim.customer_enters(kfid, "wmnew")
    fsim.add_media("image", media_id="pic")
    async with raw_api(fsim) as api:
        image = await _on_event(api, code, msgtype="image", image={"media_id": "pic"})
        menu = await _on_event(api, code, msgtype="msgmenu", msgmenu=_menu(2))
    assert (image["errcode"], menu["errcode"]) == (40008, 0)


async def test_msg_code_from_a_session_move_lives_48_hours(
    fsim: WeComSimulator, kfid: str, clock: FakeClock
) -> None:
    """A msg_code from service_state/trans or a session event answers once within 48 h."""
    fsim.corp.accounts[kfid].servicers["zhangsan"] = SimServicer("zhangsan")
    async with raw_api(fsim) as api:
        moved = await api.call(
            "kf/service_state/trans",
            {
                "open_kfid": kfid,
                "external_userid": UID,
                "service_state": 3,
                "servicer_userid": "zhangsan",
            },
        )
        code = moved["msg_code"]
        fsim.add_event(kfid, UID, "session_status_change", change_type=3)
        event_code = fsim.messages(kfid)[-1]["event"]["msg_code"]
        clock.advance(48 * HOUR - 1)
        assert (await _on_event(api, code))["errcode"] == 0
        clock.advance(1)
        assert (await _on_event(api, event_code))["errcode"] == ERR_EVENT_CODE_INVALID
    entry = fsim.event_code(code)
    assert entry is not None
    assert entry.used
    assert entry.kind == "msg"


async def test_on_event_retry_with_the_same_msgid_is_a_duplicate(
    fsim: WeComSimulator, kfid: str
) -> None:
    """After a dropped answer, the retry with its msgid answers duplicate, not "code used"."""
    code = fsim.customer_enters(kfid, "wmnew")
    fsim.script("kf/send_msg_on_event", ["drop"])
    async with raw_api(fsim) as api:
        response = await api.client.post(
            "/cgi-bin/kf/send_msg_on_event",
            params={"access_token": fsim.issue_token()},
            json={"code": code, "msgid": "welcome-1", **HI},
        )
        with pytest.raises(json.JSONDecodeError):
            response.json()
        retry = await _on_event(api, code, msgid="welcome-1", **HI)
    assert retry["errcode"] == ERR_MSGID_DUPLICATE
    assert [s.msgid for s in fsim.sent] == ["welcome-1"]
