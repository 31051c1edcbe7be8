"""The simulator's knowledge base of the KF bot (``kf/knowledge/*``: groups and intents)."""

from __future__ import annotations

import random
import string
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Final, TypeVar

from ._state import SimIntent, SimKnowledgeGroup
from ._types import ApiError, Call, Route
from .media import DEMO_MEDIA_ID, MediaMixin

__all__ = [
    "ADD_GROUP",
    "ADD_INTENT",
    "DEFAULT_GROUP_NAME",
    "DEL_GROUP",
    "DEL_INTENT",
    "ERR_KNOWLEDGE",
    "LIST_GROUP",
    "LIST_INTENT",
    "MOD_GROUP",
    "MOD_INTENT",
    "KnowledgeMixin",
]

ADD_GROUP: Final = "kf/knowledge/add_group"
DEL_GROUP: Final = "kf/knowledge/del_group"
MOD_GROUP: Final = "kf/knowledge/mod_group"
LIST_GROUP: Final = "kf/knowledge/list_group"
ADD_INTENT: Final = "kf/knowledge/add_intent"
DEL_INTENT: Final = "kf/knowledge/del_intent"
MOD_INTENT: Final = "kf/knowledge/mod_intent"
LIST_INTENT: Final = "kf/knowledge/list_intent"

#: Name of the group WeCom creates itself (the simulator's choice, unverified).
DEFAULT_GROUP_NAME: Final = "默认分组"

#: WeCom documents no errcode for the knowledge base's refusals (a name taken, a
#: full group, the default group, an unknown id, ...). The simulator answers each
#: with 40058 ("invalid parameter") and a message naming the rule (unverified).
ERR_KNOWLEDGE: Final = 40058
#: An attachment's media id that ``media/upload`` did not make (of that type).
_ERR_MEDIA: Final = 40007

# Pages 95971 and 95972 (the client's limits are in wecom_kf_async._knowledge_checks).
_GROUP_NAME_CHARS: Final = 12
_MAX_GROUPS: Final = 100
_QUESTION_CHARS: Final = 200
_MAX_SIMILAR: Final = 100
_ANSWER_CHARS: Final = 500
_MAX_ATTACHMENTS: Final = 4
_MAX_INTENTS_PER_GROUP: Final = 200
_LIST_DEFAULT: Final = 500
_LIST_MAX: Final = 1000
_CURSOR_PREFIX: Final = "KBC"
_Item = TypeVar("_Item")
_ID_CHARS: Final = string.ascii_letters + string.digits
#: An attachment's fields: required, optional (page 95972's appendix as SDKs
#: transcribe it, unverified).
_ATTACHMENT_FIELDS: Final[Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "image": (("media_id",), ()),
    "video": (("media_id",), ()),
    "link": (("title", "url"), ("desc", "pic_url")),
    "miniprogram": (("appid", "pagepath"), ("title", "thumb_media_id")),
}


def _refuse(detail: str) -> ApiError:
    return ApiError(ERR_KNOWLEDGE, detail)


def _lookup(table: Mapping[str, _Item], raw: object, what: str) -> _Item:
    """The group or intent *raw* names, or the refusal."""
    item = table.get(raw) if isinstance(raw, str) else None
    if item is None:
        raise _refuse(f"{what} not exist: {raw}")
    return item


def _words(raw: object, what: str, max_chars: int) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise _refuse(f"{what} must be a non-empty string")
    if len(raw) > max_chars:
        raise _refuse(f"{what} is {len(raw)} characters long; the limit is {max_chars}")
    return raw


def _content(raw: object, what: str, max_chars: int) -> str:
    """The text of ``{"text": {"content": ...}}``."""
    text = raw.get("text") if isinstance(raw, dict) else None
    content = text.get("content") if isinstance(text, dict) else None
    return _words(content, f"{what}.text.content", max_chars)


def _similar(raw: object) -> list[str]:
    items = raw.get("items", []) if isinstance(raw, dict) else None
    if not isinstance(items, list):
        raise _refuse("similar_questions.items must be a list")
    if len(items) > _MAX_SIMILAR:
        raise _refuse(f"{len(items)} similar questions; the limit is {_MAX_SIMILAR}")
    return [_content(item, "similar_questions.items[]", _QUESTION_CHARS) for item in items]


class KnowledgeMixin(MediaMixin):
    """Serves the knowledge base (``kf/knowledge/*``) from ``sim.corp.knowledge``.

    As pages 95971 and 95972 say: group names are 1 to 12 characters and unique, at
    most 100 groups (the default one, :data:`DEFAULT_GROUP_NAME`, included), which
    cannot be renamed or deleted; questions are 1 to 200 characters and unique in the
    corp, at most 100 similar questions of 200, exactly one answer of at most 500
    characters with at most 4 attachments (image and video by a ``media_id`` that
    ``media/upload`` made, 40007 otherwise), at most 200 intents per group. Lists page
    with ``cursor``/``limit`` (default 500, at most 1000) and ``has_more``; they name
    an image or video by its file name, never by media id. Every refusal answers
    :data:`ERR_KNOWLEDGE`. Undocumented choices: deleting a group deletes its
    intents; a filter that matches nothing lists nothing.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        ADD_GROUP: Route("POST", "_knowledge_add_group"),
        DEL_GROUP: Route("POST", "_knowledge_del_group"),
        MOD_GROUP: Route("POST", "_knowledge_mod_group"),
        LIST_GROUP: Route("POST", "_knowledge_list_group"),
        ADD_INTENT: Route("POST", "_knowledge_add_intent"),
        DEL_INTENT: Route("POST", "_knowledge_del_intent"),
        MOD_INTENT: Route("POST", "_knowledge_mod_intent"),
        LIST_INTENT: Route("POST", "_knowledge_list_intent"),
    }

    def _setup(self) -> None:
        super()._setup()
        seed_material = self._fault_rng.getstate()[1][:8]
        self._knowledge_rng = random.Random(f"knowledge:{seed_material}")  # noqa: S311
        self._knowledge_seq = 0
        self.default_group_id = self.add_knowledge_group(DEFAULT_GROUP_NAME, is_default=True)
        """The id of the default group, which every corp has."""

    # ------------------------------------------------------------------ seeding

    def add_knowledge_group(self, name: str, *, is_default: bool = False) -> str:
        """Create a group directly (no request, no limits checked); return its ``group_id``."""
        group_id = self._new_knowledge_id("kg", self.corp.knowledge.groups)
        self.corp.knowledge.groups[group_id] = SimKnowledgeGroup(
            group_id=group_id, name=name, is_default=is_default, seq=self._next_seq()
        )
        return group_id

    def add_knowledge_intent(
        self,
        group_id: str,
        question: str,
        answer: str,
        *,
        similar_questions: Sequence[str] = (),
        attachments: Iterable[Mapping[str, Any]] = (),
    ) -> str:
        """Add an intent directly (no request, no limits checked); return its ``intent_id``.

        ``attachments`` are in WeCom's shape (``{"msgtype": "image", "image":
        {"media_id": ...}}``). ``ValueError`` for an unknown group.
        """
        if group_id not in self.corp.knowledge.groups:
            raise ValueError(f"no knowledge group {group_id!r}")
        answers = [{"text": {"content": answer}, "attachments": [dict(a) for a in attachments]}]
        return self._store_intent(group_id, question, list(similar_questions), answers)

    def seed_demo(self) -> None:
        """Add a group "常见问题" with one intent whose answer shows the demo image."""
        super().seed_demo()
        group_id = self.add_knowledge_group("常见问题")
        self.add_knowledge_intent(
            group_id,
            "怎么退货?",
            "七天内可在订单页申请退货。",
            similar_questions=["如何退货", "可以退货吗"],
            attachments=[{"msgtype": "image", "image": {"media_id": DEMO_MEDIA_ID}}],
        )

    def _next_seq(self) -> int:
        self._knowledge_seq += 1
        return self._knowledge_seq

    def _new_knowledge_id(self, prefix: str, taken: Mapping[str, object]) -> str:
        while True:
            suffix = "".join(self._knowledge_rng.choice(_ID_CHARS) for _ in range(22))
            if f"{prefix}{suffix}" not in taken:
                return f"{prefix}{suffix}"

    def _store_intent(
        self, group_id: str, question: str, similar: list[str], answers: list[dict[str, Any]]
    ) -> str:
        intent_id = self._new_knowledge_id("ki", self.corp.knowledge.intents)
        self.corp.knowledge.intents[intent_id] = SimIntent(
            intent_id=intent_id,
            group_id=group_id,
            question=question,
            similar_questions=similar,
            answers=answers,
            seq=self._next_seq(),
        )
        return intent_id

    # ------------------------------------------------------------ group handlers

    def _group(self, raw: object, *, changing: bool = False) -> SimKnowledgeGroup:
        group = _lookup(self.corp.knowledge.groups, raw, "group_id")
        if changing and group.is_default:
            raise _refuse("the default group cannot be changed or deleted")
        return group

    def _group_name(self, raw: object, own_id: str | None = None) -> str:
        name = _words(raw, "name", _GROUP_NAME_CHARS)
        for group in self.corp.knowledge.groups.values():
            if group.name == name and group.group_id != own_id:
                raise _refuse(f"group name {name!r} is taken")
        return name

    def _knowledge_add_group(self, call: Call) -> dict[str, Any]:
        name = self._group_name(call.json().get("name"))
        if len(self.corp.knowledge.groups) >= _MAX_GROUPS:
            raise _refuse(f"the corp has {_MAX_GROUPS} groups, the limit")
        return {"group_id": self.add_knowledge_group(name)}

    def _knowledge_del_group(self, call: Call) -> dict[str, Any]:
        group = self._group(call.json().get("group_id"), changing=True)
        knowledge = self.corp.knowledge
        del knowledge.groups[group.group_id]
        for intent_id in [
            i.intent_id for i in knowledge.intents.values() if i.group_id == group.group_id
        ]:
            del knowledge.intents[intent_id]
        return {}

    def _knowledge_mod_group(self, call: Call) -> dict[str, Any]:
        request = call.json()
        group = self._group(request.get("group_id"), changing=True)
        group.name = self._group_name(request.get("name"), own_id=group.group_id)
        return {}

    def _knowledge_list_group(self, call: Call) -> dict[str, Any]:
        request = call.json()
        groups: Iterable[SimKnowledgeGroup] = self.corp.knowledge.groups.values()
        wanted = request.get("group_id")
        if wanted is not None:
            groups = [group for group in groups if group.group_id == wanted]
        rows = [
            {"group_id": g.group_id, "name": g.name, "is_default": int(g.is_default)}
            for g in groups
        ]
        return self._page(request, "group_list", rows, [g.seq for g in groups])

    # ----------------------------------------------------------- intent handlers

    def _question(self, raw: object, own_id: str | None = None) -> str:
        question = _content(raw, "question", _QUESTION_CHARS)
        for intent in self.corp.knowledge.intents.values():
            if intent.question == question and intent.intent_id != own_id:
                raise _refuse(f"question {question!r} exists already (in any group)")
        return question

    def _attachment(self, raw: object) -> dict[str, Any]:
        kind = raw.get("msgtype") if isinstance(raw, dict) else None
        if not isinstance(kind, str) or kind not in _ATTACHMENT_FIELDS:
            raise _refuse(f"attachment msgtype must be one of {', '.join(_ATTACHMENT_FIELDS)}")
        body = raw.get(kind) if isinstance(raw, dict) else None
        if not isinstance(body, dict):
            raise _refuse(f"a {kind} attachment needs its {kind!r} object")
        required, optional = _ATTACHMENT_FIELDS[kind]
        for key in (*required, *(key for key in optional if key in body)):
            if not isinstance(body.get(key), str) or not body[key]:
                raise _refuse(f"{kind}.{key} must be a non-empty string")
        for key, wanted in (("media_id", kind), ("thumb_media_id", "image")):
            if key in body:
                medium = self.corp.media.get(body[key])
                if medium is None or medium.type != wanted:
                    raise ApiError(_ERR_MEDIA, f"invalid {key} for a {kind} attachment")
        return {
            "msgtype": kind,
            kind: {key: body[key] for key in (*required, *optional) if key in body},
        }

    def _answers(self, raw: object) -> list[dict[str, Any]]:
        if not isinstance(raw, list) or len(raw) != 1:
            raise _refuse("answers must hold exactly one answer")
        (answer,) = raw
        text = _content(answer, "answers[]", _ANSWER_CHARS)
        attachments = answer.get("attachments", [])
        if not isinstance(attachments, list) or len(attachments) > _MAX_ATTACHMENTS:
            raise _refuse(f"attachments must be a list of at most {_MAX_ATTACHMENTS}")
        return [
            {"text": {"content": text}, "attachments": [self._attachment(a) for a in attachments]}
        ]

    def _knowledge_add_intent(self, call: Call) -> dict[str, Any]:
        request = call.json()
        group = self._group(request.get("group_id"))
        question = self._question(request.get("question"))
        similar = _similar(request.get("similar_questions", {}))
        answers = self._answers(request.get("answers"))
        held = sum(i.group_id == group.group_id for i in self.corp.knowledge.intents.values())
        if held >= _MAX_INTENTS_PER_GROUP:
            raise _refuse(f"the group holds {_MAX_INTENTS_PER_GROUP} intents, the limit")
        return {"intent_id": self._store_intent(group.group_id, question, similar, answers)}

    def _knowledge_del_intent(self, call: Call) -> dict[str, Any]:
        intent = _lookup(self.corp.knowledge.intents, call.json().get("intent_id"), "intent_id")
        del self.corp.knowledge.intents[intent.intent_id]
        return {}

    def _knowledge_mod_intent(self, call: Call) -> dict[str, Any]:
        request = call.json()
        intent = _lookup(self.corp.knowledge.intents, request.get("intent_id"), "intent_id")
        # Each part is checked before any is written: a refusal changes nothing.
        question = (
            self._question(request["question"], own_id=intent.intent_id)
            if "question" in request
            else intent.question
        )
        similar = (
            _similar(request["similar_questions"])
            if "similar_questions" in request
            else intent.similar_questions
        )
        answers = self._answers(request["answers"]) if "answers" in request else intent.answers
        intent.question, intent.similar_questions, intent.answers = question, similar, answers
        return {}

    def _knowledge_list_intent(self, call: Call) -> dict[str, Any]:
        request = call.json()
        intents = list(self.corp.knowledge.intents.values())
        for key in ("group_id", "intent_id"):
            if request.get(key) is not None:
                intents = [i for i in intents if getattr(i, key) == request[key]]
        rows = [self._listed(intent) for intent in intents]
        return self._page(request, "intent_list", rows, [i.seq for i in intents])

    def _listed(self, intent: SimIntent) -> dict[str, Any]:
        """An intent as ``list_intent`` shows it: media by file name, no media ids."""
        answers = [
            {
                "text": answer["text"],
                "attachments": [self._listed_attachment(a) for a in answer["attachments"]],
            }
            for answer in intent.answers
        ]
        return {
            "group_id": intent.group_id,
            "intent_id": intent.intent_id,
            "question": {"text": {"content": intent.question}},
            "similar_questions": {
                "items": [{"text": {"content": q}} for q in intent.similar_questions]
            },
            "answers": answers,
        }

    def _listed_attachment(self, attachment: dict[str, Any]) -> dict[str, Any]:
        kind = attachment["msgtype"]
        body = dict(attachment[kind])
        body.pop("thumb_media_id", None)
        media_id = body.pop("media_id", None)
        if media_id is not None:
            medium = self.corp.media.get(media_id)
            body["name"] = medium.filename if medium is not None else ""
        return {"msgtype": kind, kind: body}

    # ------------------------------------------------------------------ paging

    def _page(
        self, request: dict[str, Any], key: str, rows: list[dict[str, Any]], seqs: list[int]
    ) -> dict[str, Any]:
        """One page of *rows* (in creation order, *seqs* theirs) after the request's cursor."""
        limit = request.get("limit", _LIST_DEFAULT)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _LIST_MAX:
            raise _refuse(f"limit must be an integer from 1 to {_LIST_MAX}")
        after = _cursor_seq(request.get("cursor"))
        picked = [(seq, row) for seq, row in zip(seqs, rows, strict=True) if seq > after]
        page = picked[:limit]
        has_more = len(picked) > limit
        next_cursor = f"{_CURSOR_PREFIX}{page[-1][0]:08x}" if has_more else ""
        return {"next_cursor": next_cursor, "has_more": int(has_more), key: [r for _, r in page]}


def _cursor_seq(raw: object) -> int:
    """The creation order a cursor stands after (0: from the start)."""
    if raw is None or raw == "":
        return 0
    digits = raw[len(_CURSOR_PREFIX) :] if isinstance(raw, str) else ""
    if not (isinstance(raw, str) and raw.startswith(_CURSOR_PREFIX) and len(digits) == 8):
        raise _refuse("invalid cursor")
    try:
        return int(digits, 16)
    except ValueError:
        raise _refuse("invalid cursor") from None
