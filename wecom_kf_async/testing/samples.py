"""Documented JSON examples of every ``sync_msg`` msgtype and event type (``msg_list`` items).

Each sample is one complete item of ``msg_list`` as ``kf/sync_msg`` returns it
(reference, section 3; WeCom's pages 94670/94699 and the SDKs that transcribe them):
the common fields, ``msgtype``, and the body under the key named after the msgtype
(``"text": {...}``), or ``"event": {...}`` with its ``event_type`` for an event.
The ids and texts are made up, in the shapes WeCom uses.

The mappings are read-only; the sample dicts inside are shared, so copy them before
changing anything: :func:`message_sample` and :func:`event_sample` return deep
copies with some fields replaced. Tests round-trip every sample through the models,
and the simulator serves them, so every documented type appears in its answers.

Facts marked *unverified* come from third-party SDKs only: the ``note`` body (no
fields known), ``merged_msg.item[].msgtype`` (a string here; one SDK reads an
integer), the recall event names and ``reject_customer_msg_switch_change``. The
``meeting`` and ``schedule`` bodies are made up (page 94699 lists the types; their
fields were not read).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

__all__ = [
    "EVENT_SAMPLES",
    "MESSAGE_SAMPLES",
    "SAMPLE_EXTERNAL_USERID",
    "SAMPLE_OPEN_KFID",
    "SAMPLE_SERVICER_USERID",
    "event_sample",
    "message_sample",
]

#: The KF account every sample belongs to.
SAMPLE_OPEN_KFID: Final = "wkAJ2GCAAAZSfhHCt7IFSvLKtMPxyJTw"
#: The customer every sample talks with.
SAMPLE_EXTERNAL_USERID: Final = "wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw"
#: The servicer of the samples sent from the WeCom app (origin 5) and of some events.
SAMPLE_SERVICER_USERID: Final = "zhangsan"

_SEND_TIME = 1_700_000_000
_CUSTOMER = 3
_SYSTEM = 4
_SERVICER = 5


def _message(
    msgtype: str, body: dict[str, Any], *, n: int, origin: int = _CUSTOMER
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "msgid": f"from_msgid_{4622416642169452000 + n}",
        "open_kfid": SAMPLE_OPEN_KFID,
        "external_userid": SAMPLE_EXTERNAL_USERID,
        "send_time": _SEND_TIME + n,
        "origin": origin,
        "msgtype": msgtype,
        msgtype: body,
    }
    if origin == _SERVICER:
        item["servicer_userid"] = SAMPLE_SERVICER_USERID
    return item


def _event(event_type: str, fields: dict[str, Any], *, n: int) -> dict[str, Any]:
    # Events carry open_kfid / external_userid inside "event", not at the top level.
    return {
        "msgid": f"event_msgid_{7317200000000000000 + n}",
        "send_time": _SEND_TIME + 100 + n,
        "origin": _SYSTEM,
        "msgtype": "event",
        "event": {"event_type": event_type, **fields},
    }


_MERGED_INNER = '{"msgtype":"text","text":{"content":"Is the blue one in stock?"}}'

#: One documented example per msgtype, keyed by msgtype (read-only; copy before use).
MESSAGE_SAMPLES: Mapping[str, dict[str, Any]] = MappingProxyType(
    {
        "text": _message("text", {"content": "Hello, is anyone there?", "menu_id": "101"}, n=1),
        "image": _message(
            "image", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"}, n=2
        ),
        "voice": _message(
            "voice", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvvoice"}, n=3
        ),
        "video": _message(
            "video", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvideo"}, n=4
        ),
        "file": _message(
            "file", {"media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvvfile"}, n=5
        ),
        "location": _message(
            "location",
            {
                "latitude": 23.106021,
                "longitude": 113.320345,
                "name": "Canton Tower",
                "address": "222 Yuejiang West Road, Haizhu, Guangzhou",
            },
            n=6,
        ),
        "link": _message(
            "link",
            {
                "title": "Spring catalogue",
                "desc": "Everything new this season",
                "url": "https://example.com/catalogue/spring",
                "pic_url": "https://example.com/catalogue/spring.jpg",
            },
            n=7,
        ),
        "business_card": _message("business_card", {"userid": "lisi"}, n=8),
        "miniprogram": _message(
            "miniprogram",
            {
                "title": "Order tracking",
                "appid": "wx8bd80126147dfAAA",
                "pagepath": "pages/orders/index?from=kf",
                "thumb_media_id": "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvthumb",
            },
            n=9,
        ),
        "msgmenu": _message(
            "msgmenu",
            {
                "head_content": "How can we help?",
                "list": [
                    {"type": "click", "click": {"id": "101", "content": "Prices"}},
                    {
                        "type": "view",
                        "view": {"url": "https://example.com/help", "content": "Help centre"},
                    },
                    {
                        "type": "miniprogram",
                        "miniprogram": {
                            "appid": "wx8bd80126147dfAAA",
                            "pagepath": "pages/index",
                            "content": "Open the shop",
                        },
                    },
                    {"type": "text", "text": {"content": "Or just type", "no_newline": 0}},
                ],
                "tail_content": "Thank you",
            },
            n=10,
            origin=_SERVICER,
        ),
        "channels_shop_product": _message(
            "channels_shop_product",
            {
                "product_id": "10000017001001",
                "head_image": "https://example.com/products/tea.jpg",
                "title": "Oolong tea, 250 g",
                "sales_price": "6800",
                "shop_nickname": "Tea House",
                "shop_head_image": "https://example.com/shops/tea-house.jpg",
            },
            n=11,
        ),
        "channels_shop_order": _message(
            "channels_shop_order",
            {
                "order_id": "3705115058471208928",
                "product_titles": "Oolong tea, 250 g; Tea cups (4)",
                "price_wording": "¥98.00",
                "state": "Awaiting shipment",
                "image_url": "https://example.com/products/tea.jpg",
                "shop_nickname": "Tea House",
            },
            n=12,
        ),
        "merged_msg": _message(
            "merged_msg",
            {
                "title": "Chat history with a friend",
                "item": [
                    {
                        "send_time": _SEND_TIME - 600,
                        "msgtype": "text",
                        "sender_name": "Wang Wu",
                        "msg_content": _MERGED_INNER,
                    }
                ],
            },
            n=13,
        ),
        "channels": _message(
            "channels",
            {"sub_type": 1, "nickname": "Tea House Channel", "title": "How we roast oolong"},
            n=14,
        ),
        # unverified: WeCom documents a note (笔记) message without body fields.
        "note": _message("note", {}, n=15),
        # Page 94699 lists meeting (会议) and schedule (日程) messages; their fields were
        # not read, so these bodies are made up (the models keep them as sent) and the
        # msgtype names are unverified.
        "meeting": _message("meeting", {"title": "Weekly review", "start_time": 1700003600}, n=16),
        "schedule": _message("schedule", {"title": "Store visit", "start_time": 1700090000}, n=17),
    }
)

#: One documented example per event_type, keyed by event_type (read-only; copy first).
EVENT_SAMPLES: Mapping[str, dict[str, Any]] = MappingProxyType(
    {
        "enter_session": _event(
            "enter_session",
            {
                "open_kfid": SAMPLE_OPEN_KFID,
                "external_userid": SAMPLE_EXTERNAL_USERID,
                "scene": "spring_campaign",
                "scene_param": "poster=42",
                "welcome_code": "aaaaaa-WELCOME-CODE-bbbbbb",
                "wechat_channels": {"nickname": "Tea House Channel", "scene": 1},
            },
            n=1,
        ),
        "msg_send_fail": _event(
            "msg_send_fail",
            {
                "open_kfid": SAMPLE_OPEN_KFID,
                "external_userid": SAMPLE_EXTERNAL_USERID,
                "fail_msgid": "bot-reply-0001",
                "fail_type": 4,
            },
            n=2,
        ),
        "servicer_status_change": _event(
            "servicer_status_change",
            {
                "servicer_userid": SAMPLE_SERVICER_USERID,
                "status": 2,
                "stop_type": 1,
                "open_kfid": SAMPLE_OPEN_KFID,
            },
            n=3,
        ),
        "session_status_change": _event(
            "session_status_change",
            {
                "open_kfid": SAMPLE_OPEN_KFID,
                "external_userid": SAMPLE_EXTERNAL_USERID,
                "change_type": 2,
                "old_servicer_userid": SAMPLE_SERVICER_USERID,
                "new_servicer_userid": "lisi",
                "msg_code": "cccccc-MSG-CODE-dddddd",
            },
            n=4,
        ),
        # unverified names (third-party SDKs only): the two recall events.
        "user_recall_msg": _event(
            "user_recall_msg",
            {
                "open_kfid": SAMPLE_OPEN_KFID,
                "external_userid": SAMPLE_EXTERNAL_USERID,
                "recall_msgid": "from_msgid_4622416642169452001",
            },
            n=5,
        ),
        "servicer_recall_msg": _event(
            "servicer_recall_msg",
            {
                "open_kfid": SAMPLE_OPEN_KFID,
                "external_userid": SAMPLE_EXTERNAL_USERID,
                "recall_msgid": "from_msgid_4622416642169452010",
                "servicer_userid": SAMPLE_SERVICER_USERID,
            },
            n=6,
        ),
        # unverified (third-party SDKs only).
        "reject_customer_msg_switch_change": _event(
            "reject_customer_msg_switch_change",
            {
                "open_kfid": SAMPLE_OPEN_KFID,
                "external_userid": SAMPLE_EXTERNAL_USERID,
                "servicer_userid": SAMPLE_SERVICER_USERID,
                "reject_switch": 1,
            },
            n=7,
        ),
    }
)


def message_sample(msgtype: str, /, **fields: Any) -> dict[str, Any]:
    """A deep copy of the sample of *msgtype*, with top-level *fields* replaced.

    Args:
        msgtype: A key of :data:`MESSAGE_SAMPLES` (``"text"``, ``"image"``, ...).
        **fields: Top-level fields to set (``msgid=...``, ``send_time=...``, or a whole
            body such as ``text={"content": "hi"}``).

    Returns:
        A new ``msg_list`` item the caller may change freely.

    Raises:
        KeyError: *msgtype* has no sample.
    """
    item = copy.deepcopy(MESSAGE_SAMPLES[msgtype])
    item.update(fields)
    return item


def event_sample(event_type: str, /, **fields: Any) -> dict[str, Any]:
    """A deep copy of the sample of *event_type*, with fields of its ``event`` replaced.

    Args:
        event_type: A key of :data:`EVENT_SAMPLES` (``"enter_session"``, ...).
        **fields: Fields of the ``event`` object to set (``welcome_code=...``).

    Returns:
        A new ``msg_list`` item the caller may change freely.

    Raises:
        KeyError: *event_type* has no sample.
    """
    item = copy.deepcopy(EVENT_SAMPLES[event_type])
    item["event"].update(fields)
    return item
