"""Tests of the typed sync_msg messages and events: the tagged union, unknowns, malformed items."""

from __future__ import annotations

import copy
import enum
import logging
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from wecom_kf_async.models import (
    EVENT_TYPES,
    MESSAGE_TYPES,
    ChannelsScene,
    EnterSessionEvent,
    Event,
    FailType,
    ImageMessage,
    KfMessage,
    LocationMessage,
    MediaBody,
    Message,
    MsgSendFailEvent,
    Origin,
    SessionStatusChangeEvent,
    TextBody,
    TextMessage,
    UnknownEvent,
    UnknownMessage,
    WechatChannels,
    converter,
    structure_message,
    structure_messages,
)
from wecom_kf_async.models._fast import Malformed
from wecom_kf_async.testing.samples import (
    EVENT_SAMPLES,
    MESSAGE_SAMPLES,
    event_sample,
    message_sample,
)

LOGGER = "wecom_kf_async"
#: Words a customer wrote: they must never reach a log line.
SECRET = "my card number is 6222 0000 1111 2222"
_TOP_LEVEL = ("msgid", "msgtype", "send_time", "origin")


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _json_of(value: Any) -> Any:
    """A model back in WeCom's JSON shape (None fields left out), for round trips."""
    if attrs.has(type(value)):
        return {
            field.name: _json_of(getattr(value, field.name))
            for field in attrs.fields(type(value))
            if getattr(value, field.name) is not None
        }
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, tuple):
        return [_json_of(item) for item in value]
    if isinstance(value, enum.IntEnum):
        return int(value)
    return value


def _event_json_of(event: Event) -> dict[str, Any]:
    flat = _json_of(event)
    top = {key: flat.pop(key) for key in _TOP_LEVEL}
    return {**top, "event": flat}


@pytest.mark.parametrize("msgtype", sorted(MESSAGE_SAMPLES))
def test_every_msgtype_round_trips_from_its_sample(msgtype: str) -> None:
    """Each documented msgtype becomes its <Kind>Message and every field survives the trip."""
    sample = MESSAGE_SAMPLES[msgtype]
    msg = structure_message(copy.deepcopy(sample))
    assert type(msg) is MESSAGE_TYPES[msgtype]
    assert (
        type(msg).__name__
        == _camel(msgtype).replace("Miniprogram", "MiniProgram").replace("Msgmenu", "MsgMenu")
        + "Message"
    )
    assert isinstance(msg, Message)
    assert _json_of(msg) == sample


@pytest.mark.parametrize("event_type", sorted(EVENT_SAMPLES))
def test_every_event_type_round_trips_from_its_sample(event_type: str) -> None:
    """Each documented event_type becomes its <Kind>Event with its fields as attributes."""
    sample = EVENT_SAMPLES[event_type]
    event = structure_message(copy.deepcopy(sample))
    assert type(event) is EVENT_TYPES[event_type]
    assert type(event).__name__ == _camel(event_type) + "Event"
    assert isinstance(event, Event)
    assert event.msgtype == "event"
    assert event.event_type == event_type
    assert _event_json_of(event) == sample


def test_every_class_has_a_sample_and_every_sample_a_class() -> None:
    """The samples and the tagged union cover the same msgtypes and event types."""
    assert set(MESSAGE_SAMPLES) == set(MESSAGE_TYPES)
    assert set(EVENT_SAMPLES) == set(EVENT_TYPES)


def test_bodies_and_event_fields_keep_wecoms_names() -> None:
    """msg.text.content, msg.image.media_id, event.welcome_code, event.fail_msgid read as sent."""
    text = structure_message(MESSAGE_SAMPLES["text"])
    image = structure_message(MESSAGE_SAMPLES["image"])
    enter = structure_message(EVENT_SAMPLES["enter_session"])
    fail = structure_message(EVENT_SAMPLES["msg_send_fail"])
    assert isinstance(text, TextMessage)
    assert text.text.content == "Hello, is anyone there?"
    assert text.text.menu_id == "101"
    assert isinstance(image, ImageMessage)
    assert image.image.media_id == MESSAGE_SAMPLES["image"]["image"]["media_id"]
    assert isinstance(enter, EnterSessionEvent)
    assert enter.welcome_code == "aaaaaa-WELCOME-CODE-bbbbbb"
    assert enter.wechat_channels == WechatChannels(
        nickname="Tea House Channel", scene=ChannelsScene.HOME_PAGE
    )
    assert isinstance(fail, MsgSendFailEvent)
    assert fail.fail_msgid == "bot-reply-0001"
    assert fail.fail_type is FailType.SESSION_EXPIRED


def test_structured_equals_the_model_built_by_its_init() -> None:
    """Setting slots directly builds the same object as the attrs __init__ does."""
    built = TextMessage(
        msgid="m1",
        send_time=datetime.fromtimestamp(1_700_000_000, UTC),
        origin=Origin.CUSTOMER,
        open_kfid="wk1",
        external_userid="wm1",
        text=TextBody(content="hi"),
    )
    raw = {
        "msgid": "m1",
        "send_time": 1_700_000_000,
        "origin": 3,
        "open_kfid": "wk1",
        "external_userid": "wm1",
        "msgtype": "text",
        "text": {"content": "hi"},
    }
    assert structure_message(raw) == built
    assert hash(structure_message(raw)) == hash(built)


def test_event_ids_come_from_the_event_object_else_the_top_level() -> None:
    """An event's open_kfid/external_userid are read inside "event", then at the top level."""
    raw = event_sample("user_recall_msg")
    inner = raw["event"]
    del inner["open_kfid"]
    raw["open_kfid"] = "wk-top"
    event = structure_message(raw)
    assert event.open_kfid == "wk-top"
    assert event.external_userid == inner["external_userid"]


def test_send_time_is_an_aware_utc_datetime() -> None:
    """send_time (epoch seconds) becomes an aware datetime in UTC, the same instant."""
    msg = structure_message(message_sample("text", send_time=1_700_000_000))
    assert msg.send_time.tzinfo is not None
    assert msg.send_time.utcoffset() is not None
    assert msg.send_time == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert msg.send_time.timestamp() == 1_700_000_000


def test_undocumented_codes_stay_plain_ints() -> None:
    """Codes no enum documents (origin, fail_type, change_type, sub_type, scene) stay ints."""
    text = structure_message(message_sample("text", origin=9))
    fail = structure_message(event_sample("msg_send_fail", fail_type=13))
    change = structure_message(event_sample("session_status_change", change_type=7))
    channels = structure_message(message_sample("channels", channels={"sub_type": 99}))
    enter = structure_message(event_sample("enter_session", wechat_channels={"scene": 42}))
    assert type(text.origin) is int
    assert text.origin == 9
    assert isinstance(fail, MsgSendFailEvent)
    assert type(fail.fail_type) is int
    assert fail.fail_type == 13
    assert isinstance(change, SessionStatusChangeEvent)
    assert type(change.change_type) is int
    assert change.change_type == 7
    assert type(channels.channels.sub_type) is int  # type: ignore[attr-defined]
    assert isinstance(enter, EnterSessionEvent)
    assert enter.wechat_channels is not None
    assert type(enter.wechat_channels.scene) is int
    assert enter.wechat_channels.scene == 42


def test_documented_codes_become_enum_members() -> None:
    """Documented codes are members of their IntEnum, equal to the code."""
    msg = structure_message(MESSAGE_SAMPLES["text"])
    assert msg.origin is Origin.CUSTOMER
    assert structure_message(EVENT_SAMPLES["enter_session"]).origin is Origin.SYSTEM
    assert structure_message(MESSAGE_SAMPLES["msgmenu"]).origin is Origin.SERVICER


def test_unknown_fields_are_tolerated_and_optional_fields_may_be_absent() -> None:
    """New fields WeCom adds are ignored; a text without menu_id has menu_id None."""
    raw = message_sample("text", brand_new_field={"x": 1}, text={"content": "hi", "extra": 1})
    msg = structure_message(raw)
    assert isinstance(msg, TextMessage)
    assert msg.text == TextBody(content="hi", menu_id=None)


def test_numbers_and_either_typed_fields_accept_their_documented_shapes() -> None:
    """An integer latitude becomes a float; a merged item's msgtype may be a string or an int."""
    location = structure_message(
        message_sample("location", location={"latitude": 23, "longitude": 113.5})
    )
    assert isinstance(location, LocationMessage)
    assert location.location.latitude == 23.0
    assert type(location.location.latitude) is float
    merged = message_sample("merged_msg")
    merged["merged_msg"]["item"][0]["msgtype"] = 1
    assert type(structure_message(merged)).__name__ == "MergedMsgMessage"


def test_an_unknown_msgtype_survives_as_unknown_message_with_raw(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A msgtype no model knows becomes UnknownMessage carrying the raw dict, without a warning."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    raw = message_sample("text", msgtype="hologram", hologram={"beam": 1})
    del raw["text"]
    msg = structure_message(raw)
    assert type(msg) is UnknownMessage
    assert msg.raw is raw
    assert msg.malformed is False
    assert (msg.msgid, msg.msgtype, msg.external_userid) == (
        raw["msgid"],
        "hologram",
        raw["external_userid"],
    )
    assert msg.send_time == datetime.fromtimestamp(raw["send_time"], UTC)
    assert caplog.records == []


def test_an_unknown_event_type_survives_as_unknown_event_with_raw() -> None:
    """An event_type no model knows becomes UnknownEvent with raw, its name and its ids."""
    raw = event_sample("enter_session", event_type="teleport")
    event = structure_message(raw)
    assert type(event) is UnknownEvent
    assert event.raw is raw
    assert event.event_type == "teleport"
    assert event.malformed is False
    assert event.open_kfid == raw["event"]["open_kfid"]


def _text_with_secret(**fields: Any) -> dict[str, Any]:
    return message_sample("text", **{"text": {"content": SECRET, "menu_id": "1"}, **fields})


def _broken(kind: str) -> dict[str, Any]:
    """A known item made malformed in one way, each carrying the customer's words."""
    if kind == "content not a string":
        return message_sample("text", text={"content": 12345, "menu_id": SECRET})
    if kind == "msgid missing":
        raw = _text_with_secret()
        del raw["msgid"]
        return raw
    if kind == "msgid null":
        return _text_with_secret(msgid=None)
    if kind == "msgtype missing":
        raw = _text_with_secret()
        del raw["msgtype"]
        return raw
    if kind == "send_time a string":
        return _text_with_secret(send_time="1700000000")
    if kind == "send_time out of range":
        return _text_with_secret(send_time=10**20)
    if kind == "origin a bool":
        return _text_with_secret(origin=True)
    if kind == "body missing":
        raw = _text_with_secret()
        del raw["text"]
        raw["note"] = SECRET
        return raw
    if kind == "body not an object":
        return _text_with_secret(text=[SECRET])
    if kind == "nested list not an array":
        return message_sample("msgmenu", msgmenu={"head_content": SECRET, "list": {"a": 1}})
    if kind == "nested item field wrong":
        menu = message_sample("msgmenu")
        menu["msgmenu"]["head_content"] = SECRET
        menu["msgmenu"]["list"][0]["click"]["id"] = 7
        return menu
    if kind == "latitude a string":
        return message_sample(
            "location", location={"latitude": "23.1", "longitude": 1, "name": SECRET}
        )
    if kind == "event field wrong":
        return event_sample("msg_send_fail", fail_msgid=42, open_kfid=SECRET)
    if kind == "event channels scene a string":
        return event_sample("enter_session", wechat_channels={"scene": "1"}, scene_param=SECRET)
    raise AssertionError(kind)


BROKEN = [
    "content not a string",
    "msgid missing",
    "msgid null",
    "msgtype missing",
    "send_time a string",
    "send_time out of range",
    "origin a bool",
    "body missing",
    "body not an object",
    "nested list not an array",
    "nested item field wrong",
    "latitude a string",
    "event field wrong",
    "event channels scene a string",
]


@pytest.mark.parametrize("kind", BROKEN)
def test_a_malformed_known_item_is_kept_as_unknown_and_logged_once_without_content(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A known type with a malformed field becomes Unknown* with raw, logged once, no content."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    raw = _broken(kind)
    model = structure_message(raw)
    expected = UnknownEvent if raw.get("msgtype") == "event" else UnknownMessage
    assert type(model) is expected
    assert model.raw is raw
    assert model.malformed is True
    assert len(caplog.records) == 1
    record = caplog.records[0]
    assert record.levelno == logging.WARNING
    assert str(raw.get("msgtype")) in record.getMessage()
    if isinstance(raw.get("msgid"), str):
        assert raw["msgid"] in record.getMessage()
    assert SECRET not in caplog.text
    assert "6222" not in caplog.text


def test_a_malformed_item_never_sinks_its_page(caplog: pytest.LogCaptureFixture) -> None:
    """structure_messages keeps every item, in order, whatever is wrong with some of them."""
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    good = [
        copy.deepcopy(sample) for sample in (*MESSAGE_SAMPLES.values(), *EVENT_SAMPLES.values())
    ]
    broken = [_broken(kind) for kind in BROKEN]
    oddities: list[Any] = ["a string", 7, None, [1, 2], {"msgtype": ["not", "hashable"]}]
    items = [*good, *broken, *oddities]
    out = structure_messages(items)
    assert len(out) == len(items)
    assert [type(m) for m in out[: len(good)]] == [
        *MESSAGE_TYPES.values(),
        *EVENT_TYPES.values(),
    ]
    assert all(isinstance(m, UnknownMessage | UnknownEvent) for m in out[len(good) :])
    assert [m.raw for m in out[len(good) :]] == [*broken, *oddities]  # type: ignore[attr-defined]
    assert len(caplog.records) == len(broken) + len(oddities)
    assert SECRET not in caplog.text
    assert out == [structure_message(item) for item in items]


def test_an_item_that_is_not_an_object_becomes_unknown_message() -> None:
    """A msg_list element that is not even a dict is an UnknownMessage keeping it as raw."""
    msg = structure_message(["odd"])
    assert type(msg) is UnknownMessage
    assert msg.raw == ["odd"]
    assert msg.malformed is True
    assert (msg.msgid, msg.msgtype, msg.origin) == ("", "", 0)


def test_structure_messages_refuses_a_msg_list_that_is_not_an_array() -> None:
    """A msg_list that is not a JSON array is a malformed answer: TypeError naming it."""
    with pytest.raises(TypeError, match="msg_list"):
        structure_messages({"msgid": "x"})


def test_the_converter_structures_the_union_and_each_type_strictly() -> None:
    """converter.structure(raw, KfMessage) is the union; a concrete type raises on a bad item."""
    assert type(converter.structure(MESSAGE_SAMPLES["voice"], KfMessage)).__name__ == "VoiceMessage"
    unknown = converter.structure({"msgtype": "hologram"}, KfMessage)
    assert type(unknown) is UnknownMessage
    assert converter.structure(MESSAGE_SAMPLES["text"], TextMessage).text.content
    with pytest.raises(Malformed, match=r"text\.content"):
        converter.structure(message_sample("text", text={"content": 1}), TextMessage)


def test_pattern_matching_reads_naturally() -> None:
    """match/case on the classes and their attributes picks the right branch for each item."""
    items = [
        MESSAGE_SAMPLES["text"],
        MESSAGE_SAMPLES["image"],
        EVENT_SAMPLES["enter_session"],
        EVENT_SAMPLES["msg_send_fail"],
        {"msgtype": "hologram"},
    ]
    seen = []
    for msg in structure_messages(items):
        match msg:
            case TextMessage(text=t):
                seen.append(("text", t.content))
            case ImageMessage(image=MediaBody(media_id=media_id)):
                seen.append(("image", media_id))
            case EnterSessionEvent(welcome_code=str(code)):
                seen.append(("welcome", code))
            case MsgSendFailEvent(fail_type=FailType.SESSION_EXPIRED, fail_msgid=failed):
                seen.append(("expired", failed))
            case UnknownMessage(raw=raw):
                seen.append(("unknown", raw["msgtype"]))
    assert seen == [
        ("text", "Hello, is anyone there?"),
        ("image", MESSAGE_SAMPLES["image"]["image"]["media_id"]),
        ("welcome", "aaaaaa-WELCOME-CODE-bbbbbb"),
        ("expired", "bot-reply-0001"),
        ("unknown", "hologram"),
    ]


def test_repr_cuts_long_customer_text_short() -> None:
    """The repr of a long text message or an unknown item stays short."""
    long_text = "x" * 10_000
    msg = structure_message(message_sample("text", text={"content": long_text}))
    assert len(repr(msg)) < 800
    assert "10000 chars" in repr(msg)
    unknown = structure_message({"msgtype": "hologram", "payload": long_text})
    assert long_text not in repr(unknown)
    assert len(repr(unknown)) < 400


def test_models_are_frozen() -> None:
    """A structured message cannot be changed in place."""
    msg = structure_message(MESSAGE_SAMPLES["text"])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        msg.msgid = "other"  # type: ignore[misc]
