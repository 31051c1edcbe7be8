"""The simulator's knowledge base, request by request: its limits and its refusals."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from wecom_kf_async import InvalidRequestError, KfClient
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator.knowledge import (
    ADD_INTENT,
    DEFAULT_GROUP_NAME,
    ERR_KNOWLEDGE,
    LIST_GROUP,
    LIST_INTENT,
    MOD_INTENT,
)


async def errcode_of(kf: KfClient, path: str, body: Any) -> int:
    """Send *body* as is (no client-side checks) and return the errcode the simulator answers."""
    try:
        await kf.request("POST", path, json=body)
    except InvalidRequestError as exc:
        return exc.errcode
    return 0


def text(content: Any) -> dict[str, Any]:
    return {"text": {"content": content}}


def intent(sim: WeComSimulator, **change: Any) -> dict[str, Any]:
    """A valid add_intent body, with *change* applied."""
    body = {"group_id": sim.default_group_id, "question": text("q"), "answers": [text("a")]}
    return {**body, **change}


def image(media_id: str) -> dict[str, Any]:
    return {"msgtype": "image", "image": {"media_id": media_id}}


@pytest.mark.parametrize(
    ("change", "errcode"),
    [
        ({"answers": []}, ERR_KNOWLEDGE),
        ({"answers": [text("a"), text("b")]}, ERR_KNOWLEDGE),
        ({"answers": [text("a" * 501)]}, ERR_KNOWLEDGE),
        ({"answers": [text("a" * 500)]}, 0),
        ({"question": text("q" * 201)}, ERR_KNOWLEDGE),
        ({"question": text(" ")}, ERR_KNOWLEDGE),
        ({"question": {"content": "q"}}, ERR_KNOWLEDGE),
        ({"similar_questions": {"items": [text("s")] * 101}}, ERR_KNOWLEDGE),
        ({"similar_questions": {"items": [text("s")] * 100}}, 0),
        ({"similar_questions": {"items": [text("s" * 201)]}}, ERR_KNOWLEDGE),
        ({"answers": [{**text("a"), "attachments": [image("M")] * 5}]}, ERR_KNOWLEDGE),
        ({"answers": [{**text("a"), "attachments": [image("M")] * 4}]}, 0),
        ({"answers": [{**text("a"), "attachments": [{"msgtype": "file"}]}]}, ERR_KNOWLEDGE),
        ({"answers": [{**text("a"), "attachments": [{"msgtype": "link"}]}]}, ERR_KNOWLEDGE),
        (
            {
                "answers": [
                    {**text("a"), "attachments": [{"msgtype": "link", "link": {"url": "u"}}]}
                ]
            },
            ERR_KNOWLEDGE,
        ),
        ({"answers": [{**text("a"), "attachments": [image("never-uploaded")]}]}, 40007),
        ({"group_id": "kgnothere"}, ERR_KNOWLEDGE),
    ],
)
async def test_add_intent_answers_its_documented_limits(
    sim: WeComSimulator, kf: KfClient, change: dict[str, Any], errcode: int
) -> None:
    """One answer of 500 characters, 4 attachments, 100 similar questions of 200; no more."""
    sim.add_media("image", media_id="M")
    assert await errcode_of(kf, ADD_INTENT, intent(sim, **change)) == errcode
    assert len(sim.corp.knowledge.intents) == (1 if errcode == 0 else 0)


async def test_a_refused_rewrite_changes_nothing(sim: WeComSimulator, kf: KfClient) -> None:
    """mod_intent checks every part before it writes any."""
    intent_id = sim.add_knowledge_intent(sim.default_group_id, "q", "a", similar_questions=["s"])
    body = {"intent_id": intent_id, "question": text("q2"), "answers": [text("a" * 501)]}
    assert await errcode_of(kf, MOD_INTENT, body) == ERR_KNOWLEDGE
    kept = sim.corp.knowledge.intents[intent_id]
    assert (kept.question, kept.similar_questions) == ("q", ["s"])


@pytest.mark.parametrize(
    "body",
    [{"limit": 0}, {"limit": 1001}, {"limit": "5"}, {"cursor": "nonsense"}, {"cursor": 3}],
)
async def test_lists_refuse_a_bad_limit_or_cursor(
    sim: WeComSimulator, kf: KfClient, body: dict[str, Any]
) -> None:
    """limit is 1 to 1000; a cursor is one the simulator handed out."""
    for path in (LIST_GROUP, LIST_INTENT):
        assert await errcode_of(kf, path, body) == ERR_KNOWLEDGE


async def test_lists_page_by_default_500_and_filter(sim: WeComSimulator, kf: KfClient) -> None:
    """Without a limit a page holds 500; a filter that matches nothing lists nothing."""
    for number in range(501):
        sim.add_knowledge_intent(sim.default_group_id, f"q{number}", "a")
    page = await kf.request("POST", LIST_INTENT, json={})
    assert (len(page["intent_list"]), page["has_more"]) == (500, 1)
    rest = await kf.request("POST", LIST_INTENT, json={"cursor": page["next_cursor"]})
    assert ([i["question"]["text"]["content"] for i in rest["intent_list"]], rest["has_more"]) == (
        ["q500"],
        0,
    )
    for path, key in ((LIST_GROUP, "group_id"), (LIST_INTENT, "intent_id")):
        nothing = await kf.request("POST", path, json={key: "nothere"})
        assert nothing["has_more"] == 0
        assert nothing[path.rsplit("_", 1)[1] + "_list"] == []


async def test_a_cursor_stays_valid_when_items_before_it_go(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """Cursors count creation order: deleting what was listed skips nothing after it."""
    ids = [sim.add_knowledge_intent(sim.default_group_id, f"q{n}", "a") for n in range(4)]
    first = await kf.request("POST", LIST_INTENT, json={"limit": 2})
    del sim.corp.knowledge.intents[ids[0]]
    rest = await kf.request("POST", LIST_INTENT, json={"limit": 2, "cursor": first["next_cursor"]})
    assert [i["intent_id"] for i in rest["intent_list"]] == ids[2:]


async def test_the_knowledge_endpoints_need_a_valid_token(sim: WeComSimulator) -> None:
    """Like every endpoint, an unknown access_token is refused (40014), nothing is made."""
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://wecom.sim") as http:
        answer = await http.post(
            "/cgi-bin/kf/knowledge/add_group", params={"access_token": "nope"}, json={"name": "x"}
        )
    assert answer.json()["errcode"] == 40014
    assert len(sim.corp.knowledge.groups) == 1


def test_every_simulator_has_the_default_group_and_the_demo_has_an_intent() -> None:
    """The default group exists from the start; seed_demo adds a group with one intent."""
    sim = WeComSimulator()
    (group,) = sim.corp.knowledge.groups.values()
    assert (group.group_id, group.name, group.is_default) == (
        sim.default_group_id,
        DEFAULT_GROUP_NAME,
        True,
    )
    sim.seed_demo()
    (demo,) = sim.corp.knowledge.intents.values()
    assert demo.group_id != sim.default_group_id
    assert demo.answers[0]["attachments"][0]["image"]["media_id"] in sim.corp.media
    assert WeComSimulator().default_group_id == sim.default_group_id  # reproducible
