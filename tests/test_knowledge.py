"""kf.knowledge's groups (add/mod/del/list_group) against the simulator: checks, paging, safety."""

from __future__ import annotations

from typing import Any

import pytest

from wecom_kf_async import (
    InvalidRequestError,
    InvalidResponseError,
    KfClient,
    KnowledgeGroup,
    KnowledgeIntent,
    OutcomeUnknownError,
)
from wecom_kf_async.resources.knowledge import MAX_LIST_PAGES
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator.knowledge import DEFAULT_GROUP_NAME

from .conftest import client_for

ADD_GROUP, DEL_GROUP = "kf/knowledge/add_group", "kf/knowledge/del_group"
MOD_GROUP, LIST_GROUP = "kf/knowledge/mod_group", "kf/knowledge/list_group"
ADD_INTENT, DEL_INTENT = "kf/knowledge/add_intent", "kf/knowledge/del_intent"
MOD_INTENT, LIST_INTENT = "kf/knowledge/mod_intent", "kf/knowledge/list_intent"


def sent(sim: WeComSimulator) -> int:
    """Requests the simulator received, token requests included."""
    return sum(sim.stats.calls.values())


async def all_groups(kf: KfClient, **options: Any) -> list[KnowledgeGroup]:
    return [group async for group in kf.knowledge.groups(**options)]


async def all_intents(kf: KfClient, *args: Any, **options: Any) -> list[KnowledgeIntent]:
    return [intent async for intent in kf.knowledge.intents(*args, **options)]


# ---------------------------------------------------------------------------- groups


async def test_add_group_returns_the_new_group_id(sim: WeComSimulator, kf: KfClient) -> None:
    """add_group(name) answers the new group's id, a str, and the corp holds the group."""
    group_id = await kf.knowledge.add_group("售后")
    assert isinstance(group_id, str)
    assert sim.corp.knowledge.groups[group_id].name == "售后"
    assert sim.stats.calls[ADD_GROUP] == 1


async def test_groups_yields_every_group_the_default_one_included(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """groups() is an async iterator of every group; the default one has is_default True."""
    first = await kf.knowledge.add_group("售后")
    second = await kf.knowledge.add_group("Shipping")
    groups = await all_groups(kf)
    assert [(g.group_id, g.name, g.is_default) for g in groups] == [
        (sim.default_group_id, DEFAULT_GROUP_NAME, True),
        (first, "售后", False),
        (second, "Shipping", False),
    ]
    assert all(isinstance(group, KnowledgeGroup) for group in groups)


async def test_a_group_name_may_be_twelve_characters_of_any_script(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """The limit counts characters: 12 CJK characters pass the checks and the simulator."""
    group_id = await kf.knowledge.add_group("知识" * 6)
    assert sim.corp.knowledge.groups[group_id].name == "知识" * 6


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("x" * 13, ValueError),
        ("知" * 13, ValueError),
        ("", ValueError),
        ("  ", ValueError),
        (5, TypeError),
        (None, TypeError),
    ],
)
async def test_add_group_refuses_a_bad_name_before_any_request(
    sim: WeComSimulator, kf: KfClient, name: Any, error: type[Exception]
) -> None:
    """A bad name raises naming the argument; nothing is sent."""
    with pytest.raises(error, match="name"):
        await kf.knowledge.add_group(name)
    with pytest.raises(error, match="name"):
        await kf.knowledge.update_group(sim.default_group_id, name)
    assert sent(sim) == 0


@pytest.mark.parametrize("group_id", ["", "has space", "x" * 257, "tab\there"])
async def test_a_bad_group_id_is_refused_before_any_request(
    sim: WeComSimulator, kf: KfClient, group_id: str
) -> None:
    """Ids are checked (non-empty, no whitespace, bounded) before anything is sent."""
    with pytest.raises(ValueError, match="group_id"):
        await kf.knowledge.delete_group(group_id)
    with pytest.raises(ValueError, match="group_id"):
        kf.knowledge.intents(group_id)
    assert sent(sim) == 0


async def test_the_default_group_cannot_be_renamed_or_deleted(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """WeCom refuses a change to the default group; it stays as it was."""
    for change in (
        kf.knowledge.update_group(sim.default_group_id, "Renamed"),
        kf.knowledge.delete_group(sim.default_group_id),
    ):
        with pytest.raises(InvalidRequestError, match="default group") as info:
            await change
        assert info.value.errcode == 40058
    assert [g.name for g in await all_groups(kf)] == [DEFAULT_GROUP_NAME]


async def test_group_names_are_unique_and_a_corp_has_at_most_100_groups(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """A taken name is refused; the default group and 99 others fill the corp."""
    await kf.knowledge.add_group("售后")
    with pytest.raises(InvalidRequestError, match="taken"):
        await kf.knowledge.add_group("售后")
    for number in range(97):
        sim.add_knowledge_group(f"g{number}")
    await kf.knowledge.add_group("the 100th")
    with pytest.raises(InvalidRequestError, match="100 groups"):
        await kf.knowledge.add_group("the 101st")
    assert len(await all_groups(kf)) == 100


async def test_update_group_renames_and_delete_group_deletes_with_its_intents(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """A group is renamed (even to its own name), then deleted; its intents go with it."""
    group_id = await kf.knowledge.add_group("售后")
    await kf.knowledge.add_intent(group_id, "怎么换货?", "联系客服。")
    await kf.knowledge.update_group(group_id, "After sales")
    await kf.knowledge.update_group(group_id, "After sales")
    assert (await kf.knowledge.get_group(group_id)) == KnowledgeGroup(
        group_id=group_id, name="After sales", is_default=False
    )
    await kf.knowledge.delete_group(group_id)
    assert await kf.knowledge.get_group(group_id) is None
    assert await all_intents(kf) == []


@pytest.mark.parametrize("fault", ["lost", "drop"])
async def test_add_group_with_an_unknown_outcome_makes_exactly_one_group(
    sim: WeComSimulator, fault: str
) -> None:
    """The group is made, its answer lost or cut: OutcomeUnknownError, no second try."""
    sim.script(ADD_GROUP, [fault])
    async with client_for(sim, timeout=0.2) as kf:
        with pytest.raises(OutcomeUnknownError) as info:
            await kf.knowledge.add_group("售后")
        assert info.value.path == ADD_GROUP
        assert "kf.knowledge.groups()" in info.value.check
        assert sim.stats.calls[ADD_GROUP] == 1
        # What the error says to check finds the group.
        assert [g.name for g in await all_groups(kf) if not g.is_default] == ["售后"]


async def test_add_group_after_a_proxy_502_is_not_retried(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """A 502 may come after the work was done: add_group does not send again."""
    sim.script(ADD_GROUP, ["http502"])
    with pytest.raises(OutcomeUnknownError):
        await kf.knowledge.add_group("售后")
    assert sim.stats.calls[ADD_GROUP] == 1


async def test_add_group_is_retried_after_an_errcode(sim: WeComSimulator, kf: KfClient) -> None:
    """WeCom answered "system busy" (it did nothing): the add is retried and made once."""
    sim.script(ADD_GROUP, [-1])
    group_id = await kf.knowledge.add_group("售后")
    assert sim.stats.calls[ADD_GROUP] == 2
    assert [g.group_id for g in await all_groups(kf) if not g.is_default] == [group_id]


async def test_a_rename_whose_answer_was_cut_is_retried(sim: WeComSimulator, kf: KfClient) -> None:
    """mod_group is idempotent: after a cut-off answer it is sent again and succeeds."""
    group_id = await kf.knowledge.add_group("售后")
    sim.script(MOD_GROUP, ["drop"])
    await kf.knowledge.update_group(group_id, "After sales")
    assert sim.stats.calls[MOD_GROUP] == 2
    assert sim.corp.knowledge.groups[group_id].name == "After sales"


async def test_a_retried_delete_whose_first_try_went_through_raises_the_refusal(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """No "already deleted" code is documented: the retry's refusal is raised, the group gone."""
    group_id = await kf.knowledge.add_group("售后")
    sim.script(DEL_GROUP, ["drop"])
    with pytest.raises(InvalidRequestError, match="not exist"):
        await kf.knowledge.delete_group(group_id)
    assert sim.stats.calls[DEL_GROUP] == 2
    assert group_id not in sim.corp.knowledge.groups


# ---------------------------------------------------------------------------- paging


async def test_groups_page_with_the_cursor_until_has_more_is_0(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """With 2 per page, 5 groups take 3 list_group calls, in order, none twice."""
    names = [f"g{number}" for number in range(4)]
    for name in names:
        sim.add_knowledge_group(name)
    groups = await all_groups(kf, limit=2)
    assert [g.name for g in groups] == [DEFAULT_GROUP_NAME, *names]
    assert sim.stats.calls[LIST_GROUP] == 3


@pytest.mark.parametrize("limit", [0, 1001, True, "5"])
async def test_a_bad_limit_is_refused_before_any_request(
    sim: WeComSimulator, kf: KfClient, limit: Any
) -> None:
    """limit is 1 to 1000 (an int, not a bool)."""
    with pytest.raises((TypeError, ValueError), match="limit"):
        kf.knowledge.groups(limit=limit)
    with pytest.raises((TypeError, ValueError), match="limit"):
        kf.knowledge.intents(limit=limit)
    assert sent(sim) == 0


@pytest.mark.parametrize(
    "pages",
    [
        [{"has_more": 1, "next_cursor": ""}],
        [{"has_more": 1}, {"has_more": 1, "next_cursor": None}],
        [{"has_more": 1, "next_cursor": "KBC00000001"}] * 2,
    ],
    ids=["empty cursor", "no cursor", "same cursor again"],
)
async def test_paging_that_would_never_end_raises(
    sim: WeComSimulator, kf: KfClient, pages: list[dict[str, Any]]
) -> None:
    """has_more without a new next_cursor is a malformed answer, not a loop."""
    sim.script(LIST_GROUP, pages)
    with pytest.raises(InvalidResponseError, match="has_more"):
        await all_groups(kf)
    assert sim.stats.calls[LIST_GROUP] <= 2


async def test_paging_stops_after_max_list_pages(sim: WeComSimulator, kf: KfClient) -> None:
    """A server handing out a new cursor forever gets MAX_LIST_PAGES calls, then an error."""
    sim.script(LIST_GROUP, [{"has_more": 1, "next_cursor": f"KBC{n:08x}"} for n in range(1100)])
    with pytest.raises(InvalidResponseError, match=f"after {MAX_LIST_PAGES} pages"):
        await all_groups(kf)
    assert sim.stats.calls[LIST_GROUP] == MAX_LIST_PAGES


@pytest.mark.parametrize(
    "fields",
    [
        {"group_list": {}},
        {"has_more": 2},
        {"next_cursor": 5},
        {"group_list": [{"group_id": "g", "name": "n", "is_default": "yes"}]},
        {"group_list": [{"name": "no id"}]},
    ],
)
async def test_a_page_of_the_wrong_shape_raises(
    sim: WeComSimulator, kf: KfClient, fields: dict[str, Any]
) -> None:
    """A malformed list_group page raises InvalidResponseError naming the path."""
    sim.script(LIST_GROUP, [fields])
    with pytest.raises(InvalidResponseError) as info:
        await all_groups(kf)
    assert info.value.path == LIST_GROUP


async def test_get_group_finds_a_group_or_none(sim: WeComSimulator, kf: KfClient) -> None:
    """get_group asks list_group for one group; an id it does not hold is None."""
    default = await kf.knowledge.get_group(sim.default_group_id)
    assert default is not None
    assert default.is_default
    assert await kf.knowledge.get_group("kgnothere") is None
