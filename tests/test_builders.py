"""Tests of the send builders: every limit at its boundary, wrong types, and body() shapes."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from wecom_kf_async.messages.builders import (
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
    Click,
    File,
    Image,
    Link,
    Location,
    Menu,
    MenuMiniProgram,
    MenuText,
    MiniProgram,
    Sendable,
    Text,
    Video,
    View,
    Voice,
)

MEDIA = "2iSLeVyqzk4eX0IB5kTi9Ljfa2rt9dwfq5WKRQ4Nvvgw"
URL_HEAD = "https://example.com/"


def _bytes(size: int) -> str:
    """A string of exactly *size* UTF-8 bytes, mostly 3-byte characters (bytes, not chars)."""
    return "你" * (size // 3) + "a" * (size % 3)


def _url(size: int) -> str:
    return URL_HEAD + "a" * (size - len(URL_HEAD))


#: (what, field named in the error, limit in bytes, build with a value of that field)
BYTE_LIMITS: list[tuple[str, str, int, Callable[[str], object]]] = [
    ("text", "Text.content", MAX_TEXT_BYTES, lambda v: Text(v)),
    ("link title", "Link.title", MAX_LINK_TITLE_BYTES, lambda v: Link(v, URL_HEAD, MEDIA)),
    ("link desc", "Link.desc", MAX_LINK_DESC_BYTES, lambda v: Link("t", URL_HEAD, MEDIA, desc=v)),
    (
        "miniprogram title",
        "MiniProgram.title",
        MAX_MINIPROGRAM_TITLE_BYTES,
        lambda v: MiniProgram("wx1", v, MEDIA, "pages/index"),
    ),
    (
        "miniprogram appid",
        "MiniProgram.appid",
        MAX_APPID_BYTES,
        lambda v: MiniProgram(v, "t", MEDIA, "pages/index"),
    ),
    (
        "miniprogram pagepath",
        "MiniProgram.pagepath",
        MAX_PAGEPATH_BYTES,
        lambda v: MiniProgram("wx1", "t", MEDIA, v),
    ),
    ("menu head", "Menu.head", MAX_MENU_TEXT_BYTES, lambda v: Menu(head=v)),
    ("menu tail", "Menu.tail", MAX_MENU_TEXT_BYTES, lambda v: Menu(tail=v)),
    ("click id", "Click.id", MAX_CLICK_ID_BYTES, lambda v: Click(v, "Price")),
    ("click content", "Click.content", MAX_CLICK_CONTENT_BYTES, lambda v: Click("1", v)),
    ("view content", "View.content", MAX_VIEW_CONTENT_BYTES, lambda v: View(URL_HEAD, v)),
    (
        "menu miniprogram appid",
        "MenuMiniProgram.appid",
        MAX_APPID_BYTES,
        lambda v: MenuMiniProgram(v, "pages/index", "Shop"),
    ),
    (
        "menu miniprogram pagepath",
        "MenuMiniProgram.pagepath",
        MAX_PAGEPATH_BYTES,
        lambda v: MenuMiniProgram("wx1", v, "Shop"),
    ),
    (
        "menu miniprogram content",
        "MenuMiniProgram.content",
        MAX_MINIPROGRAM_CONTENT_BYTES,
        lambda v: MenuMiniProgram("wx1", "pages/index", v),
    ),
    ("menu text", "MenuText.content", MAX_MENU_TEXT_ITEM_BYTES, lambda v: MenuText(v)),
    ("image media_id", "Image.media_id", 128, lambda v: Image(v)),
    ("link thumb", "Link.thumb_media_id", 128, lambda v: Link("t", URL_HEAD, v)),
]

URL_LIMITS: list[tuple[str, str, Callable[[str], object]]] = [
    ("link url", "Link.url", lambda v: Link("t", v, MEDIA)),
    ("view url", "View.url", lambda v: View(v, "Site")),
]

IDS = [row[0] for row in BYTE_LIMITS]


@pytest.mark.parametrize(("what", "field", "limit", "build"), BYTE_LIMITS, ids=IDS)
def test_exactly_at_a_byte_limit_passes(
    what: str, field: str, limit: int, build: Callable[[str], object]
) -> None:
    """A value of exactly the documented number of bytes is accepted."""
    value = "a" * limit if "media_id" in field or "appid" in field else _bytes(limit)
    assert len(value.encode()) == limit
    build(value)


@pytest.mark.parametrize(("what", "field", "limit", "build"), BYTE_LIMITS, ids=IDS)
def test_one_byte_over_a_byte_limit_raises_naming_the_field_and_the_limit(
    what: str, field: str, limit: int, build: Callable[[str], object]
) -> None:
    """One byte over the limit raises ValueError naming the field and the limit."""
    value = "a" * (limit + 1) if "media_id" in field or "appid" in field else _bytes(limit + 1)
    with pytest.raises(ValueError, match=rf"^{field} .*limit is {limit}"):
        build(value)


def test_limits_count_bytes_not_characters() -> None:
    """2048 characters of Chinese text are 6144 bytes: over the text limit."""
    Text("a" * MAX_TEXT_BYTES)
    with pytest.raises(ValueError, match="6144 bytes"):
        Text("你" * MAX_TEXT_BYTES)


@pytest.mark.parametrize(("what", "field", "build"), URL_LIMITS, ids=[r[0] for r in URL_LIMITS])
def test_urls_at_their_limit_pass_and_one_byte_over_raises(
    what: str, field: str, build: Callable[[str], object]
) -> None:
    """A URL of exactly 2048 bytes passes; 2049 bytes raises naming the field and the limit."""
    build(_url(MAX_URL_BYTES))
    with pytest.raises(ValueError, match=rf"^{field} .*limit is {MAX_URL_BYTES}"):
        build(_url(MAX_URL_BYTES + 1))


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a", "javascript:alert(1)", "example.com/a", "https://"]
)
@pytest.mark.parametrize(("what", "field", "build"), URL_LIMITS, ids=[r[0] for r in URL_LIMITS])
def test_urls_must_be_http_or_https(
    what: str, field: str, build: Callable[[str], object], url: str
) -> None:
    """Only http:// and https:// URLs with a host are accepted."""
    with pytest.raises(ValueError, match=rf"^{field} must be an http:// or https:// URL"):
        build(url)


def test_http_urls_in_either_case_are_accepted() -> None:
    """http and HTTPS schemes are both web URLs."""
    assert Link("t", "http://example.com", MEDIA).url == "http://example.com"
    assert View("HTTPS://example.com/x", "Site").url == "HTTPS://example.com/x"


def test_a_menu_takes_ten_items_and_refuses_eleven() -> None:
    """msgmenu.list holds at most 10 items."""
    items = [Click(str(n), f"Option {n}") for n in range(MAX_MENU_ITEMS)]
    assert len(Menu(items=items).items) == MAX_MENU_ITEMS
    with pytest.raises(
        ValueError, match=rf"Menu\.items has 11 items; the limit is {MAX_MENU_ITEMS}"
    ):
        Menu(items=[*items, Click("x", "One too many")])


@pytest.mark.parametrize(
    ("latitude", "longitude"), [(90, 180), (-90, -180), (0, 0), (89.999999, -179.5)]
)
def test_coordinates_within_range_pass(latitude: float, longitude: float) -> None:
    """Latitude -90..90 and longitude -180..180, bounds included, are accepted."""
    assert Location(latitude, longitude).body() == {"latitude": latitude, "longitude": longitude}


@pytest.mark.parametrize(
    ("latitude", "longitude", "field"),
    [
        (90.000001, 0, "Location.latitude"),
        (-90.5, 0, "Location.latitude"),
        (0, 180.000001, "Location.longitude"),
        (0, -181, "Location.longitude"),
        (float("nan"), 0, "Location.latitude"),
        (0, float("inf"), "Location.longitude"),
    ],
)
def test_coordinates_out_of_range_raise_naming_the_field(
    latitude: float, longitude: float, field: str
) -> None:
    """A coordinate outside its range (or not finite) raises ValueError naming the field."""
    with pytest.raises(ValueError, match=rf"^{field} must be between"):
        Location(latitude, longitude)


WRONG_TYPES: list[tuple[str, Callable[[], object]]] = [
    ("Text.content", lambda: Text(5)),  # type: ignore[arg-type]
    ("Text.content", lambda: Text(b"bytes")),  # type: ignore[arg-type]
    ("Image.media_id", lambda: Image(None)),  # type: ignore[arg-type]
    ("Voice.media_id", lambda: Voice(1)),  # type: ignore[arg-type]
    ("Video.media_id", lambda: Video(1)),  # type: ignore[arg-type]
    ("File.media_id", lambda: File(1)),  # type: ignore[arg-type]
    ("Link.title", lambda: Link(1, URL_HEAD, MEDIA)),  # type: ignore[arg-type]
    ("Link.url", lambda: Link("t", None, MEDIA)),  # type: ignore[arg-type]
    ("Link.desc", lambda: Link("t", URL_HEAD, MEDIA, desc=3)),  # type: ignore[arg-type]
    ("MiniProgram.appid", lambda: MiniProgram(1, "t", MEDIA, "p")),  # type: ignore[arg-type]
    ("Location.latitude", lambda: Location("1", 2)),  # type: ignore[arg-type]
    ("Location.longitude", lambda: Location(1, True)),
    ("Location.name", lambda: Location(1, 2, name=3)),  # type: ignore[arg-type]
    ("Menu.head", lambda: Menu(head=["Pick one"])),  # type: ignore[arg-type]
    ("Menu.items", lambda: Menu(items="abc")),  # type: ignore[arg-type]
    ("Menu.items", lambda: Menu(items=5)),  # type: ignore[arg-type]
    ("Menu.items[1]", lambda: Menu(items=[Click("1", "a"), Text("not an item")])),  # type: ignore[list-item]
    ("Click.id", lambda: Click(1, "Price")),  # type: ignore[arg-type]
    ("View.url", lambda: View(None, "Site")),  # type: ignore[arg-type]
    ("MenuText.no_newline", lambda: MenuText("x", no_newline=1)),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    ("field", "build"), WRONG_TYPES, ids=[f"{r[0]}-{i}" for i, r in enumerate(WRONG_TYPES)]
)
def test_a_wrong_type_raises_type_error_naming_the_field(
    field: str, build: Callable[[], object]
) -> None:
    """A value of the wrong type raises TypeError naming the field."""
    with pytest.raises(TypeError, match="^" + re.escape(field) + " "):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: Text(""),
        lambda: Image(""),
        lambda: Link("", URL_HEAD, MEDIA),
        lambda: Click("1", ""),
    ],
)
def test_required_text_must_not_be_empty(build: Callable[[], object]) -> None:
    """An empty required string is refused."""
    with pytest.raises(ValueError, match="must not be empty"):
        build()


def test_an_empty_menu_is_refused() -> None:
    """A menu with no head, no items and no tail has nothing to show."""
    with pytest.raises(ValueError, match="Menu needs"):
        Menu()


def test_media_ids_with_whitespace_are_refused() -> None:
    """A media id is an identifier: whitespace in it is a mistake, caught before sending."""
    with pytest.raises(ValueError, match=r"Image\.media_id contains whitespace"):
        Image("abc def")


BODIES: list[tuple[object, str, dict[str, Any]]] = [
    (Text("Hello"), "text", {"content": "Hello"}),
    (Image(MEDIA), "image", {"media_id": MEDIA}),
    (Voice(MEDIA), "voice", {"media_id": MEDIA}),
    (Video(MEDIA), "video", {"media_id": MEDIA}),
    (File(MEDIA), "file", {"media_id": MEDIA}),
    (
        Link("Spring catalogue", "https://example.com/s", MEDIA, desc="New"),
        "link",
        {
            "title": "Spring catalogue",
            "desc": "New",
            "url": "https://example.com/s",
            "thumb_media_id": MEDIA,
        },
    ),
    (
        Link("Spring catalogue", "https://example.com/s", MEDIA),
        "link",
        {"title": "Spring catalogue", "url": "https://example.com/s", "thumb_media_id": MEDIA},
    ),
    (
        MiniProgram("wx8bd80126147dfAAA", "Orders", MEDIA, "pages/orders"),
        "miniprogram",
        {
            "appid": "wx8bd80126147dfAAA",
            "title": "Orders",
            "thumb_media_id": MEDIA,
            "pagepath": "pages/orders",
        },
    ),
    (
        Location(23.1, 113.3, name="Canton Tower", address="Guangzhou"),
        "location",
        {"name": "Canton Tower", "address": "Guangzhou", "latitude": 23.1, "longitude": 113.3},
    ),
    (Location(23.1, 113.3), "location", {"latitude": 23.1, "longitude": 113.3}),
    (
        Menu(head="Pick one", items=[Click("1", "Price"), View("https://example.com/", "Site")]),
        "msgmenu",
        {
            "head_content": "Pick one",
            "list": [
                {"type": "click", "click": {"id": "1", "content": "Price"}},
                {"type": "view", "view": {"url": "https://example.com/", "content": "Site"}},
            ],
        },
    ),
    (
        Menu(
            head="Help",
            items=(
                MenuMiniProgram("wx1", "pages/index", "Shop"),
                MenuText("or type", no_newline=True),
                MenuText("anything"),
            ),
            tail="Thanks",
        ),
        "msgmenu",
        {
            "head_content": "Help",
            "list": [
                {
                    "type": "miniprogram",
                    "miniprogram": {"appid": "wx1", "pagepath": "pages/index", "content": "Shop"},
                },
                {"type": "text", "text": {"content": "or type", "no_newline": 1}},
                {"type": "text", "text": {"content": "anything", "no_newline": 0}},
            ],
            "tail_content": "Thanks",
        },
    ),
]


@pytest.mark.parametrize(
    ("builder", "msgtype", "body"), BODIES, ids=[f"{r[1]}-{i}" for i, r in enumerate(BODIES)]
)
def test_body_has_wecoms_shape(builder: Sendable, msgtype: str, body: dict[str, Any]) -> None:
    """msgtype and body() give exactly what send_msg expects under the msgtype key."""
    assert isinstance(builder, Sendable)
    assert builder.msgtype == msgtype
    assert builder.body() == body


def test_the_issue_example_reads_as_written() -> None:
    """Menu(head=..., items=[Click("1", "Price"), View(url, "Site")]) with positional items."""
    menu = Menu(head="Pick one", items=[Click("1", "Price"), View("https://example.com/", "Site")])
    assert menu.items == (Click("1", "Price"), View("https://example.com/", "Site"))
    assert Click("1", "Price").id == "1"
    assert View("https://example.com/", "Site").content == "Site"


def test_send_msg_on_event_accepts_text_and_menus_only() -> None:
    """EVENT_MSGTYPES names the two msgtypes send_msg_on_event takes."""
    assert frozenset({"text", "msgmenu"}) == EVENT_MSGTYPES
    assert Text("Welcome").msgtype in EVENT_MSGTYPES
    assert Menu(head="Hi").msgtype in EVENT_MSGTYPES
    assert Image(MEDIA).msgtype not in EVENT_MSGTYPES


def test_builders_are_frozen_and_bodies_are_fresh() -> None:
    """A builder cannot be changed after its checks, and changing a body leaves it intact."""
    text = Text("Hello")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        text.content = "x" * 10_000  # type: ignore[misc]
    body = text.body()
    body["content"] = "changed"
    assert text.body() == {"content": "Hello"}
