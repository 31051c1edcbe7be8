"""Reprs identify, never disclose: no customer content or profile in any model's repr.

Issue 17, defect 16. Logs and tracebacks print reprs, so a model's repr shows what
identifies it (msgid, msgtype, open_kfid, external_userid, other ids and codes) and
withholds what a customer wrote, shared or is: text, menus, links, locations,
nicknames, avatars, unionids, one-use codes. Every public model class is walked
and built with a marker naming each str field; the repr may show only the markers
of identifying fields.
"""

from __future__ import annotations

import enum
import re
import types
import typing
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

import wecom_kf_async.models as models
from wecom_kf_async import KfClient, KfError, Text
from wecom_kf_async.testing import WeComSimulator

from .conftest import client_for

#: Fields a repr shows: what identifies a message, a party or a thing, and codes.
IDENTIFYING = frozenset(
    {
        "msgid",
        "msgtype",
        "msgtypes",
        "event_type",
        "type",
        "open_kfid",
        "external_userid",
        "servicer_userid",
        "old_servicer_userid",
        "new_servicer_userid",
        "userid",
        "fail_msgid",
        "recall_msgid",
        "media_id",
        "thumb_media_id",
        "menu_id",
        "id",
        "appid",
        "product_id",
        "chat_id",
        "scene",
        "next_cursor",
        "invalid_external_userids",
        "failed",
        "userid_list",
        "chat_id_list",
        "path",
        "errmsg",
        "group_id",
        "intent_id",
        "kind",
    }
)
#: The business's own settings, not a customer's data: (class, field) shown too.
BUSINESS_OWN = frozenset(
    {
        ("Account", "name"),
        ("Account", "avatar"),
        ("ContactWay", "url"),
        ("UpgradeMember", "wording"),
        ("UpgradeGroupChat", "wording"),
        ("DownloadedMedia", "content_type"),  # what kind of file: no one's content
        # The knowledge base is the business's own answers, written by its staff.
        ("KnowledgeGroup", "name"),
        ("KnowledgeImage", "name"),
        ("KnowledgeVideo", "name"),
        ("KnowledgeLink", "title"),
        ("KnowledgeLink", "desc"),
        ("KnowledgeLink", "url"),
        ("KnowledgeLink", "pic_url"),
        ("KnowledgeMiniProgram", "title"),
        ("KnowledgeMiniProgram", "pagepath"),
    }
)
MARKER = re.compile(r"PII:(\w+):(\w+):")
#: A coordinate no test value shares, to find a location in a repr.
LATITUDE = 31.2304161


def _model_classes() -> list[type]:
    return [
        cls
        for name in models.__all__
        if isinstance(cls := getattr(models, name), type) and attrs.has(cls)
    ]


def _value(hint: Any, owner: str, field: str) -> Any:
    """A value of type *hint*; strings carry a marker naming their class and field."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in args if arg is not type(None)]
        return _value(str if str in options else options[0], owner, field)
    if hint is str:
        return f"PII:{owner}:{field}:"
    if hint is bool:
        return True
    if hint is int:
        return 7
    if hint is float:
        return LATITUDE
    if hint is datetime:
        return datetime(2024, 5, 1, tzinfo=UTC)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return next(iter(hint))
    if isinstance(hint, type) and attrs.has(hint):
        return build(hint)
    if origin is list:
        return [_value(args[0], owner, field)]
    if origin is tuple:
        return (_value(args[0], owner, field),)
    if origin is frozenset:
        return frozenset({_value(args[0], owner, field)})
    if origin is dict:
        value = KfError("boom") if args[1] is Exception else _value(args[1], owner, field)
        return {_value(args[0], owner, field): value}
    if hint is Any:
        return {"key": f"PII:{owner}:{field}:"}
    raise AssertionError(f"no test value for {owner}.{field}: {hint!r}")


def build(cls: type) -> Any:
    """An instance of the attrs class *cls* with a marked value in every field."""
    hints = typing.get_type_hints(cls)
    return cls(
        **{
            field.alias: _value(hints[field.name], cls.__name__, field.name)
            for field in attrs.fields(cls)
            if field.init
        }
    )


def _disclosed(text: str) -> set[tuple[str, str]]:
    """The (class, field) of every marker in *text* that a repr may not show."""
    return {
        (owner, field)
        for owner, field in MARKER.findall(text)
        if field not in IDENTIFYING and (owner, field) not in BUSINESS_OWN
    }


@pytest.mark.parametrize("cls", _model_classes(), ids=lambda cls: cls.__name__)
def test_a_models_repr_shows_no_customer_content(cls: type) -> None:
    """Every public model: no marker of a non-identifying field in its repr, nested or not."""
    instance = build(cls)
    shown = repr(instance)
    assert not _disclosed(shown), shown
    if "Location" in cls.__name__:  # coordinates are no str, but as personal
        assert str(LATITUDE) not in shown, shown


def test_the_walk_covers_the_classes_the_issue_names() -> None:
    """TextMessage, SyncPage, Customer and BatchGetResult are among the walked classes."""
    names = {cls.__name__ for cls in _model_classes()}
    assert {"TextMessage", "SyncPage", "Customer", "BatchGetResult", "LocationMessage"} <= names
    assert len(names) > 60


def test_a_repr_still_identifies_the_message() -> None:
    """A text message's repr shows msgid, open_kfid, external_userid, msgtype; content by size."""
    shown = repr(build(models.TextMessage))
    for field in ("msgid", "open_kfid", "external_userid"):
        assert f"PII:TextMessage:{field}:" in shown
    assert "msgtype=" in shown
    assert "content=<" in shown  # withheld, its length shown


async def test_reprs_of_what_the_api_returns_hold_no_content(sim: WeComSimulator) -> None:
    """A page read over HTTP and a batch_get result: no text, nickname, avatar or unionid."""
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    secret_words = "my phone is 13800138000"
    sim.customer_says(kfid, "wmAlice", Text(secret_words))
    sim.add_customer(
        "wmAlice", nickname="Alice Wang", avatar="https://a.example/alice.png", unionid="oUNION42"
    )
    async with client_for(sim) as kf:
        assert isinstance(kf, KfClient)
        page = await kf.messages.sync(open_kfid=kfid)
        result = await kf.customers.batch_get(["wmAlice"])
    shown = repr(page) + repr(page.messages) + repr(result) + repr(result["wmAlice"])
    assert result["wmAlice"].nickname == "Alice Wang"
    for private in (secret_words, "Alice Wang", "alice.png", "oUNION42"):
        assert private not in shown
    assert "wmAlice" in shown
