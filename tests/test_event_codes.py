"""send_msg_on_event codes, as page 96428 has them: scenes, lifetimes, msgtypes, states."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from wecom_kf_async import (
    EVENT_CODE_RULES,
    Click,
    EnterSessionEvent,
    EventCode,
    EventCodeScene,
    KfClient,
    Menu,
    ServiceState,
    SessionStatusChangeEvent,
    Text,
    structure_message,
)
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.samples import event_sample
from wecom_kf_async.testing.simulator import (
    ERR_EVENT_CODE_INVALID,
    ERR_STATE_FORBIDS_SEND,
)
from wecom_kf_async.testing.simulator._state import SimServicer

from .conftest import FakeClock
from .sim_messages_helpers import RawApi, raw_api

HOUR = 3600.0
UID = "wmsimcustomer01"
HI = {"msgtype": "text", "text": {"content": "hi"}}
MENU = {
    "msgtype": "msgmenu",
    "msgmenu": {"list": [{"type": "click", "click": {"id": "1", "content": "Yes"}}]},
}
ON_EVENT = "kf/send_msg_on_event"


async def _trans(api: RawApi, state: int, **extra: Any) -> dict[str, Any]:
    body = {"open_kfid": "wkSupport01", "external_userid": UID, "service_state": state, **extra}
    return await api.call("kf/service_state/trans", body)


async def _answer(api: RawApi, code: str, message: dict[str, Any] = HI) -> int:
    errcode: int = (await api.call(ON_EVENT, {"code": code, **message}))["errcode"]
    return errcode


# ------------------------------------------------------------------ the table


def test_rules_are_those_of_page_96428() -> None:
    """Four scenes: enter and end live 20 s and take text or menu; queue and pool 48 h, text."""
    rules = {scene: EVENT_CODE_RULES[scene] for scene in EventCodeScene}
    assert {scene: rule.lifetime for scene, rule in rules.items()} == {
        EventCodeScene.ENTER_SESSION: 20.0,
        EventCodeScene.QUEUED: 48 * HOUR,
        EventCodeScene.FROM_POOL: 48 * HOUR,
        EventCodeScene.ENDED: 20.0,
    }
    assert {scene: rule.msgtypes for scene, rule in rules.items()} == {
        EventCodeScene.ENTER_SESSION: frozenset({"text", "msgmenu"}),
        EventCodeScene.QUEUED: frozenset({"text"}),
        EventCodeScene.FROM_POOL: frozenset({"text"}),
        EventCodeScene.ENDED: frozenset({"text", "msgmenu"}),
    }
    assert {scene: rule.state for scene, rule in rules.items()} == {
        EventCodeScene.ENTER_SESSION: None,
        EventCodeScene.QUEUED: ServiceState.QUEUED,
        EventCodeScene.FROM_POOL: ServiceState.SERVICER,
        EventCodeScene.ENDED: ServiceState.ENDED,
    }
    assert all(rule.doc_page == 96428 for rule in rules.values())


def test_an_event_code_is_a_string_that_knows_its_scene() -> None:
    """EventCode compares, hashes and serialises as its string; it pickles with its scene."""
    code = EventCode("CODE-1", EventCodeScene.QUEUED)
    assert code == "CODE-1"
    assert isinstance(code, str)
    assert {code: 1}["CODE-1"] == 1
    assert code.scene is EventCodeScene.QUEUED
    assert code.rule is EVENT_CODE_RULES[EventCodeScene.QUEUED]
    again = pickle.loads(pickle.dumps(code))  # noqa: S301 - our own object
    assert (again, again.scene) == ("CODE-1", EventCodeScene.QUEUED)
    with pytest.raises(TypeError, match="EventCodeScene"):
        EventCode("CODE-1", "queued")  # type: ignore[arg-type]


def test_events_carry_the_scene_of_their_code() -> None:
    """An enter_session gives a welcome code; a pick from the pool and an end a msg_code."""
    enter = structure_message(event_sample("enter_session"))
    assert isinstance(enter, EnterSessionEvent)
    assert enter.event_code is not None
    assert enter.event_code.scene is EventCodeScene.ENTER_SESSION
    picked = structure_message(event_sample("session_status_change", change_type=1))
    ended = structure_message(event_sample("session_status_change", change_type=3))
    moved = structure_message(event_sample("session_status_change", change_type=2))
    assert isinstance(picked, SessionStatusChangeEvent)
    assert isinstance(ended, SessionStatusChangeEvent)
    assert isinstance(moved, SessionStatusChangeEvent)
    assert picked.event_code is not None
    assert picked.event_code.scene is EventCodeScene.FROM_POOL
    assert ended.event_code is not None
    assert ended.event_code.scene is EventCodeScene.ENDED
    # A transfer hands out no code; if one came anyway, its scene is not known.
    assert moved.event_code is not None
    assert moved.event_code.scene is None
    no_code = structure_message(event_sample("enter_session", welcome_code=None))
    assert isinstance(no_code, EnterSessionEvent)
    assert no_code.event_code is None


# --------------------------------------------------------- the client refuses


async def test_transfer_returns_codes_with_their_scene(
    clocked_kf: KfClient, clocked_sim: WeComSimulator
) -> None:
    """Queue, pick up and end each return the scene's code; a servicer change none."""
    clocked_sim.customer_says("wkSupport01", UID, HI)
    queued = await clocked_kf.sessions.transfer("wkSupport01", UID, ServiceState.QUEUED)
    picked = await clocked_kf.sessions.transfer(
        "wkSupport01", UID, ServiceState.SERVICER, servicer_userid="zhangsan"
    )
    clocked_sim.corp.accounts["wkSupport01"].servicers["lisi"] = SimServicer("lisi")
    handed = await clocked_kf.sessions.transfer(
        "wkSupport01", UID, ServiceState.SERVICER, servicer_userid="lisi"
    )
    ended = await clocked_kf.sessions.transfer("wkSupport01", UID, ServiceState.ENDED)
    assert isinstance(queued, EventCode)
    assert isinstance(picked, EventCode)
    assert isinstance(ended, EventCode)
    assert (queued.scene, picked.scene, ended.scene) == (
        EventCodeScene.QUEUED,
        EventCodeScene.FROM_POOL,
        EventCodeScene.ENDED,
    )
    assert handed is None


async def test_a_menu_on_a_text_only_code_is_refused_before_sending(
    clocked_kf: KfClient, clocked_sim: WeComSimulator
) -> None:
    """A queue code from transfer(), or a pick-up event, refuses a menu without a request."""
    clocked_sim.customer_says("wkSupport01", UID, HI)
    queued = await clocked_kf.sessions.transfer("wkSupport01", UID, ServiceState.QUEUED)
    assert queued is not None
    menu = Menu("Pick one", [Click("1", "Price")])
    with pytest.raises(ValueError, match="takes only text messages"):
        await clocked_kf.messages.send_on_event(queued, menu)
    picked = structure_message(event_sample("session_status_change", change_type=1))
    with pytest.raises(ValueError, match="takes only text messages"):
        await clocked_kf.messages.send_on_event(picked, menu)  # type: ignore[arg-type]
    assert clocked_sim.stats.calls[ON_EVENT] == 0
    assert await clocked_kf.messages.send_on_event(queued, Text("You are in the queue"))
    assert [sent.code for sent in clocked_sim.sent] == [queued]


async def test_an_event_object_answers_with_its_code(
    clocked_kf: KfClient, clocked_sim: WeComSimulator
) -> None:
    """send_on_event takes the enter_session event itself; a menu is fine for a welcome."""
    clocked_sim.customer_enters("wkSupport01", "wmnewcomer")
    (item,) = [m for m in clocked_sim.messages("wkSupport01") if m.get("msgtype") == "event"]
    event = structure_message(item)
    assert isinstance(event, EnterSessionEvent)
    msgid = await clocked_kf.messages.send_on_event(event, Menu("Hello", [Click("1", "Price")]))
    (sent,) = clocked_sim.sent
    assert (sent.msgid, sent.code, sent.msgtype) == (msgid, event.welcome_code, "msgmenu")
    quiet = structure_message(event_sample("enter_session", welcome_code=None))
    with pytest.raises(ValueError, match="no welcome_code"):
        await clocked_kf.messages.send_on_event(quiet, Text("hi"))  # type: ignore[arg-type]


# -------------------------------------------------------- the simulator rules


async def test_simulator_refuses_a_menu_for_queue_and_pool_codes(
    clocked_sim: WeComSimulator,
) -> None:
    """A queue or pick-up code answered with a menu gets 40008; the code stays usable."""
    clocked_sim.customer_says("wkSupport01", UID, HI)
    async with raw_api(clocked_sim) as api:
        queued = (await _trans(api, 2))["msg_code"]
        assert await _answer(api, queued, MENU) == 40008
        assert await _answer(api, queued) == 0
        picked = (await _trans(api, 3, servicer_userid="zhangsan"))["msg_code"]
        assert await _answer(api, picked, MENU) == 40008
        assert await _answer(api, picked) == 0


async def test_end_code_lives_20_seconds(clocked_sim: WeComSimulator, clock: FakeClock) -> None:
    """An end code from transfer or from the session event is refused after 20 seconds."""
    clocked_sim.customer_says("wkSupport01", UID, HI)
    async with raw_api(clocked_sim) as api:
        await _trans(api, 3, servicer_userid="zhangsan")
        first = (await _trans(api, 4))["msg_code"]
        clock.advance(19.9)
        assert await _answer(api, first, MENU) == 0
        clocked_sim.add_event("wkSupport01", UID, "session_status_change", change_type=3)
        second = clocked_sim.messages("wkSupport01")[-1]["event"]["msg_code"]
        clock.advance(20.0)
        assert await _answer(api, second) == ERR_EVENT_CODE_INVALID
    entry = clocked_sim.event_code(second)
    assert entry is not None
    assert entry.scene is EventCodeScene.ENDED


async def test_queue_code_lives_48_hours(clocked_sim: WeComSimulator, clock: FakeClock) -> None:
    """A queue code is still good just under 48 hours later, and refused at 48 hours."""
    clocked_sim.customer_says("wkSupport01", UID, HI)
    async with raw_api(clocked_sim) as api:
        first = (await _trans(api, 2))["msg_code"]
        clock.advance(48 * HOUR - 1)
        assert await _answer(api, first) == 0
        clocked_sim.add_event("wkSupport01", UID, "session_status_change", change_type=1)
        picked = clocked_sim.messages("wkSupport01")[-1]["event"]["msg_code"]
        clocked_sim.set_session("wkSupport01", UID, 3, "zhangsan")
        clock.advance(48 * HOUR)
        assert await _answer(api, picked) == ERR_EVENT_CODE_INVALID


async def test_a_transfer_event_hands_out_no_code(clocked_sim: WeComSimulator) -> None:
    """session_status_change of a transfer (2) or a re-open (4) carries no msg_code."""
    for change_type in (2, 4):
        clocked_sim.add_event("wkSupport01", UID, "session_status_change", change_type=change_type)
        assert "msg_code" not in clocked_sim.messages("wkSupport01")[-1]["event"]
    clocked_sim.add_event("wkSupport01", UID, "session_status_change", change_type=1)
    assert clocked_sim.messages("wkSupport01")[-1]["event"]["msg_code"]


async def test_a_code_is_good_only_in_the_state_it_came_from(clocked_sim: WeComSimulator) -> None:
    """A queue code is refused once the session left the queue; a welcome code is not."""
    welcome = clocked_sim.customer_enters("wkSupport01", UID)
    assert welcome is not None
    clocked_sim.customer_says("wkSupport01", UID, HI)
    async with raw_api(clocked_sim) as api:
        queued = (await _trans(api, 2))["msg_code"]
        await _trans(api, 3, servicer_userid="zhangsan")
        assert await _answer(api, queued) == ERR_STATE_FORBIDS_SEND
        assert await _answer(api, welcome) == 0
        assert await _answer(api, queued) == ERR_STATE_FORBIDS_SEND
    entry = clocked_sim.event_code(queued)
    assert entry is not None
    assert not entry.used


async def test_welcome_code_only_without_a_recent_welcome_or_message(
    clocked_sim: WeComSimulator, clock: FakeClock
) -> None:
    """No welcome_code within 48 h of a welcome sent or of the customer's own message."""
    first = clocked_sim.customer_enters("wkSupport01", "wmfresh")
    assert first is not None
    async with raw_api(clocked_sim) as api:
        assert await _answer(api, first) == 0
    assert clocked_sim.customer_enters("wkSupport01", "wmfresh") is None
    assert "welcome_code" not in clocked_sim.messages("wkSupport01")[-1]["event"]
    clock.advance(48 * HOUR)
    assert clocked_sim.customer_enters("wkSupport01", "wmfresh") is not None
    clocked_sim.customer_says("wkSupport01", "wmtalker", HI)
    assert clocked_sim.customer_enters("wkSupport01", "wmtalker") is None
    clock.advance(48 * HOUR)
    assert clocked_sim.customer_enters("wkSupport01", "wmtalker") is not None
    # A welcome code that was never answered does not count as a welcome received.
    assert clocked_sim.customer_enters("wkSupport01", "wmtalker") is not None
