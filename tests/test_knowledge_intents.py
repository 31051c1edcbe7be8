"""kf.knowledge's intents (add/mod/del/list_intent) against the simulator: checks and safety."""

from __future__ import annotations

from typing import Any

import pytest

from wecom_kf_async import (
    InvalidRequestError,
    InvalidResponseError,
    KfClient,
    KnowledgeAttachment,
    KnowledgeImage,
    KnowledgeIntent,
    KnowledgeLink,
    KnowledgeMiniProgram,
    KnowledgeVideo,
    OutcomeUnknownError,
    UnknownKnowledgeAttachment,
)
from wecom_kf_async.testing import WeComSimulator

from .conftest import client_for
from .test_knowledge import ADD_INTENT, LIST_INTENT, MOD_INTENT, all_intents, sent


async def test_add_intent_with_every_attachment_kind_lists_it_back(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """The intent comes back with its similar questions; media are listed by file name."""
    image = sim.add_media("image", filename="return.png")
    video = sim.add_media("video", filename="how.mp4")
    group_id = await kf.knowledge.add_group("售后")
    attachments: list[KnowledgeAttachment] = [
        KnowledgeImage(media_id=image),
        KnowledgeVideo(media_id=video),
        KnowledgeLink(title="退货政策", url="https://example.com/returns", desc="七天无理由"),
        KnowledgeMiniProgram(appid="wx123", pagepath="pages/returns", thumb_media_id=image),
    ]
    intent_id = await kf.knowledge.add_intent(
        group_id,
        "怎么退货?",
        "在订单页申请。",
        similar_questions=["如何退货", "能退吗"],
        attachments=attachments,
    )
    assert isinstance(intent_id, str)
    intent = await kf.knowledge.get_intent(intent_id)
    assert intent is not None
    assert (intent.group_id, intent.question) == (group_id, "怎么退货?")
    assert intent.similar_questions == ("如何退货", "能退吗")
    assert intent.answer is not None
    assert intent.answer.text == "在订单页申请。"
    assert intent.answer.attachments == (
        KnowledgeImage(name="return.png"),
        KnowledgeVideo(name="how.mp4"),
        KnowledgeLink(title="退货政策", url="https://example.com/returns", desc="七天无理由"),
        KnowledgeMiniProgram(appid="wx123", pagepath="pages/returns"),
    )


_BAD_INTENTS: list[tuple[dict[str, Any], type[Exception], str]] = [
    ({"question": "q" * 201}, ValueError, "question"),
    ({"question": "   "}, ValueError, "question"),
    ({"question": 5}, TypeError, "question"),
    ({"answer": "a" * 501}, ValueError, "answer"),
    ({"answer": ""}, ValueError, "answer"),
    ({"similar_questions": "one string"}, TypeError, "similar_questions"),
    ({"similar_questions": ["q"] * 101}, ValueError, "similar_questions"),
    ({"similar_questions": ["ok", "q" * 201]}, ValueError, r"similar_questions\[1\]"),
    ({"attachments": [KnowledgeImage(media_id="m")] * 5}, ValueError, "attachments"),
    (
        {"attachments": [KnowledgeImage(name="listed.png")]},
        ValueError,
        r"attachments\[0\].media_id",
    ),
    ({"attachments": [KnowledgeLink(title="t", url="ftp://x")]}, ValueError, "url"),
    ({"attachments": [KnowledgeMiniProgram(appid="", pagepath="p")]}, ValueError, "appid"),
    ({"attachments": [{"msgtype": "image"}]}, TypeError, r"attachments\[0\]"),
    (
        {"attachments": [UnknownKnowledgeAttachment(kind="file", raw={})]},
        ValueError,
        "does not know",
    ),
    ({"group_id": "bad id"}, ValueError, "group_id"),
]


@pytest.mark.parametrize(("change", "error", "argument"), _BAD_INTENTS)
async def test_add_intent_refuses_bad_input_before_any_request(
    sim: WeComSimulator, kf: KfClient, change: dict[str, Any], error: type, argument: str
) -> None:
    """Each bad argument raises naming it, and nothing is sent."""
    arguments: dict[str, Any] = {
        "group_id": sim.default_group_id,
        "question": "怎么退货?",
        "answer": "在订单页申请。",
        **change,
    }
    with pytest.raises(error, match=argument):
        await kf.knowledge.add_intent(**arguments)
    assert sent(sim) == 0


async def test_questions_are_unique_in_the_corp_and_a_group_holds_200(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """A question in another group is refused; the 201st intent of a group is refused."""
    other = sim.add_knowledge_group("other")
    await kf.knowledge.add_intent(other, "怎么退货?", "在订单页申请。")
    with pytest.raises(InvalidRequestError, match="exists already"):
        await kf.knowledge.add_intent(sim.default_group_id, "怎么退货?", "再问一次。")
    for number in range(199):
        sim.add_knowledge_intent(sim.default_group_id, f"q{number}", "a")
    await kf.knowledge.add_intent(sim.default_group_id, "the 200th", "a")
    with pytest.raises(InvalidRequestError, match="200 intents"):
        await kf.knowledge.add_intent(sim.default_group_id, "the 201st", "a")
    assert len(await all_intents(kf, sim.default_group_id)) == 200


async def test_an_attachment_needs_media_that_was_uploaded(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """An image media_id the corp never uploaded (or a video's as an image) answers 40007."""
    video = sim.add_media("video", filename="how.mp4")
    for media_id in ("never-uploaded", video):
        with pytest.raises(InvalidRequestError) as info:
            await kf.knowledge.add_intent(
                sim.default_group_id, "q", "a", attachments=[KnowledgeImage(media_id=media_id)]
            )
        assert info.value.errcode == 40007
    assert not sim.corp.knowledge.intents


async def test_update_intent_rewrites_only_the_parts_it_is_given(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """Each part is written whole; a part not given stays as it was."""
    image = sim.add_media("image", filename="a.png")
    intent_id = await kf.knowledge.add_intent(
        sim.default_group_id,
        "q1",
        "a1",
        similar_questions=["s1"],
        attachments=[KnowledgeImage(media_id=image)],
    )

    async def read() -> KnowledgeIntent:
        found = await kf.knowledge.get_intent(intent_id)
        assert found is not None
        return found

    await kf.knowledge.update_intent(intent_id, question="q2")
    intent = await read()
    assert (intent.question, intent.similar_questions) == ("q2", ("s1",))
    assert intent.answer == (await read()).answer
    assert intent.answer is not None
    assert intent.answer.attachments == (KnowledgeImage(name="a.png"),)
    await kf.knowledge.update_intent(intent_id, similar_questions=[])
    assert (await read()).similar_questions == ()
    await kf.knowledge.update_intent(intent_id, answer="a2")
    answer = (await read()).answer
    assert answer is not None
    assert (answer.text, answer.attachments) == ("a2", ())


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({}, "needs question"),
        ({"attachments": [KnowledgeLink(title="t", url="https://x.y")]}, "needs answer"),
        ({"question": ""}, "question"),
    ],
)
async def test_update_intent_refuses_before_any_request(
    sim: WeComSimulator, kf: KfClient, arguments: dict[str, Any], message: str
) -> None:
    """Nothing to change, or attachments without their answer, is refused; nothing is sent."""
    with pytest.raises(ValueError, match=message):
        await kf.knowledge.update_intent("kiany", **arguments)
    assert sent(sim) == 0


async def test_delete_intent_and_unknown_ids(sim: WeComSimulator, kf: KfClient) -> None:
    """An intent is deleted; deleting or changing an unknown one is refused."""
    intent_id = await kf.knowledge.add_intent(sim.default_group_id, "q", "a")
    await kf.knowledge.delete_intent(intent_id)
    assert await kf.knowledge.get_intent(intent_id) is None
    with pytest.raises(InvalidRequestError, match="not exist"):
        await kf.knowledge.delete_intent(intent_id)
    with pytest.raises(InvalidRequestError, match="not exist"):
        await kf.knowledge.update_intent(intent_id, question="q2")
    with pytest.raises(InvalidRequestError, match="not exist"):
        await kf.knowledge.add_intent("kgnothere", "q", "a")


async def test_intents_page_through_every_group_or_one(sim: WeComSimulator, kf: KfClient) -> None:
    """intents() pages with the cursor over every group; intents(group_id) keeps to one."""
    other = sim.add_knowledge_group("other")
    for number in range(5):
        sim.add_knowledge_intent(sim.default_group_id if number % 2 else other, f"q{number}", "a")
    every = await all_intents(kf, limit=2)
    assert [i.question for i in every] == [f"q{n}" for n in range(5)]
    assert sim.stats.calls[LIST_INTENT] == 3
    assert [i.question for i in await all_intents(kf, other)] == ["q0", "q2", "q4"]


@pytest.mark.parametrize("fault", ["lost", "drop"])
async def test_add_intent_with_an_unknown_outcome_adds_exactly_one(
    sim: WeComSimulator, fault: str
) -> None:
    """The intent is added, its answer lost or cut: OutcomeUnknownError, no second try."""
    sim.script(ADD_INTENT, [fault])
    async with client_for(sim, timeout=0.2) as kf:
        with pytest.raises(OutcomeUnknownError) as info:
            await kf.knowledge.add_intent(sim.default_group_id, "怎么退货?", "在订单页申请。")
        assert "kf.knowledge.intents(group_id)" in info.value.check
        assert sim.stats.calls[ADD_INTENT] == 1
        listed = await all_intents(kf, sim.default_group_id)
        assert [i.question for i in listed] == ["怎么退货?"]


async def test_a_rewrite_whose_answer_was_cut_is_retried(sim: WeComSimulator, kf: KfClient) -> None:
    """mod_intent is idempotent: it is sent again (its own question is not "taken")."""
    intent_id = await kf.knowledge.add_intent(sim.default_group_id, "q", "a")
    sim.script(MOD_INTENT, ["drop"])
    await kf.knowledge.update_intent(intent_id, question="q2", answer="a2")
    assert sim.stats.calls[MOD_INTENT] == 2
    assert sim.corp.knowledge.intents[intent_id].question == "q2"


async def test_attachments_no_model_fits_are_kept_raw(sim: WeComSimulator, kf: KfClient) -> None:
    """An unknown msgtype and a link without url come as UnknownKnowledgeAttachment with raw."""
    unknown = {"msgtype": "file", "file": {"name": "terms.pdf"}}
    broken = {"msgtype": "link", "link": {"title": "no url"}}
    intent = {
        "group_id": "g",
        "intent_id": "i",
        "question": {"text": {"content": "q"}},
        "answers": [{"text": {"content": "a"}, "attachments": [unknown, broken, 7]}],
    }
    sim.script(LIST_INTENT, [{"intent_list": [intent]}])
    (listed,) = await all_intents(kf)
    assert listed.answer is not None
    assert listed.answer.attachments == (
        UnknownKnowledgeAttachment(kind="file", raw=unknown),
        UnknownKnowledgeAttachment(kind="link", malformed=True, raw=broken),
        UnknownKnowledgeAttachment(kind="", raw=7),
    )


@pytest.mark.parametrize(
    "intent",
    [
        {"group_id": "g", "question": {"text": {"content": "q"}}},
        {"group_id": "g", "intent_id": "i", "question": {"text": {}}},
        {"group_id": "g", "intent_id": "i", "question": {"text": {"content": "q"}}, "answers": {}},
    ],
    ids=["no intent_id", "no question text", "answers not a list"],
)
async def test_an_intent_of_the_wrong_shape_raises(
    sim: WeComSimulator, kf: KfClient, intent: dict[str, Any]
) -> None:
    """A malformed intent raises InvalidResponseError naming list_intent."""
    sim.script(LIST_INTENT, [{"intent_list": [intent]}])
    with pytest.raises(InvalidResponseError) as info:
        await all_intents(kf)
    assert info.value.path == LIST_INTENT
