"""The bases every ``sync_msg`` item shares: common fields, ``Message``/``Event``, unknowns."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Any

import attrs

__all__ = [
    "Event",
    "KfMessage",
    "Message",
    "Origin",
    "UnknownEvent",
    "UnknownMessage",
    "withheld",
]


def withheld(value: object) -> str:
    """What a ``repr`` shows of a customer's content: whether it is there and its size.

    Logs and tracebacks print reprs, so a model's repr identifies it (msgid, msgtype,
    open_kfid, external_userid, ids and codes) and withholds what a customer wrote,
    shared or is: ``attrs.field(repr=withheld)``.
    """
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"<{len(value)} chars>"
    return "<withheld>"


#: A key a repr of ``raw`` names: what a JSON field name looks like, nothing else.
_FIELD_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")


def _raw_repr(raw: object) -> str:
    if isinstance(raw, dict):
        names = sorted(key if _FIELD_NAME.fullmatch(str(key)) else "?" for key in raw)
        return f"<dict of {len(raw)} keys: {', '.join(names[:8])}>"
    return f"<{type(raw).__name__}>"


class Origin(enum.IntEnum):
    """Who wrote a ``sync_msg`` item (its ``origin``)."""

    #: A WeChat customer (微信客户发送的消息).
    CUSTOMER = 3
    #: WeCom itself: every event comes with this origin (系统推送的事件消息).
    SYSTEM = 4
    #: A servicer, from the WeCom app (接待人员在企业微信客户端发送的消息).
    SERVICER = 5


@attrs.frozen(kw_only=True)
class KfMessage:
    """One item of ``sync_msg``'s ``msg_list``: a :class:`Message` or an :class:`Event`.

    Every item has these fields. ``send_time`` is an aware UTC datetime (WeCom sends
    epoch seconds); ``origin`` is an :class:`Origin` (an undocumented one stays a
    plain int). An event carries ``open_kfid``/``external_userid`` inside its
    ``event`` object: they are taken from there.
    """

    #: WeCom's id of the message (or event), unique per KF account.
    msgid: str
    #: ``text``, ``image``, ..., or ``event``.
    msgtype: str
    #: When it was sent, as an aware UTC datetime.
    send_time: datetime
    #: Who wrote it.
    origin: Origin | int
    #: The KF account.
    open_kfid: str | None = None
    #: The customer.
    external_userid: str | None = None
    #: The servicer, for a message a servicer sent from the WeCom app (origin 5) and
    #: for events about a servicer.
    servicer_userid: str | None = None


@attrs.frozen(kw_only=True)
class Message(KfMessage):
    """The base of every message (``<Kind>Message``): its body is under ``msgtype``.

    ``msg.text.content``, ``msg.image.media_id``: the body attribute is named after
    the msgtype and keeps WeCom's field names.
    """


@attrs.frozen(kw_only=True)
class Event(KfMessage):
    """The base of every event (``<Kind>Event``, ``msgtype == "event"``).

    Each event carries its own fields as attributes beside the common ones
    (``event.welcome_code``, ``event.fail_msgid``).
    """

    msgtype: str = "event"
    #: ``enter_session``, ``msg_send_fail``, ...
    event_type: str


@attrs.frozen(kw_only=True)
class UnknownMessage(Message):
    """A ``msg_list`` item no model fits: an unknown msgtype, or a malformed known one.

    Nothing is dropped: :attr:`raw` is the item exactly as WeCom sent it. The common
    fields are those WeCom sent in a usable shape; the others are empty (``""``,
    ``0``, the Unix epoch). A malformed item was logged (its msgid and msgtype,
    never its content) when it was read.
    """

    #: Whether a known msgtype was malformed (``False``: the msgtype is unknown).
    malformed: bool = False
    #: The item as WeCom sent it: normally a dict, anything if WeCom sent worse.
    raw: Any = attrs.field(repr=_raw_repr, hash=False)


@attrs.frozen(kw_only=True)
class UnknownEvent(Event):
    """An event no model fits: an unknown ``event_type``, or a malformed known one.

    :attr:`raw` is the whole ``msg_list`` item as WeCom sent it; ``event_type`` is
    the one WeCom named (``""`` if it named none).
    """

    #: Whether a known event_type was malformed (``False``: the type is unknown).
    malformed: bool = False
    #: The item as WeCom sent it.
    raw: dict[str, Any] = attrs.field(repr=_raw_repr, hash=False)
