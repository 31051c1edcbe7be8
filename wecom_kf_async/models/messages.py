"""Messages in ``sync_msg``, one class per msgtype, and the one structuring of ``msg_list``.

Each ``<Kind>Message`` has the common fields of :class:`KfMessage` and its body
under the msgtype key, with WeCom's field names (``msg.text.content``,
``msg.image.media_id``). :func:`structure_message` is a tagged union on
``msgtype`` (and on ``event_type`` for events) that never raises: an unknown type
becomes :class:`UnknownMessage` / :class:`UnknownEvent` with ``.raw``, and so does a
known type with a malformed field (logged with its msgid and msgtype, never its
content). Every class is registered in :data:`MESSAGE_TYPES` by the default of its
``msgtype`` field: adding a msgtype is a body class and a class of a few lines.

``converter.structure(raw, KfMessage)`` goes the same way; ``converter.structure(raw,
TextMessage)`` structures strictly and raises on a malformed item.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

import attrs

from .._constants import LOGGER_NAME
from ._converter import converter
from ._fast import Malformed, compile_hook, hook_of
from ._kf import Event, KfMessage, Message, Origin, UnknownEvent, UnknownMessage, _raw_repr
from .events import EVENT_TYPES
from .message_bodies import (
    BusinessCardBody,
    ChannelsBody,
    ChannelsShopOrderBody,
    ChannelsShopProductBody,
    LinkBody,
    LocationBody,
    MediaBody,
    MergedMsgBody,
    MiniProgramBody,
    MsgMenuBody,
    NoteBody,
    TextBody,
)

__all__ = [
    "MESSAGE_TYPES",
    "BusinessCardMessage",
    "ChannelsMessage",
    "ChannelsShopOrderMessage",
    "ChannelsShopProductMessage",
    "Event",
    "FileMessage",
    "ImageMessage",
    "KfMessage",
    "LinkMessage",
    "LocationMessage",
    "MeetingMessage",
    "MergedMsgMessage",
    "Message",
    "MiniProgramMessage",
    "MsgMenuMessage",
    "NoteMessage",
    "Origin",
    "ScheduleMessage",
    "TextMessage",
    "UnknownEvent",
    "UnknownMessage",
    "VideoMessage",
    "VoiceMessage",
    "structure_message",
    "structure_messages",
]

logger = logging.getLogger(LOGGER_NAME)


@attrs.frozen(kw_only=True)
class TextMessage(Message):
    """``text``: ``msg.text.content`` (and ``msg.text.menu_id`` after a menu click)."""

    msgtype: str = "text"
    text: TextBody


@attrs.frozen(kw_only=True)
class ImageMessage(Message):
    """``image``: ``msg.image.media_id``."""

    msgtype: str = "image"
    image: MediaBody


@attrs.frozen(kw_only=True)
class VoiceMessage(Message):
    """``voice``: ``msg.voice.media_id`` (AMR, or SILK with ``voice_format=1``)."""

    msgtype: str = "voice"
    voice: MediaBody


@attrs.frozen(kw_only=True)
class VideoMessage(Message):
    """``video``: ``msg.video.media_id``."""

    msgtype: str = "video"
    video: MediaBody


@attrs.frozen(kw_only=True)
class FileMessage(Message):
    """``file``: ``msg.file.media_id``."""

    msgtype: str = "file"
    file: MediaBody


@attrs.frozen(kw_only=True)
class LocationMessage(Message):
    """``location``: ``msg.location.latitude``, ``longitude``, ``name``, ``address``."""

    msgtype: str = "location"
    location: LocationBody


@attrs.frozen(kw_only=True)
class LinkMessage(Message):
    """``link``: ``msg.link.title``, ``desc``, ``url``, ``pic_url``."""

    msgtype: str = "link"
    link: LinkBody


@attrs.frozen(kw_only=True)
class BusinessCardMessage(Message):
    """``business_card``: ``msg.business_card.userid``."""

    msgtype: str = "business_card"
    business_card: BusinessCardBody


@attrs.frozen(kw_only=True)
class MiniProgramMessage(Message):
    """``miniprogram``: ``msg.miniprogram.appid``, ``title``, ``pagepath``, ..."""

    msgtype: str = "miniprogram"
    miniprogram: MiniProgramBody


@attrs.frozen(kw_only=True)
class MsgMenuMessage(Message):
    """``msgmenu``: ``msg.msgmenu.head_content``, ``list``, ``tail_content``."""

    msgtype: str = "msgmenu"
    msgmenu: MsgMenuBody


@attrs.frozen(kw_only=True)
class ChannelsShopProductMessage(Message):
    """``channels_shop_product``: a Channels shop product (``msg.channels_shop_product``)."""

    msgtype: str = "channels_shop_product"
    channels_shop_product: ChannelsShopProductBody


@attrs.frozen(kw_only=True)
class ChannelsShopOrderMessage(Message):
    """``channels_shop_order``: a Channels shop order (``msg.channels_shop_order``)."""

    msgtype: str = "channels_shop_order"
    channels_shop_order: ChannelsShopOrderBody


@attrs.frozen(kw_only=True)
class MergedMsgMessage(Message):
    """``merged_msg``: a forwarded chat history, ``msg.merged_msg.item`` its messages."""

    msgtype: str = "merged_msg"
    merged_msg: MergedMsgBody


@attrs.frozen(kw_only=True)
class ChannelsMessage(Message):
    """``channels``: a WeChat Channels post, live stream or card (``msg.channels``)."""

    msgtype: str = "channels"
    channels: ChannelsBody


@attrs.frozen(kw_only=True)
class NoteMessage(Message):
    """``note``: a WeChat note (``msg.note`` has no documented fields; **unverified**)."""

    msgtype: str = "note"
    note: NoteBody = attrs.field(default=NoteBody())


@attrs.frozen(kw_only=True)
class MeetingMessage(Message):
    """``meeting`` (会议消息, page 94699): ``msg.meeting`` is the body as sent (a dict).

    Its fields were not read, so none is typed; the msgtype name is **unverified**.
    """

    msgtype: str = "meeting"
    meeting: dict[str, Any] = attrs.field(repr=_raw_repr, hash=False)


@attrs.frozen(kw_only=True)
class ScheduleMessage(Message):
    """``schedule`` (日程消息, page 94699): ``msg.schedule`` is the body as sent (a dict).

    As :class:`MeetingMessage`, no field is typed; the msgtype name is **unverified**.
    """

    msgtype: str = "schedule"
    schedule: dict[str, Any] = attrs.field(repr=_raw_repr, hash=False)


#: Each message class by its ``msgtype`` (read-only).
MESSAGE_TYPES: Mapping[str, type[Message]] = MappingProxyType(
    {
        attrs.fields(cls).msgtype.default: cls
        for cls in (
            TextMessage,
            ImageMessage,
            VoiceMessage,
            VideoMessage,
            FileMessage,
            LocationMessage,
            LinkMessage,
            BusinessCardMessage,
            MiniProgramMessage,
            MsgMenuMessage,
            ChannelsShopProductMessage,
            ChannelsShopOrderMessage,
            MergedMsgMessage,
            ChannelsMessage,
            NoteMessage,
            MeetingMessage,
            ScheduleMessage,
        )
    }
)

_MESSAGE_HOOKS: dict[str, Callable[[Any], Message]] = {
    msgtype: compile_hook(cls) for msgtype, cls in MESSAGE_TYPES.items()
}
_EVENT_HOOKS: dict[str, Callable[[Any], Event]] = {
    event_type: hook_of(cls) for event_type, cls in EVENT_TYPES.items()
}


def _structure_event(raw: dict[str, Any]) -> KfMessage:
    """An event by its ``event_type`` (raises :class:`Malformed` if malformed)."""
    inner = raw.get("event")
    if type(inner) is dict:
        event_type = inner.get("event_type")
        if type(event_type) is str:
            hook = _EVENT_HOOKS.get(event_type)
            if hook is not None:
                return hook(raw)
    return _unknown(raw, malformed=False)


#: The hook of each msgtype, ``event`` included.
_FAST_HOOKS: dict[str, Callable[[Any], KfMessage]] = {**_MESSAGE_HOOKS, "event": _structure_event}

_EPOCH = datetime.fromtimestamp(0, UTC)
_ORIGINS: dict[int, Origin] = {member.value: member for member in Origin}


def _usable(raw: Mapping[str, Any], key: str, kind: type) -> Any:
    value = raw.get(key)
    return value if type(value) is kind else None


def _common(raw: Any, inner: Any = None) -> dict[str, Any]:
    """The common fields WeCom sent in a usable shape; the others empty."""
    if type(raw) is not dict:
        return {"msgid": "", "msgtype": "", "send_time": _EPOCH, "origin": 0}
    send_time = _usable(raw, "send_time", int)
    try:
        when = _EPOCH if send_time is None else datetime.fromtimestamp(send_time, UTC)
    except (OverflowError, OSError, ValueError):
        when = _EPOCH
    origin = _usable(raw, "origin", int)
    places = (inner, raw) if type(inner) is dict else (raw,)
    ids = {
        key: next((v for place in places if (v := _usable(place, key, str)) is not None), None)
        for key in ("open_kfid", "external_userid", "servicer_userid")
    }
    return {
        "msgid": _usable(raw, "msgid", str) or "",
        "msgtype": _usable(raw, "msgtype", str) or "",
        "send_time": when,
        "origin": _ORIGINS.get(origin, origin) if origin is not None else 0,
        **ids,
    }


def _unknown(raw: Any, *, malformed: bool) -> KfMessage:
    """An :class:`UnknownEvent` for an event, else an :class:`UnknownMessage`."""
    if type(raw) is dict and raw.get("msgtype") == "event":
        inner = raw.get("event")
        event_type = inner.get("event_type") if type(inner) is dict else None
        return UnknownEvent(
            **_common(raw, inner),
            event_type=event_type if type(event_type) is str else "",
            malformed=malformed,
            raw=raw,
        )
    return UnknownMessage(**_common(raw), malformed=malformed, raw=raw)


def _log_malformed(raw: dict[str, Any], exc: Exception) -> None:
    """Log a malformed item: its msgid, msgtype (event_type) and the problem, no content."""
    msgid, msgtype = raw.get("msgid"), raw.get("msgtype")
    if msgtype == "event" and type(raw.get("event")) is dict:
        msgtype = f"event/{raw['event'].get('event_type')}"
    problem = str(exc) if isinstance(exc, TypeError) else type(exc).__name__
    logger.warning(
        "sync_msg item msgid=%.64r msgtype=%.64r is malformed, kept as unknown: %s",
        msgid,
        msgtype,
        problem[:200],
    )


def structure_message(raw: Any) -> KfMessage:
    """Structure one ``msg_list`` item into its ``<Kind>Message`` or ``<Kind>Event``.

    Never raises and never drops the item: an unknown msgtype or event_type becomes
    :class:`UnknownMessage` / :class:`UnknownEvent` with ``.raw``; a known type with
    a field of the wrong JSON type or a required field missing (such as ``msgid``)
    is logged (msgid and msgtype only) and kept the same way, with ``malformed``
    set. So is an item whose msgtype is missing or not a string, and one that is
    not even a JSON object.

    Args:
        raw: One item of ``msg_list``, as ``json.loads`` made it.

    Returns:
        The typed message or event.
    """
    try:
        if type(raw) is dict:
            msgtype = raw.get("msgtype")
            if type(msgtype) is not str:
                raise Malformed("msgtype", "a string", msgtype)
            hook = _FAST_HOOKS.get(msgtype)
            return _unknown(raw, malformed=False) if hook is None else hook(raw)
        exc: Exception = TypeError(f"the item must be an object, got {type(raw).__name__}")
    except Exception as caught:
        exc = caught
    if type(raw) is dict:
        _log_malformed(raw, exc)
    else:
        logger.warning("sync_msg item is malformed, kept as unknown: %s", exc)
    return _unknown(raw, malformed=True)


def structure_messages(raw_list: Any) -> list[KfMessage]:
    """Structure a ``msg_list`` JSON array, item by item (see :func:`structure_message`).

    Args:
        raw_list: ``msg_list`` as ``json.loads`` made it.

    Returns:
        One model per item, in order: no item is dropped, none raises.

    Raises:
        TypeError: *raw_list* is not a JSON array (the answer itself is malformed).
    """
    if type(raw_list) is not list:
        raise TypeError(f"msg_list must be an array, got {type(raw_list).__name__}")
    # The fast path: one dict lookup and the type's hook. Anything unusual (an
    # unknown type, a malformed item, not an object) takes structure_message's path,
    # which sorts it out, logs once if malformed, and never raises.
    out: list[KfMessage] = []
    append, fast = out.append, _FAST_HOOKS
    for item in raw_list:
        try:
            append(fast[item["msgtype"]](item))
        except Exception:
            append(structure_message(item))
    return out


def _structure_kf_message(raw: Any, _: object = None) -> KfMessage:
    return structure_message(raw)


def _structure_unknown_message(raw: Any, _: object = None) -> KfMessage:
    return _unknown(raw, malformed=False)


converter.register_structure_hook(KfMessage, _structure_kf_message)
converter.register_structure_hook(UnknownMessage, _structure_unknown_message)
converter.register_structure_hook(UnknownEvent, _structure_unknown_message)
