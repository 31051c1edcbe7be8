"""A lone surrogate is refused as a ValueError naming the field (issue 17, defect 17).

A Python str may hold a lone surrogate (``"\\ud800"``, from a bad decode or a JSON
escape) that UTF-8 cannot encode. Every check that measures text in bytes, and
every place that encodes text we are given, must say which field is wrong instead
of letting a bare ``UnicodeEncodeError`` out.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from wecom_kf_async import (
    Click,
    InvalidResponseError,
    KfClient,
    Link,
    Location,
    Menu,
    MenuMiniProgram,
    MenuText,
    MiniProgram,
    Text,
    View,
)
from wecom_kf_async import _checks as checks
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator

from .conftest import client_for

LONE = "\ud800"
URL = "https://example.com/"
MEDIA = "MEDIA_ID"

#: Each builder with a lone surrogate in one field, and the name the error must give.
BUILDERS: list[tuple[str, Callable[[], object]]] = [
    ("Text.content", lambda: Text(LONE)),
    ("Text.content", lambda: Text("ok " + LONE + " ok")),
    ("Link.title", lambda: Link(title=LONE, url=URL, thumb_media_id=MEDIA)),
    ("Link.desc", lambda: Link(title="t", url=URL, thumb_media_id=MEDIA, desc=LONE)),
    ("Link.url", lambda: Link(title="t", url=URL + LONE, thumb_media_id=MEDIA)),
    (
        "MiniProgram.title",
        lambda: MiniProgram(appid="wx1", title=LONE, thumb_media_id=MEDIA, pagepath="p"),
    ),
    ("Location.name", lambda: Location(latitude=1.0, longitude=2.0, name=LONE)),
    ("Location.address", lambda: Location(latitude=1.0, longitude=2.0, address=LONE)),
    ("Menu.head", lambda: Menu(head=LONE, items=[Click("1", "a")])),
    ("Menu.tail", lambda: Menu(tail=LONE)),
    ("Click.content", lambda: Click("1", LONE)),
    ("View.content", lambda: View(URL, LONE)),
    ("MenuMiniProgram.content", lambda: MenuMiniProgram("wx1", "p", LONE)),
    ("MenuText.content", lambda: MenuText(LONE)),
]


@pytest.mark.parametrize(("name", "make"), BUILDERS, ids=[name for name, _ in BUILDERS])
def test_a_builder_names_the_field_holding_a_lone_surrogate(
    name: str, make: Callable[[], object]
) -> None:
    """ValueError naming the field, not a bare UnicodeEncodeError."""
    with pytest.raises(ValueError, match=rf"^{name} ") as info:
        make()
    assert not isinstance(info.value, UnicodeError)
    assert "surrogate" in str(info.value)


@pytest.mark.parametrize(
    "check",
    [
        lambda: checks.text("code", LONE, max_bytes=256),
        lambda: checks.text("code", LONE),
        lambda: checks.open_kfid(LONE),
        lambda: checks.cursor("abc" + LONE),
        lambda: checks.wording(LONE),
        lambda: checks.scene_param(LONE),
    ],
    ids=["bounded", "unbounded", "open_kfid", "cursor", "wording", "scene_param"],
)
def test_every_text_check_refuses_a_lone_surrogate_by_name(check: Callable[[], object]) -> None:
    """The root check (_checks.text) gives every argument check the same ValueError."""
    with pytest.raises(ValueError, match="surrogate") as info:
        check()
    assert not isinstance(info.value, UnicodeError)
    assert "surrogate" in str(info.value)


def test_plain_text_still_passes_with_its_byte_count() -> None:
    """Emoji and CJK pass and are measured in UTF-8 bytes, as before."""
    assert checks.text("t", "你好🙂", max_bytes=10) == "你好🙂"
    with pytest.raises(ValueError, match="11 bytes"):
        checks.text("t", "你好🙂x", max_bytes=10)


async def test_sending_never_reaches_the_encoder_with_a_surrogate(sim: WeComSimulator) -> None:
    """send() of an event code with a lone surrogate: ValueError naming code, nothing sent."""
    async with client_for(sim) as kf:
        with pytest.raises(ValueError, match=r"^code ") as info:
            await kf.messages.send_on_event("abc" + LONE, Text("hi"))
    assert not isinstance(info.value, UnicodeError)
    assert sim.stats.calls.get("kf/send_msg_on_event", 0) == 0


@pytest.mark.parametrize("field", ["corp_id", "secret"])
def test_the_client_refuses_credentials_holding_a_lone_surrogate(field: str) -> None:
    """KfClient names corp_id or secret (never showing the secret) instead of failing to encode."""
    values = {"corp_id": "wwcorp", "secret": SIM_SECRET, field: "x" + LONE}
    with pytest.raises(ValueError, match=rf"^{field} ") as info:
        KfClient(**values)
    assert not isinstance(info.value, UnicodeError)
    assert LONE not in str(info.value)


async def test_an_access_token_with_a_lone_surrogate_is_an_invalid_response(
    sim: WeComSimulator,
) -> None:
    """gettoken answering a token UTF-8 cannot hold: InvalidResponseError (retried), no crash."""
    sim.set_fault_rate("gettoken", 1.0, [{"access_token": "tok" + LONE}])
    async with client_for(sim) as kf:
        with pytest.raises(InvalidResponseError, match="access_token"):
            await kf.tokens.get()
    assert sim.stats.calls["gettoken"] > 1
