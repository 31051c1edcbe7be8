"""Builders of the messages a bot sends (``send_msg``, ``send_msg_on_event``), limits checked.

Each builder is a frozen attrs class with ``msgtype`` (a class constant) and
``body()``, the object WeCom expects under the ``msgtype`` key::

    {"touser": ..., "open_kfid": ..., "msgid": ..., "msgtype": b.msgtype, b.msgtype: b.body()}

Every documented limit (reference, section 3; page 96427) is checked when the
builder is made, so a message that cannot be sent fails before any request: a
wrong type raises ``TypeError`` and a bad value ``ValueError``, each naming the
field (``Link.title``) and the limit. Lengths are counted in UTF-8 bytes where WeCom
counts bytes. The limits are named constants (``MAX_TEXT_BYTES``, ...), exported here.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, Protocol, runtime_checkable

import attrs

from ._limits import (
    EVENT_MSGTYPES,
    MAX_APPID_BYTES,
    MAX_CLICK_CONTENT_BYTES,
    MAX_CLICK_ID_BYTES,
    MAX_LINK_DESC_BYTES,
    MAX_LINK_TITLE_BYTES,
    MAX_MENU_ITEMS,
    MAX_MENU_TEXT_BYTES,
    MAX_MENU_TEXT_ITEM_BYTES,
    MAX_MINIPROGRAM_CONTENT_BYTES,
    MAX_MINIPROGRAM_TITLE_BYTES,
    MAX_PAGEPATH_BYTES,
    MAX_TEXT_BYTES,
    MAX_URL_BYTES,
    MAX_VIEW_CONTENT_BYTES,
    drop_none,
    is_degrees,
    is_flag,
    is_media_id,
    is_optional_text,
    is_text,
    is_url,
)

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
    "CaLink",
    "Click",
    "File",
    "Image",
    "Link",
    "Location",
    "Menu",
    "MenuItem",
    "MenuMiniProgram",
    "MenuText",
    "MiniProgram",
    "Sendable",
    "Text",
    "Video",
    "View",
    "Voice",
]


@runtime_checkable
class Sendable(Protocol):
    """Anything ``send`` accepts: a ``msgtype`` and the ``body()`` under that key."""

    msgtype: ClassVar[str]

    def body(self) -> dict[str, Any]:
        """The JSON object WeCom expects under the ``msgtype`` key."""
        ...


# -- messages ----------------------------------------------------------------------


@attrs.frozen
class Text:
    """A text message: ``Text("Hello")``. ``content`` is 1 to 2048 bytes (UTF-8)."""

    msgtype: ClassVar[str] = "text"
    content: str = attrs.field(validator=is_text("Text.content", MAX_TEXT_BYTES))

    def body(self) -> dict[str, Any]:
        """``{"content": ...}``."""
        return {"content": self.content}


@attrs.frozen
class _Media:
    media_id: str

    def body(self) -> dict[str, Any]:
        """``{"media_id": ...}``."""
        return {"media_id": self.media_id}


@attrs.frozen
class Image(_Media):
    """An image by its uploaded ``media_id``: ``Image(media_id)``."""

    msgtype: ClassVar[str] = "image"
    media_id: str = attrs.field(validator=is_media_id("Image.media_id"))


@attrs.frozen
class Voice(_Media):
    """A voice message (AMR) by its uploaded ``media_id``: ``Voice(media_id)``."""

    msgtype: ClassVar[str] = "voice"
    media_id: str = attrs.field(validator=is_media_id("Voice.media_id"))


@attrs.frozen
class Video(_Media):
    """A video by its uploaded ``media_id``: ``Video(media_id)``."""

    msgtype: ClassVar[str] = "video"
    media_id: str = attrs.field(validator=is_media_id("Video.media_id"))


@attrs.frozen
class File(_Media):
    """A file by its uploaded ``media_id``: ``File(media_id)``."""

    msgtype: ClassVar[str] = "file"
    media_id: str = attrs.field(validator=is_media_id("File.media_id"))


@attrs.frozen
class Link:
    """A web page card: ``Link(title, url, thumb_media_id, desc=None)``.

    ``title`` is at most 128 bytes, ``desc`` 512, ``url`` 2048 (http or https);
    ``thumb_media_id`` is an uploaded image's id.
    """

    msgtype: ClassVar[str] = "link"
    title: str = attrs.field(validator=is_text("Link.title", MAX_LINK_TITLE_BYTES))
    url: str = attrs.field(validator=is_url("Link.url"))
    thumb_media_id: str = attrs.field(validator=is_media_id("Link.thumb_media_id"))
    desc: str | None = attrs.field(
        default=None, validator=is_optional_text("Link.desc", MAX_LINK_DESC_BYTES)
    )

    def body(self) -> dict[str, Any]:
        """``{"title", "desc" (if given), "url", "thumb_media_id"}``."""
        return drop_none(
            {
                "title": self.title,
                "desc": self.desc,
                "url": self.url,
                "thumb_media_id": self.thumb_media_id,
            }
        )


@attrs.frozen
class MiniProgram:
    """A mini program card: ``MiniProgram(appid, title, thumb_media_id, pagepath)``.

    ``appid`` is at most 32 bytes (the mini program must be linked to the corp),
    ``title`` 64, ``pagepath`` 1024; ``thumb_media_id`` is the cover's media id.
    """

    msgtype: ClassVar[str] = "miniprogram"
    appid: str = attrs.field(validator=is_text("MiniProgram.appid", MAX_APPID_BYTES))
    title: str = attrs.field(validator=is_text("MiniProgram.title", MAX_MINIPROGRAM_TITLE_BYTES))
    thumb_media_id: str = attrs.field(validator=is_media_id("MiniProgram.thumb_media_id"))
    pagepath: str = attrs.field(validator=is_text("MiniProgram.pagepath", MAX_PAGEPATH_BYTES))

    def body(self) -> dict[str, Any]:
        """``{"appid", "title", "thumb_media_id", "pagepath"}``."""
        return {
            "appid": self.appid,
            "title": self.title,
            "thumb_media_id": self.thumb_media_id,
            "pagepath": self.pagepath,
        }


@attrs.frozen
class Location:
    """A place: ``Location(latitude, longitude, name=None, address=None)``.

    ``latitude`` is within -90..90 and ``longitude`` within -180..180 degrees.
    """

    msgtype: ClassVar[str] = "location"
    latitude: float = attrs.field(validator=is_degrees("Location.latitude", 90))
    longitude: float = attrs.field(validator=is_degrees("Location.longitude", 180))
    name: str | None = attrs.field(default=None, validator=is_optional_text("Location.name", None))
    address: str | None = attrs.field(
        default=None, validator=is_optional_text("Location.address", None)
    )

    def body(self) -> dict[str, Any]:
        """``{"name" (if given), "address" (if given), "latitude", "longitude"}``."""
        return drop_none(
            {
                "name": self.name,
                "address": self.address,
                "latitude": self.latitude,
                "longitude": self.longitude,
            }
        )


@attrs.frozen
class CaLink:
    """A customer-acquisition link (获客链接): ``CaLink(link_url)``.

    ``link_url`` is a link made with WeCom's customer-acquisition assistant, an
    http(s) URL such as ``https://work.weixin.qq.com/ca/...``. Page 96427 lists the
    message; the field name comes from SDK transcriptions (**unverified**).
    """

    msgtype: ClassVar[str] = "ca_link"
    link_url: str = attrs.field(validator=is_url("CaLink.link_url"))

    def body(self) -> dict[str, Any]:
        """``{"link_url"}``."""
        return {"link_url": self.link_url}


# -- menus -------------------------------------------------------------------------


@attrs.frozen
class Click:
    """A menu item the customer clicks to reply: ``Click(id, content)``.

    The reply arrives as a text message with ``text.menu_id == id``. ``id`` and
    ``content`` are at most 128 bytes each.
    """

    menu_type: ClassVar[str] = "click"
    id: str = attrs.field(validator=is_text("Click.id", MAX_CLICK_ID_BYTES))
    content: str = attrs.field(validator=is_text("Click.content", MAX_CLICK_CONTENT_BYTES))

    def item(self) -> dict[str, Any]:
        """``{"type": "click", "click": {"id", "content"}}``."""
        return {"type": "click", "click": {"id": self.id, "content": self.content}}


@attrs.frozen
class View:
    """A menu hyperlink: ``View(url, content)``.

    ``url`` is at most 2048 bytes (http or https), ``content`` 1024.
    """

    menu_type: ClassVar[str] = "view"
    url: str = attrs.field(validator=is_url("View.url"))
    content: str = attrs.field(validator=is_text("View.content", MAX_VIEW_CONTENT_BYTES))

    def item(self) -> dict[str, Any]:
        """``{"type": "view", "view": {"url", "content"}}``."""
        return {"type": "view", "view": {"url": self.url, "content": self.content}}


@attrs.frozen
class MenuMiniProgram:
    """A menu item that opens a mini program: ``MenuMiniProgram(appid, pagepath, content)``.

    ``appid`` is at most 32 bytes, ``pagepath`` and ``content`` 1024 each.
    """

    menu_type: ClassVar[str] = "miniprogram"
    appid: str = attrs.field(validator=is_text("MenuMiniProgram.appid", MAX_APPID_BYTES))
    pagepath: str = attrs.field(validator=is_text("MenuMiniProgram.pagepath", MAX_PAGEPATH_BYTES))
    content: str = attrs.field(
        validator=is_text("MenuMiniProgram.content", MAX_MINIPROGRAM_CONTENT_BYTES)
    )

    def item(self) -> dict[str, Any]:
        """``{"type": "miniprogram", "miniprogram": {"appid", "pagepath", "content"}}``."""
        return {
            "type": "miniprogram",
            "miniprogram": {
                "appid": self.appid,
                "pagepath": self.pagepath,
                "content": self.content,
            },
        }


@attrs.frozen
class MenuText:
    """Plain text between menu items: ``MenuText(content, no_newline=False)``.

    ``content`` is at most 256 bytes; ``no_newline=True`` keeps the next item on the
    same line.
    """

    menu_type: ClassVar[str] = "text"
    content: str = attrs.field(validator=is_text("MenuText.content", MAX_MENU_TEXT_ITEM_BYTES))
    no_newline: bool = attrs.field(default=False, validator=is_flag("MenuText.no_newline"))

    def item(self) -> dict[str, Any]:
        """``{"type": "text", "text": {"content", "no_newline": 0 or 1}}``."""
        return {
            "type": "text",
            "text": {"content": self.content, "no_newline": int(self.no_newline)},
        }


#: An item of a :class:`Menu`.
MenuItem = Click | View | MenuMiniProgram | MenuText
_MENU_ITEMS = (Click, View, MenuMiniProgram, MenuText)


def _menu_items(items: Iterable[MenuItem]) -> tuple[MenuItem, ...]:
    """The items as a tuple; a bare string or a non-iterable is a TypeError."""
    if isinstance(items, str | bytes) or not isinstance(items, Iterable):
        raise TypeError(f"Menu.items must be a list of menu items, got {type(items).__name__}")
    return tuple(items)


def _check_menu_items(_: object, __: attrs.Attribute[Any], items: tuple[object, ...]) -> None:
    for index, item in enumerate(items):
        if not isinstance(item, _MENU_ITEMS):
            raise TypeError(
                f"Menu.items[{index}] must be a Click, View, MenuMiniProgram or MenuText, "
                f"got {type(item).__name__}"
            )
    if len(items) > MAX_MENU_ITEMS:
        raise ValueError(f"Menu.items has {len(items)} items; the limit is {MAX_MENU_ITEMS}")


@attrs.frozen
class Menu:
    """A menu message: ``Menu(head="Pick one", items=[Click("1", "Price"), View(url, "Site")])``.

    ``head`` and ``tail`` are at most 1024 bytes each; at most 10 items. A click
    reply arrives as a text message with ``text.menu_id`` set to the item's ``id``.
    """

    msgtype: ClassVar[str] = "msgmenu"
    head: str | None = attrs.field(
        default=None, validator=is_optional_text("Menu.head", MAX_MENU_TEXT_BYTES)
    )
    items: tuple[MenuItem, ...] = attrs.field(
        default=(), converter=_menu_items, validator=_check_menu_items
    )
    tail: str | None = attrs.field(
        default=None, validator=is_optional_text("Menu.tail", MAX_MENU_TEXT_BYTES)
    )

    def __attrs_post_init__(self) -> None:
        if not self.head and not self.items and not self.tail:
            raise ValueError("Menu needs a head, a tail or at least one item")

    def body(self) -> dict[str, Any]:
        """``{"head_content" (if given), "list": [...], "tail_content" (if given)}``."""
        return drop_none(
            {
                "head_content": self.head,
                "list": [item.item() for item in self.items],
                "tail_content": self.tail,
            }
        )
