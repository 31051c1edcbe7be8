"""The JSON examples of pages 95971 and 95972: the library sends and reads them as the pages say.

Requests: what ``kf.knowledge`` sends for the page's values is the page's example,
and the simulator accepts it. Answers: the page's example answers parse into the
typed models, through the client's own path (the simulator answers them).
Corrected typos of the pages: the add_group answer reads ``"group_id" "GROUP_ID"``
(no colon). The list_intent example nests ``similar_questions`` and ``answers``
inside ``question``, where the page's table has them beside it: both are read.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wecom_kf_async import (
    KfClient,
    KnowledgeAnswer,
    KnowledgeGroup,
    KnowledgeImage,
    KnowledgeIntent,
)
from wecom_kf_async.models import structure
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator
from wecom_kf_async.testing.simulator._state import SimIntent, SimKnowledgeGroup

OK = {"errcode": 0, "errmsg": "ok"}

# ------------------------------------------------------------ page 95971 (groups)
ADD_GROUP_REQUEST = {"name": "分组名"}
ADD_GROUP_ANSWER = {"errcode": 0, "errmsg": "ok", "group_id": "GROUP_ID"}
DEL_GROUP_REQUEST = {"group_id": "GROUP_ID"}
MOD_GROUP_REQUEST = {"group_id": "GROUP_ID", "name": "分组名"}
LIST_GROUP_REQUEST = {"cursor": "CURSOR", "limit": 100, "group_id": "GROUP_ID"}
LIST_GROUP_ANSWER = {
    "errcode": 0,
    "errmsg": "ok",
    "next_cursor": "NEXT_CURSOR",
    "has_more": 1,
    "group_list": [
        {"group_id": "GROUP_ID", "name": "NAME", "is_default": 1},
        {"group_id": "GROUP_ID", "name": "NAME", "is_default": 0},
    ],
}

# ----------------------------------------------------------- page 95972 (intents)
_QUESTIONS = {
    "question": {"text": {"content": "主问题"}},
    "similar_questions": {
        "items": [{"text": {"content": "相似问题1"}}, {"text": {"content": "相似问题2"}}]
    },
    "answers": [
        {
            "text": {"content": "问题的回复"},
            "attachments": [{"msgtype": "image", "image": {"media_id": "MEDIA_ID"}}],
        }
    ],
}
ADD_INTENT_REQUEST = {"group_id": "GROUP_ID", **_QUESTIONS}
ADD_INTENT_ANSWER = {"errcode": 0, "errmsg": "ok", "intent_id": "INTENT_ID"}
DEL_INTENT_REQUEST = {"intent_id": "INTENT_ID"}
MOD_INTENT_REQUEST = {"intent_id": "INTENT_ID", **_QUESTIONS}
LIST_INTENT_REQUEST = {
    "cursor": "CURSOR",
    "limit": 100,
    "group_id": "GROUP_ID",
    "intent_id": "INTENT_ID",
}
LIST_INTENT_ANSWER = {
    "errcode": 0,
    "errmsg": "ok",
    "next_cursor": "NEXT_CURSOR",
    "has_more": 1,
    "intent_list": [
        {
            "group_id": "GROUP_ID",
            "intent_id": "INTENT_ID",
            "question": {
                "text": {"content": "主问题"},
                "similar_questions": {
                    "items": [
                        {"text": {"content": "相似问题1"}},
                        {"text": {"content": "相似问题2"}},
                    ]
                },
                "answers": [
                    {
                        "text": {"content": "问题的回复"},
                        "attachments": [
                            {"msgtype": "image", "image": {"name": "图片（仅返回名字）.jpg"}}
                        ],
                    }
                ],
            },
        }
    ],
}

#: The intent of LIST_INTENT_ANSWER, typed.
EXAMPLE_INTENT = KnowledgeIntent(
    intent_id="INTENT_ID",
    group_id="GROUP_ID",
    question="主问题",
    similar_questions=("相似问题1", "相似问题2"),
    answers=(
        KnowledgeAnswer(
            text="问题的回复", attachments=(KnowledgeImage(name="图片（仅返回名字）.jpg"),)
        ),
    ),
)
EXAMPLE_GROUPS = [
    KnowledgeGroup(group_id="GROUP_ID", name="NAME", is_default=True),
    KnowledgeGroup(group_id="GROUP_ID", name="NAME", is_default=False),
]
#: What the simulator answers after the example's NEXT_CURSOR (the last page).
LAST_PAGE = {"errcode": 0, "errmsg": "ok", "next_cursor": "", "has_more": 0}


class Recorder:
    """An ASGI app in front of the simulator that keeps each request's JSON body, by path."""

    def __init__(self, app: WeComSimulator) -> None:
        self.app = app
        self.bodies: dict[str, list[Any]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def recording() -> Any:
            message = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
            return message

        await self.app(scope, recording, send)
        path = scope["path"].removeprefix("/cgi-bin/")
        if path.startswith("kf/"):
            self.bodies.setdefault(path, []).append(json.loads(b"".join(chunks)))


@pytest.fixture
def example_sim() -> WeComSimulator:
    """A simulator holding the pages' GROUP_ID, INTENT_ID and MEDIA_ID."""
    sim = WeComSimulator()
    sim.corp.knowledge.groups["GROUP_ID"] = SimKnowledgeGroup(group_id="GROUP_ID", name="x", seq=90)
    sim.add_media("image", filename="图片.jpg", media_id="MEDIA_ID")
    return sim


@pytest.fixture
def recorder(example_sim: WeComSimulator) -> Recorder:
    return Recorder(example_sim)


@pytest.fixture
async def kf(example_sim: WeComSimulator, recorder: Recorder) -> AsyncIterator[KfClient]:
    async with KfClient(
        corp_id=example_sim.corp_id,
        secret=SIM_SECRET,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=recorder),
        rate_limit=None,
    ) as client:
        yield client


def add_example_intent(sim: WeComSimulator) -> None:
    sim.corp.knowledge.intents["INTENT_ID"] = SimIntent(
        intent_id="INTENT_ID", group_id="GROUP_ID", question="旧问题", seq=91
    )


async def test_group_requests_are_the_pages_examples(
    kf: KfClient, recorder: Recorder, example_sim: WeComSimulator
) -> None:
    """add_group, mod_group and del_group send the page's bodies; the simulator takes them."""
    added = await kf.knowledge.add_group("分组名")
    assert recorder.bodies["kf/knowledge/add_group"] == [ADD_GROUP_REQUEST]
    await kf.knowledge.update_group("GROUP_ID", "分组名2")
    await kf.knowledge.delete_group(added)  # the name is free again
    await kf.knowledge.update_group("GROUP_ID", "分组名")
    assert recorder.bodies["kf/knowledge/mod_group"][1] == MOD_GROUP_REQUEST
    assert example_sim.corp.knowledge.groups["GROUP_ID"].name == "分组名"
    await kf.knowledge.delete_group("GROUP_ID")
    assert recorder.bodies["kf/knowledge/del_group"][1] == DEL_GROUP_REQUEST
    assert "GROUP_ID" not in example_sim.corp.knowledge.groups


async def test_intent_requests_are_the_pages_examples(
    kf: KfClient, recorder: Recorder, example_sim: WeComSimulator
) -> None:
    """add_intent, mod_intent and del_intent send the page's bodies; the simulator takes them."""
    arguments: dict[str, Any] = {
        "similar_questions": ["相似问题1", "相似问题2"],
        "attachments": [KnowledgeImage(media_id="MEDIA_ID")],
    }
    added = await kf.knowledge.add_intent("GROUP_ID", "主问题", "问题的回复", **arguments)
    assert recorder.bodies["kf/knowledge/add_intent"] == [ADD_INTENT_REQUEST]
    await kf.knowledge.delete_intent(added)  # the question is free again
    add_example_intent(example_sim)
    await kf.knowledge.update_intent(
        "INTENT_ID", question="主问题", answer="问题的回复", **arguments
    )
    assert recorder.bodies["kf/knowledge/mod_intent"] == [MOD_INTENT_REQUEST]
    await kf.knowledge.delete_intent("INTENT_ID")
    assert recorder.bodies["kf/knowledge/del_intent"][1] == DEL_INTENT_REQUEST
    assert "INTENT_ID" not in example_sim.corp.knowledge.intents


async def test_list_requests_use_the_pages_fields(
    kf: KfClient, recorder: Recorder, example_sim: WeComSimulator
) -> None:
    """The lists send the page's fields, of the page's types: limit, cursor, the filters."""
    example_sim.script("kf/knowledge/list_group", [LIST_GROUP_ANSWER, LAST_PAGE])
    assert [g async for g in kf.knowledge.groups(limit=100)] == EXAMPLE_GROUPS
    example_sim.script("kf/knowledge/list_intent", [LIST_INTENT_ANSWER, LAST_PAGE])
    assert [i async for i in kf.knowledge.intents("GROUP_ID", limit=100)] == [EXAMPLE_INTENT]
    await kf.knowledge.get_intent("INTENT_ID")
    groups = recorder.bodies["kf/knowledge/list_group"]
    assert groups == [{"limit": 100}, {"limit": 100, "cursor": "NEXT_CURSOR"}]
    intents = recorder.bodies["kf/knowledge/list_intent"]
    assert intents[1] == {"limit": 100, "group_id": "GROUP_ID", "cursor": "NEXT_CURSOR"}
    assert set(intents[2]) <= set(LIST_INTENT_REQUEST)
    for body in (*groups, *intents):
        for key, value in body.items():
            assert type(value) is type(LIST_INTENT_REQUEST[key]), key


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("kf/knowledge/add_group", ADD_GROUP_REQUEST),
        ("kf/knowledge/mod_group", MOD_GROUP_REQUEST),
        ("kf/knowledge/list_group", {**LIST_GROUP_REQUEST, "cursor": ""}),
        ("kf/knowledge/add_intent", ADD_INTENT_REQUEST),
        ("kf/knowledge/list_intent", {**LIST_INTENT_REQUEST, "cursor": ""}),
        ("kf/knowledge/del_group", DEL_GROUP_REQUEST),
    ],
)
async def test_the_simulator_accepts_the_pages_request_examples(
    kf: KfClient, path: str, body: dict[str, Any]
) -> None:
    """Each request example, sent as is, is answered errcode 0.

    (A list's first call has no cursor: the page's placeholder ``CURSOR`` is sent empty.)
    """
    answer = await kf.request("POST", path, json=body)
    assert answer["errcode"] == 0


async def test_the_simulator_accepts_the_pages_intent_examples(
    kf: KfClient, example_sim: WeComSimulator
) -> None:
    """mod_intent and del_intent, as the page writes them, change INTENT_ID."""
    add_example_intent(example_sim)
    await kf.request("POST", "kf/knowledge/mod_intent", json=MOD_INTENT_REQUEST)
    assert example_sim.corp.knowledge.intents["INTENT_ID"].question == "主问题"
    await kf.request("POST", "kf/knowledge/del_intent", json=DEL_INTENT_REQUEST)
    assert not example_sim.corp.knowledge.intents


async def test_the_add_answers_give_the_new_ids(kf: KfClient, example_sim: WeComSimulator) -> None:
    """The pages' add_group and add_intent answers are read as the new ids."""
    example_sim.script("kf/knowledge/add_group", [ADD_GROUP_ANSWER])
    assert await kf.knowledge.add_group("新分组") == "GROUP_ID"
    example_sim.script("kf/knowledge/add_intent", [ADD_INTENT_ANSWER])
    assert await kf.knowledge.add_intent("GROUP_ID", "新问题", "回复") == "INTENT_ID"
    # del and mod answer {"errcode": 0, "errmsg": "ok"} alone: they return None.
    example_sim.script("kf/knowledge/del_intent", [OK])
    assert await kf.knowledge.delete_intent("INTENT_ID") is None


def test_the_list_answers_parse_into_the_models() -> None:
    """Each item of the pages' list answers structures into its model, nothing lost."""
    groups = [structure(g, KnowledgeGroup, path="p") for g in LIST_GROUP_ANSWER["group_list"]]
    assert groups == EXAMPLE_GROUPS
    (intent,) = LIST_INTENT_ANSWER["intent_list"]
    assert structure(intent, KnowledgeIntent, path="p") == EXAMPLE_INTENT
    # The table's shape (similar_questions and answers beside question) reads the same.
    question = intent["question"]
    flat = {
        "group_id": "GROUP_ID",
        "intent_id": "INTENT_ID",
        "question": {"text": question["text"]},
        "similar_questions": question["similar_questions"],
        "answers": question["answers"],
    }
    assert structure(flat, KnowledgeIntent, path="p") == EXAMPLE_INTENT
