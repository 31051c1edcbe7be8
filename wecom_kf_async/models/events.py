"""Events in ``sync_msg`` (``msgtype == "event"``), one class per ``event_type``.

An event's own fields live in WeCom's ``event`` object; each model carries them as
its own attributes beside the common ones (``event.welcome_code``,
``event.fail_msgid``). ``open_kfid``, ``external_userid`` and ``servicer_userid``
are read from the ``event`` object, else from the top level. Documented codes are
enums; undocumented ones stay plain ints. Every class here is registered in
:data:`EVENT_TYPES` by the default of its ``event_type`` field: adding an event
type is a class of a few lines.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

import attrs

from ._fast import compile_hook
from ._kf import Event, KfMessage, withheld
from .customers import WechatChannels
from .event_codes import EventCode, EventCodeScene, scene_of_change
from .servicers import StopType

__all__ = [
    "EVENT_TYPES",
    "EnterSessionEvent",
    "FailType",
    "MsgSendFailEvent",
    "ReceptionStatus",
    "RejectCustomerMsgSwitchChangeEvent",
    "RejectSwitch",
    "ServicerRecallMsgEvent",
    "ServicerStatusChangeEvent",
    "SessionChangeType",
    "SessionStatusChangeEvent",
    "UserRecallMsgEvent",
]


class FailType(enum.IntEnum):
    """Why a sent message failed (``msg_send_fail``'s ``fail_type``).

    SDKs also list 9 (no Channels account and corp not verified), 11 (no member
    logged in to the WeCom app), 12 and 13 (**unverified**): they stay plain ints.
    """

    UNKNOWN = 0
    #: The KF account was deleted.
    ACCOUNT_DELETED = 1
    #: The app was closed.
    APP_CLOSED = 2
    #: The session expired (more than 48 hours).
    SESSION_EXPIRED = 4
    #: The session was closed.
    SESSION_CLOSED = 5
    #: More than 5 messages were sent within 48 hours.
    OVER_LIMIT = 6
    #: No WeChat Channels account is bound.
    NO_CHANNELS = 7
    #: The corp is not verified.
    CORP_NOT_VERIFIED = 8
    #: The customer refuses messages.
    USER_REJECTED = 10


class ReceptionStatus(enum.IntEnum):
    """A servicer's new state in ``servicer_status_change`` (not ``servicer/list``'s codes)."""

    #: Receiving sessions (接待中).
    RECEIVING = 1
    #: Stopped receiving (停止接待).
    STOPPED = 2


class SessionChangeType(enum.IntEnum):
    """What happened to a session (``session_status_change``'s ``change_type``)."""

    #: A servicer picked it from the pool (从接待池接入会话).
    PICKED_FROM_POOL = 1
    #: It was transferred to another servicer (转接会话).
    TRANSFERRED = 2
    #: It was ended (结束会话).
    ENDED = 3
    #: It was re-opened (重新接入已结束/已转接会话).
    REOPENED = 4


class RejectSwitch(enum.IntEnum):
    """A servicer's choice in ``reject_customer_msg_switch_change`` (**unverified**)."""

    #: Accept the customer's messages again (取消拒收).
    ACCEPT = 0
    #: Refuse the customer's messages (拒收).
    REJECT = 1


@attrs.frozen(kw_only=True)
class EnterSessionEvent(Event):
    """``enter_session``: a customer opened the chat (from a contact link, Channels, ...).

    ``welcome_code`` answers with ``send_msg_on_event`` (one text or menu, within 20
    seconds, whatever the session's state). It is present only when the customer has
    received no welcome message in the past 48 hours and has not written to the
    account (page 96428). :attr:`event_code` is the code with its scene.
    """

    event_type: str = "enter_session"
    #: The contact link's ``scene``.
    scene: str | None = None
    #: The ``scene_param`` appended to the contact link.
    scene_param: str | None = attrs.field(default=None, repr=withheld)
    #: The code for one welcome message with ``send_msg_on_event``.
    welcome_code: str | None = attrs.field(default=None, repr=withheld)
    #: The WeChat Channels account the customer came from.
    wechat_channels: WechatChannels | None = None

    @property
    def event_code(self) -> EventCode | None:
        """``welcome_code`` as an :class:`EventCode` of the enter scene (``None`` if absent)."""
        code = self.welcome_code
        return None if not code else EventCode(code, EventCodeScene.ENTER_SESSION)


@attrs.frozen(kw_only=True)
class MsgSendFailEvent(Event):
    """``msg_send_fail``: a message sent with ``send_msg`` was not delivered."""

    event_type: str = "msg_send_fail"
    #: The ``msgid`` of the message that failed (the one ``send`` returned).
    fail_msgid: str
    #: Why (an undocumented code stays a plain int).
    fail_type: FailType | int = FailType.UNKNOWN


@attrs.frozen(kw_only=True)
class ServicerStatusChangeEvent(Event):
    """``servicer_status_change``: a servicer (``servicer_userid``) started or stopped."""

    event_type: str = "servicer_status_change"
    #: Receiving or stopped.
    status: ReceptionStatus | int | None = None
    #: When stopped: stopped or suspended.
    stop_type: StopType | int | None = None


@attrs.frozen(kw_only=True)
class SessionStatusChangeEvent(Event):
    """``session_status_change``: a session was picked, transferred, ended or re-opened.

    A pick from the pool (1) carries a ``msg_code`` for one text message (48 hours,
    while the servicer has the session); an end (3) one for a text or menu (20
    seconds, while the session stays ended). A transfer (2) and a re-open (4) carry
    none (page 96428). :attr:`event_code` is the code with its scene.
    """

    event_type: str = "session_status_change"
    #: What happened.
    change_type: SessionChangeType | int | None = None
    #: The servicer before (transfers and ends).
    old_servicer_userid: str | None = None
    #: The servicer after (picks and transfers).
    new_servicer_userid: str | None = None
    #: The code for one message with ``send_msg_on_event``.
    msg_code: str | None = attrs.field(default=None, repr=withheld)

    @property
    def event_code(self) -> EventCode | None:
        """``msg_code`` as an :class:`EventCode` (scene ``None`` for an undocumented change)."""
        code = self.msg_code
        return None if not code else EventCode(code, scene_of_change(self.change_type))


@attrs.frozen(kw_only=True)
class UserRecallMsgEvent(Event):
    """``user_recall_msg``: the customer recalled a message (**unverified** name)."""

    event_type: str = "user_recall_msg"
    #: The recalled message's ``msgid``.
    recall_msgid: str | None = None


@attrs.frozen(kw_only=True)
class ServicerRecallMsgEvent(Event):
    """``servicer_recall_msg``: a servicer recalled a message (**unverified** name)."""

    event_type: str = "servicer_recall_msg"
    #: The recalled message's ``msgid``.
    recall_msgid: str | None = None


@attrs.frozen(kw_only=True)
class RejectCustomerMsgSwitchChangeEvent(Event):
    """``reject_customer_msg_switch_change``: a servicer refused or re-accepted a customer.

    From SDKs only (**unverified**).
    """

    event_type: str = "reject_customer_msg_switch_change"
    #: Refuse or accept again.
    reject_switch: RejectSwitch | int | None = None


#: The top-level fields of an event (the rest are in its ``event`` object).
_TOP = frozenset({"msgid", "msgtype", "send_time", "origin"})
#: Fields an event carries in its ``event`` object, else at the top level.
_EITHER = frozenset({"open_kfid", "external_userid", "servicer_userid"})
assert {field.name for field in attrs.fields(KfMessage)} == _TOP | _EITHER  # noqa: S101

#: Each event class by its ``event_type`` (read-only).
EVENT_TYPES: Mapping[str, type[Event]] = MappingProxyType(
    {
        attrs.fields(cls).event_type.default: cls
        for cls in (
            EnterSessionEvent,
            MsgSendFailEvent,
            ServicerStatusChangeEvent,
            SessionStatusChangeEvent,
            UserRecallMsgEvent,
            ServicerRecallMsgEvent,
            RejectCustomerMsgSwitchChangeEvent,
        )
    }
)

for _cls in EVENT_TYPES.values():
    compile_hook(_cls, nested="event", top=_TOP, nested_first=_EITHER)
