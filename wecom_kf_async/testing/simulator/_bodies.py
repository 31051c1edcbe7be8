"""What ``send_msg`` and ``send_msg_on_event`` accept as a message body: msgtypes and limits.

The limits are the documented ones (reference, section 3: page 96427 as
transcribed), the same the send builders check before any request. A body over
a limit answers 40058 naming the field (WeCom may truncate some fields instead,
or answer 45002; unverified); a menu with too many items 95008, an unknown menu
item type 95009, an empty text 44004, an unknown msgtype 40008, and a media id
the corp does not hold 40007.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from typing import Any, Final

from ._msgcodes import (
    ERR_EMPTY_TEXT,
    ERR_MEDIA,
    ERR_MENU_ITEM_TYPE,
    ERR_MSGTYPE,
    ERR_TOO_MANY_MENU_ITEMS,
)
from ._types import ApiError

__all__ = [
    "LINK_DESC_BYTES",
    "LINK_TITLE_BYTES",
    "MENU_HEAD_BYTES",
    "MENU_ITEMS_MAX",
    "MENU_TAIL_BYTES",
    "MINIPROGRAM_TITLE_BYTES",
    "ON_EVENT_MSGTYPES",
    "SENDABLE_MSGTYPES",
    "TEXT_BYTES",
    "URL_BYTES",
    "check_body",
]

TEXT_BYTES: Final = 2048
LINK_TITLE_BYTES: Final = 128
LINK_DESC_BYTES: Final = 512
URL_BYTES: Final = 2048
MINIPROGRAM_TITLE_BYTES: Final = 64
MENU_HEAD_BYTES: Final = 1024
MENU_TAIL_BYTES: Final = 1024
MENU_ITEMS_MAX: Final = 10


_MENU_ITEM_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "click": ("content",),
    "view": ("url", "content"),
    "miniprogram": ("appid", "pagepath", "content"),
    "text": ("content",),
}

Checker = Callable[[Mapping[str, Any], Container[str]], None]


def _string(body: Mapping[str, Any], key: str, max_bytes: int | None, *, required: bool) -> str:
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise ApiError(40058, f"{key} must be a non-empty string")
    if max_bytes is not None and len(value.encode()) > max_bytes:
        raise ApiError(40058, f"{key} is {len(value.encode())} bytes; the limit is {max_bytes}")
    return value


def _url(body: Mapping[str, Any], key: str) -> None:
    url = _string(body, key, URL_BYTES, required=True)
    if not url.startswith(("http://", "https://")):
        raise ApiError(40058, f"{key} must start with http:// or https://")


def _media(body: Mapping[str, Any], key: str, media: Container[str]) -> None:
    value = body.get(key)
    if not isinstance(value, str) or value not in media:
        raise ApiError(ERR_MEDIA, f"invalid {key}")


def _text(body: Mapping[str, Any], media: Container[str]) -> None:
    content = body.get("content")
    if content is None or content == "":
        raise ApiError(ERR_EMPTY_TEXT, "text content is empty")
    _string(body, "content", TEXT_BYTES, required=True)


def _media_only(body: Mapping[str, Any], media: Container[str]) -> None:
    _media(body, "media_id", media)


def _link(body: Mapping[str, Any], media: Container[str]) -> None:
    _string(body, "title", LINK_TITLE_BYTES, required=True)
    _string(body, "desc", LINK_DESC_BYTES, required=False)
    _url(body, "url")
    _media(body, "thumb_media_id", media)


def _miniprogram(body: Mapping[str, Any], media: Container[str]) -> None:
    _string(body, "appid", None, required=True)
    _string(body, "title", MINIPROGRAM_TITLE_BYTES, required=False)
    _string(body, "pagepath", None, required=True)
    _media(body, "thumb_media_id", media)


def _msgmenu(body: Mapping[str, Any], media: Container[str]) -> None:
    _string(body, "head_content", MENU_HEAD_BYTES, required=False)
    _string(body, "tail_content", MENU_TAIL_BYTES, required=False)
    items = body.get("list")
    if not isinstance(items, list) or not items:
        raise ApiError(40058, "list must be a non-empty list of menu items")
    if len(items) > MENU_ITEMS_MAX:
        raise ApiError(
            ERR_TOO_MANY_MENU_ITEMS, f"list has {len(items)} items; the limit is {MENU_ITEMS_MAX}"
        )
    for item in items:
        kind = item.get("type") if isinstance(item, Mapping) else None
        fields = _MENU_ITEM_FIELDS.get(kind) if isinstance(kind, str) else None
        if fields is None:
            raise ApiError(ERR_MENU_ITEM_TYPE, f"invalid menu item type {kind!r}")
        assert isinstance(item, Mapping)  # noqa: S101 - checked above
        inner = item.get(kind)
        if not isinstance(inner, Mapping):
            raise ApiError(40058, f"a {kind} menu item needs a {kind!r} object")
        for key in fields:
            if key == "url":
                _url(inner, key)
            else:
                _string(inner, key, None, required=True)


def _location(body: Mapping[str, Any], media: Container[str]) -> None:
    for key, bound in (("latitude", 90.0), ("longitude", 180.0)):
        value = body.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ApiError(40058, f"{key} must be a number")
        if not -bound <= value <= bound:
            raise ApiError(40058, f"{key} must be from {-bound} to {bound}")
    _string(body, "name", None, required=False)
    _string(body, "address", None, required=False)


def _ca_link(body: Mapping[str, Any], media: Container[str]) -> None:
    """``ca_link`` (page 96427): a ``link_url`` (the field name is from SDKs, unverified)."""
    _url(body, "link_url")


_CHECKERS: Final[Mapping[str, Checker]] = {
    "text": _text,
    "image": _media_only,
    "voice": _media_only,
    "video": _media_only,
    "file": _media_only,
    "link": _link,
    "miniprogram": _miniprogram,
    "msgmenu": _msgmenu,
    "location": _location,
    "ca_link": _ca_link,
}

#: msgtypes ``send_msg`` accepts.
SENDABLE_MSGTYPES: Final = frozenset(_CHECKERS)
#: msgtypes ``send_msg_on_event`` accepts.
ON_EVENT_MSGTYPES: Final = frozenset({"text", "msgmenu"})


def check_body(
    request: Mapping[str, Any], allowed: Container[str], media: Container[str]
) -> tuple[str, dict[str, Any]]:
    """The ``(msgtype, body)`` of a send request, checked; or the errcode WeCom gives."""
    msgtype = request.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in allowed:
        raise ApiError(ERR_MSGTYPE, f"invalid msgtype {msgtype!r}")
    body = request.get(msgtype)
    if not isinstance(body, Mapping):
        raise ApiError(40058, f"{msgtype} must be an object")
    _CHECKERS[msgtype](body, media)
    return msgtype, dict(body)
