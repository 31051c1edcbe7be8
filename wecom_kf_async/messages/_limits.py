"""The documented limits of sent messages, as named constants, and the validators of the builders.

Lengths are in UTF-8 bytes where WeCom counts bytes (reference, section 3; page 96427).
Each validator raises ``TypeError`` for a wrong type and ``ValueError`` for a bad
value, naming the field (``Link.title``) and the limit.
"""

from __future__ import annotations

import math
from typing import Any, Final
from urllib.parse import urlsplit

import attrs

from .. import _checks

__all__ = [
    "EVENT_MSGTYPES",
    "MAX_APPID_BYTES",
    "MAX_CLICK_CONTENT_BYTES",
    "MAX_CLICK_ID_BYTES",
    "MAX_LINK_DESC_BYTES",
    "MAX_LINK_TITLE_BYTES",
    "MAX_MENU_ITEMS",
    "MAX_MENU_TEXT_BYTES",
    "MAX_MENU_TEXT_ITEM_BYTES",
    "MAX_MINIPROGRAM_CONTENT_BYTES",
    "MAX_MINIPROGRAM_TITLE_BYTES",
    "MAX_PAGEPATH_BYTES",
    "MAX_TEXT_BYTES",
    "MAX_URL_BYTES",
    "MAX_VIEW_CONTENT_BYTES",
    "drop_none",
    "is_degrees",
    "is_flag",
    "is_media_id",
    "is_optional_text",
    "is_text",
    "is_url",
]

#: ``text.content``: at most 2048 bytes.
MAX_TEXT_BYTES: Final = 2048
#: ``link.title``: at most 128 bytes.
MAX_LINK_TITLE_BYTES: Final = 128
#: ``link.desc``: at most 512 bytes.
MAX_LINK_DESC_BYTES: Final = 512
#: A URL (``link.url``, a menu ``view.url``): at most 2048 bytes, http or https.
MAX_URL_BYTES: Final = 2048
#: ``miniprogram.title``: at most 64 bytes.
MAX_MINIPROGRAM_TITLE_BYTES: Final = 64
#: A mini program's ``appid``: at most 32 bytes.
MAX_APPID_BYTES: Final = 32
#: A mini program's ``pagepath``: at most 1024 bytes.
MAX_PAGEPATH_BYTES: Final = 1024
#: ``msgmenu.head_content`` and ``tail_content``: at most 1024 bytes each.
MAX_MENU_TEXT_BYTES: Final = 1024
#: ``msgmenu.list``: at most 10 items.
MAX_MENU_ITEMS: Final = 10
#: A ``click`` item's ``id``: at most 128 bytes.
MAX_CLICK_ID_BYTES: Final = 128
#: A ``click`` item's ``content``: at most 128 bytes.
MAX_CLICK_CONTENT_BYTES: Final = 128
#: A ``view`` item's ``content``: at most 1024 bytes.
MAX_VIEW_CONTENT_BYTES: Final = 1024
#: A ``miniprogram`` item's ``content``: at most 1024 bytes.
MAX_MINIPROGRAM_CONTENT_BYTES: Final = 1024
#: A ``text`` item's ``content``: at most 256 bytes.
MAX_MENU_TEXT_ITEM_BYTES: Final = 256

#: The msgtypes ``send_msg_on_event`` accepts (a welcome or session message).
EVENT_MSGTYPES: Final = frozenset({"text", "msgmenu"})


def is_text(name: str, max_bytes: int) -> Any:
    """A validator: a non-empty string of at most *max_bytes* bytes."""

    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        _checks.text(name, value, max_bytes=max_bytes)

    return check


def is_optional_text(name: str, max_bytes: int | None) -> Any:
    """A validator: ``None``, or a string of at most *max_bytes* bytes (may be empty)."""

    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        if value is not None:
            _checks.text(name, value, max_bytes=max_bytes, allow_empty=True)

    return check


def is_media_id(name: str) -> Any:
    """A validator: a media id."""

    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        _checks.media_id(value, name)

    return check


def is_url(name: str) -> Any:
    """A validator: an http(s) URL of at most :data:`MAX_URL_BYTES` bytes."""

    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        url = _checks.text(name, value, max_bytes=MAX_URL_BYTES)
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{name} must be an http:// or https:// URL, got {url[:80]!r}")

    return check


def is_degrees(name: str, limit: int) -> Any:
    """A validator: a finite number of degrees within ``[-limit, limit]``."""

    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{name} must be a number, got {type(value).__name__}")
        if not math.isfinite(value) or not -limit <= value <= limit:
            raise ValueError(f"{name} must be between -{limit} and {limit}, got {value}")

    return check


def is_flag(name: str) -> Any:
    """A validator: ``True`` or ``False``."""

    def check(_: object, __: attrs.Attribute[Any], value: object) -> None:
        if not isinstance(value, bool):
            raise TypeError(f"{name} must be a bool, got {type(value).__name__}")

    return check


def drop_none(body: dict[str, Any]) -> dict[str, Any]:
    """*body* without its ``None`` values (optional fields left out)."""
    return {key: value for key, value in body.items() if value is not None}
