"""Type-checked (never run) examples of kf.knowledge (mypy --strict)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from wecom_kf_async import (
    KfClient,
    KnowledgeAnswer,
    KnowledgeAPI,
    KnowledgeAttachment,
    KnowledgeGroup,
    KnowledgeImage,
    KnowledgeIntent,
    KnowledgeLink,
    KnowledgeMiniProgram,
    KnowledgeVideo,
    OutcomeUnknownError,
    UnknownKnowledgeAttachment,
)
from wecom_kf_async.testing import WeComSimulator


async def groups(kf: KfClient) -> list[str]:
    knowledge: KnowledgeAPI = kf.knowledge
    try:
        group_id: str = await knowledge.add_group("售后")
    except OutcomeUnknownError as err:
        return [err.check]
    await knowledge.update_group(group_id, "After sales")
    every: AsyncIterator[KnowledgeGroup] = knowledge.groups(limit=100)
    lines = [f"{g.group_id} {g.name} {g.is_default}" async for g in every]
    found: KnowledgeGroup | None = await knowledge.get_group(group_id)
    if found is not None and not found.is_default:
        await knowledge.delete_group(found.group_id)
    return lines


async def intents(kf: KfClient, group_id: str, media_id: str) -> list[str]:
    attachments: list[KnowledgeAttachment] = [
        KnowledgeImage(media_id=media_id),
        KnowledgeVideo(media_id=media_id),
        KnowledgeLink(title="Returns", url="https://example.com/returns", desc="7 days"),
        KnowledgeMiniProgram(appid="wx123", pagepath="pages/index", thumb_media_id=media_id),
    ]
    intent_id: str = await kf.knowledge.add_intent(
        group_id,
        "怎么退货?",
        "在订单页申请。",
        similar_questions=["如何退货"],
        attachments=attachments,
    )
    await kf.knowledge.update_intent(intent_id, question="如何退货?")
    await kf.knowledge.update_intent(intent_id, similar_questions=[])
    await kf.knowledge.update_intent(intent_id, answer="联系客服。", attachments=attachments[:1])
    lines: list[str] = []
    async for intent in kf.knowledge.intents(group_id):
        typed: KnowledgeIntent = intent
        similar: tuple[str, ...] = typed.similar_questions
        answer: KnowledgeAnswer | None = typed.answer
        lines.append(f"{typed.intent_id} {typed.group_id} {typed.question} {len(similar)}")
        for attachment in answer.attachments if answer is not None else ():
            if isinstance(attachment, KnowledgeImage | KnowledgeVideo):
                name: str | None = attachment.name
                lines.append(name or "")
            elif isinstance(attachment, KnowledgeLink):
                lines.append(attachment.url)
            elif isinstance(attachment, UnknownKnowledgeAttachment):
                lines.append(f"{attachment.kind} {attachment.malformed} {attachment.raw!r}")
            lines.append(attachment.msgtype)
    single: KnowledgeIntent | None = await kf.knowledge.get_intent(intent_id)
    if single is not None:
        await kf.knowledge.delete_intent(single.intent_id)
    return lines


def seeding() -> str:
    sim = WeComSimulator()
    default: str = sim.default_group_id
    group_id: str = sim.add_knowledge_group("常见问题")
    intent_id: str = sim.add_knowledge_intent(
        group_id,
        "怎么退货?",
        "在订单页申请。",
        similar_questions=["如何退货"],
        attachments=[{"msgtype": "image", "image": {"media_id": sim.add_media()}}],
    )
    return default + intent_id
