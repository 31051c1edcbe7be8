"""Errcodes, lifetimes and small types of the simulator's message endpoints, in one place.

Documented errcodes come from the official errcode page (90313) as a generated SDK
table transcribes it (xen0n/go-workwx errcodes); the others are guesses, marked
*unverified*, kept here as data so that one edit changes them everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol

from ...models.event_codes import EVENT_CODE_RULES, EventCodeScene

__all__ = [
    "CALLBACK_TOKEN_TTL",
    "ERR_CURSOR_INVALID",
    "ERR_EMPTY_TEXT",
    "ERR_EVENT_CODE_INVALID",
    "ERR_MEDIA",
    "ERR_MENU_ITEM_TYPE",
    "ERR_MSGID_DUPLICATE",
    "ERR_MSGTYPE",
    "ERR_SEND_COUNT_LIMIT",
    "ERR_SEND_TIME_LIMIT",
    "ERR_SESSION_ENDED",
    "ERR_STATE_FORBIDS_SEND",
    "ERR_SYNC_TOKEN_INVALID",
    "ERR_TOO_MANY_MENU_ITEMS",
    "SYNC_WITHOUT_TOKEN_PER_MINUTE",
    "WELCOME_CODE_TTL",
    "WELCOME_WINDOW",
    "EventCode",
    "SendBuilder",
]

ERR_SEND_COUNT_LIMIT: Final = 95001
"""``send_msg``: 5 messages since the customer last wrote (发送客服消息次数限制)."""

ERR_SEND_TIME_LIMIT: Final = 95002
"""``send_msg``: the customer last wrote 48 hours ago or more, or never
(发送客服消息时间限制, page 90313 as transcribed; unverified against the page)."""

ERR_STATE_FORBIDS_SEND: Final = 95018
"""``send_msg``: the session is queued (2) or with a servicer (3). Also
``send_msg_on_event`` for a code whose session left the state the code came from
(page 96428 states the rule, not the errcode: the simulator's choice, unverified)."""

ERR_SESSION_ENDED: Final = 95013
"""``send_msg``: the session ended (4) and the customer has not written since (会话已经结束)."""

ERR_SYNC_TOKEN_INVALID: Final = 95007
"""``sync_msg``: the callback token is unknown, used, expired or another account's."""

ERR_MSGID_DUPLICATE: Final = 95010
"""``send_msg`` / ``send_msg_on_event``: the ``msgid`` was used on this account already.

**Unverified, invented**: no SDK, issue thread or docs transcription found gives
WeCom's answer to a repeated msgid (they only say it must be unique per account).
95010 is a gap in the official 95xxx table. Clients treat this answer, on a retry
carrying the same msgid, as success."""

ERR_CURSOR_INVALID: Final = 95020
"""``sync_msg``: the cursor is not one this simulator issued, belongs to another
``open_kfid``, or was last handed out over 3 days ago. **Unverified, invented**
(a gap in the official 95xxx table; WeCom's answer was not found)."""

ERR_EVENT_CODE_INVALID: Final = 41050
"""``send_msg_on_event``: the code is unknown, used or expired. **Unverified**: 41050
is WeCom's official "invalid welcome code" (无效的欢迎语code) of the customer-contact
welcome message, which has the same 20-second rule; the KF answer was not found."""

ERR_TOO_MANY_MENU_ITEMS: Final = 95008
"""A menu with more than 10 items (菜单消息的菜单项个数超过上限)."""

ERR_MENU_ITEM_TYPE: Final = 95009
"""A menu item of an unknown type (不合法的菜单消息的菜单项类型)."""

ERR_EMPTY_TEXT: Final = 44004
"""A text message without content (文本消息content参数为空)."""

ERR_MSGTYPE: Final = 40008
"""A msgtype the endpoint does not send (不合法的msgtype参数); also a menu answering a
queue or pick-up code, which take text only (page 96428 states the rule, not the
errcode: the simulator's choice, unverified)."""

ERR_MEDIA: Final = 40007
"""A ``media_id`` / ``thumb_media_id`` the corp does not hold (不合法的media_id参数)."""

WELCOME_CODE_TTL: Final = EVENT_CODE_RULES[EventCodeScene.ENTER_SESSION].lifetime
"""Seconds a ``welcome_code`` from ``enter_session`` may be answered (20). The other
codes live as their scene's rule says: 48 hours for a queue or pick-up code, 20
seconds for an end code (page 96428)."""

WELCOME_WINDOW: Final = 48 * 3600.0
"""No ``welcome_code`` within this many seconds of a welcome message sent to the
customer, or of the customer's own message (page 96428)."""

CALLBACK_TOKEN_TTL: Final = 600.0
"""Seconds a callback's ``Token`` may be used (once) with ``sync_msg``."""

SYNC_WITHOUT_TOKEN_PER_MINUTE: Final = 60
"""Default of :attr:`MessagesMixin.sync_msg_without_token_per_minute` (WeCom only
says "strictly limited"; this number is a choice)."""


class SendBuilder(Protocol):
    """What ``customer_says`` accepts besides a dict: the library's send builders."""

    @property
    def msgtype(self) -> str:
        """The msgtype, also the key of the body."""
        ...

    def body(self) -> dict[str, Any]:
        """The object under the msgtype key."""
        ...


@dataclass
class EventCode:
    """A code ``send_msg_on_event`` accepts once: a ``welcome_code`` or a ``msg_code``."""

    code: str
    #: ``"welcome"`` or ``"msg"``.
    kind: str
    open_kfid: str
    external_userid: str
    expires_at: float
    used: bool = False
    #: The scene it was handed out in (page 96428).
    scene: EventCodeScene | None = None
    #: The session state its message must find (``None``: any, for a welcome).
    state: int | None = None
