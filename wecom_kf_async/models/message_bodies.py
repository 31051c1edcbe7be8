"""The bodies of received messages (``msg.text``, ``msg.location``, ...), WeCom's field names.

Each body is a frozen attrs class whose fields are the JSON keys WeCom sends under
the msgtype key (reference, section 3; pages 94670/94699). A field WeCom may leave
out is optional. A ``repr`` shows ids, types and codes; what the customer wrote or
shared (text, names, places, links, prices) is withheld.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from ._fast import compile_hook
from ._kf import withheld

__all__ = [
    "BusinessCardBody",
    "ChannelsBody",
    "ChannelsShopOrderBody",
    "ChannelsShopProductBody",
    "ChannelsSubType",
    "LinkBody",
    "LocationBody",
    "MediaBody",
    "MergedMsgBody",
    "MergedMsgItem",
    "MiniProgramBody",
    "MsgMenuBody",
    "MsgMenuClick",
    "MsgMenuItem",
    "MsgMenuMiniProgram",
    "MsgMenuText",
    "MsgMenuView",
    "NoteBody",
    "TextBody",
]


@attrs.frozen(kw_only=True)
class TextBody:
    """``text``: what the customer (or servicer) wrote."""

    #: The text.
    content: str = attrs.field(repr=withheld)
    #: When the customer clicked a ``click`` item of a menu: that item's ``id``.
    menu_id: str | None = None


@attrs.frozen(kw_only=True)
class MediaBody:
    """``image``, ``voice``, ``video`` or ``file``: a medium to download by its id."""

    #: The medium's id (download it with ``media/get`` within 3 days).
    media_id: str


@attrs.frozen(kw_only=True)
class LocationBody:
    """``location``: a place the customer shared."""

    #: Latitude in degrees.
    latitude: float = attrs.field(repr=withheld)
    #: Longitude in degrees.
    longitude: float = attrs.field(repr=withheld)
    #: The place's name.
    name: str | None = attrs.field(default=None, repr=withheld)
    #: Its address.
    address: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class LinkBody:
    """``link``: a web page card."""

    #: The card's title.
    title: str | None = attrs.field(default=None, repr=withheld)
    #: Its description.
    desc: str | None = attrs.field(default=None, repr=withheld)
    #: Where it leads.
    url: str | None = attrs.field(default=None, repr=withheld)
    #: Its thumbnail's URL.
    pic_url: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class BusinessCardBody:
    """``business_card``: a member's card (名片)."""

    #: The member's userid.
    userid: str


@attrs.frozen(kw_only=True)
class MiniProgramBody:
    """``miniprogram``: a mini program card."""

    #: The card's title.
    title: str | None = attrs.field(default=None, repr=withheld)
    #: The mini program's appid.
    appid: str | None = None
    #: The page the card opens.
    pagepath: str | None = attrs.field(default=None, repr=withheld)
    #: The cover's media id.
    thumb_media_id: str | None = None


@attrs.frozen(kw_only=True)
class MsgMenuClick:
    """A ``click`` item of a menu: clicking it sends ``content`` with ``menu_id=id``."""

    #: The item's id (the reply's ``text.menu_id``).
    id: str | None = None
    #: The text shown (and sent back when clicked).
    content: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class MsgMenuView:
    """A ``view`` item of a menu: a hyperlink."""

    #: Where it leads.
    url: str | None = attrs.field(default=None, repr=withheld)
    #: The text shown.
    content: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class MsgMenuMiniProgram:
    """A ``miniprogram`` item of a menu: opens a mini program page."""

    #: The mini program's appid.
    appid: str | None = None
    #: The page it opens.
    pagepath: str | None = attrs.field(default=None, repr=withheld)
    #: The text shown.
    content: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class MsgMenuText:
    """A ``text`` item of a menu: plain text between items."""

    #: The text.
    content: str | None = attrs.field(default=None, repr=withheld)
    #: 1: no line break after this text; 0 (or absent): a line break.
    no_newline: int | None = None


@attrs.frozen(kw_only=True)
class MsgMenuItem:
    """One item of a menu's ``list``: ``type`` names which of the others is set."""

    #: ``click``, ``view``, ``miniprogram`` or ``text`` (an unknown type is kept).
    type: str
    #: Set for a ``click`` item.
    click: MsgMenuClick | None = None
    #: Set for a ``view`` item.
    view: MsgMenuView | None = None
    #: Set for a ``miniprogram`` item.
    miniprogram: MsgMenuMiniProgram | None = None
    #: Set for a ``text`` item.
    text: MsgMenuText | None = None


@attrs.frozen(kw_only=True)
class MsgMenuBody:
    """``msgmenu``: a menu message (head text, items, tail text)."""

    #: The text above the items.
    head_content: str | None = attrs.field(default=None, repr=withheld)
    #: The items, in order (WeCom's key is ``list``).
    list: tuple[MsgMenuItem, ...] = ()
    #: The text below the items.
    tail_content: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class ChannelsShopProductBody:
    """``channels_shop_product``: a WeChat Channels shop product (视频号商品)."""

    #: The product's id in the shop.
    product_id: str | None = None
    #: The product's picture URL.
    head_image: str | None = attrs.field(default=None, repr=withheld)
    #: The product's title.
    title: str | None = attrs.field(default=None, repr=withheld)
    #: The price in fen, as WeCom sends it: a string.
    sales_price: str | None = attrs.field(default=None, repr=withheld)
    #: The shop's name.
    shop_nickname: str | None = attrs.field(default=None, repr=withheld)
    #: The shop's avatar URL.
    shop_head_image: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class ChannelsShopOrderBody:
    """``channels_shop_order``: a WeChat Channels shop order (视频号订单)."""

    #: The order's id.
    order_id: str | None = attrs.field(default=None, repr=withheld)
    #: The products' titles, as one string.
    product_titles: str | None = attrs.field(default=None, repr=withheld)
    #: The price as worded for display.
    price_wording: str | None = attrs.field(default=None, repr=withheld)
    #: The order's state as worded for display.
    state: str | None = attrs.field(default=None, repr=withheld)
    #: The thumbnail's URL.
    image_url: str | None = attrs.field(default=None, repr=withheld)
    #: The shop's name.
    shop_nickname: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class MergedMsgItem:
    """One message of a forwarded chat history.

    ``msg_content`` is the inner message as a JSON string (``json.loads`` it).
    ``msgtype`` is kept as sent: a string here; one SDK reads an integer
    (**unverified**), so both are accepted.
    """

    #: When it was sent (aware UTC).
    send_time: datetime | None = None
    #: The inner message's type, as sent.
    msgtype: str | int | None = None
    #: Who sent it, by name.
    sender_name: str | None = attrs.field(default=None, repr=withheld)
    #: The inner message, a JSON string.
    msg_content: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class MergedMsgBody:
    """``merged_msg``: a forwarded chat history (聊天记录)."""

    #: The history's title.
    title: str | None = attrs.field(default=None, repr=withheld)
    #: The messages (WeCom's key is ``item``).
    item: tuple[MergedMsgItem, ...] = ()


class ChannelsSubType(enum.IntEnum):
    """What a ``channels`` message shares (**unverified** codes, from SDKs)."""

    #: A post (视频号动态).
    POST = 1
    #: A live stream (视频号直播).
    LIVE = 2
    #: The account's card (视频号名片).
    CARD = 3


@attrs.frozen(kw_only=True)
class ChannelsBody:
    """``channels``: a WeChat Channels (视频号) post, live stream or account card."""

    #: A post, a live stream or a card (an undocumented code stays an int).
    sub_type: ChannelsSubType | int | None = None
    #: The Channels account's name.
    nickname: str | None = attrs.field(default=None, repr=withheld)
    #: The post's or live stream's title.
    title: str | None = attrs.field(default=None, repr=withheld)


@attrs.frozen(kw_only=True)
class NoteBody:
    """``note``: a WeChat note (笔记). WeCom documents no fields (**unverified**)."""


for _cls in (
    TextBody,
    MediaBody,
    LocationBody,
    LinkBody,
    BusinessCardBody,
    MiniProgramBody,
    MsgMenuClick,
    MsgMenuView,
    MsgMenuMiniProgram,
    MsgMenuText,
    MsgMenuItem,
    MsgMenuBody,
    ChannelsShopProductBody,
    ChannelsShopOrderBody,
    MergedMsgItem,
    MergedMsgBody,
    ChannelsBody,
    NoteBody,
):
    compile_hook(_cls)
