"""The knowledge base of the KF bot: groups, intents (question and answer) and attachments.

Pages 95971 (groups) and 95972 (intents). ``list_group`` and ``list_intent``
answer these models. The attachment classes also build the answers given to
``add_intent`` and ``mod_intent``: WeCom takes media ids there and lists only
the file's name back (``media_id`` and ``thumb_media_id`` are never listed).
The attachment types and their fields come from page 95972's appendix as two
SDKs transcribe it: the official text of the appendix was not reached
(unverified).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from ._converter import converter
from ._kf import _raw_repr, withheld

__all__ = [
    "KnowledgeAnswer",
    "KnowledgeAttachment",
    "KnowledgeGroup",
    "KnowledgeImage",
    "KnowledgeIntent",
    "KnowledgeLink",
    "KnowledgeMiniProgram",
    "KnowledgeVideo",
    "UnknownKnowledgeAttachment",
    "structure_attachment",
]


@attrs.frozen(kw_only=True)
class KnowledgeGroup:
    """One group of the knowledge base (``list_group``'s ``group_list[]``).

    WeCom creates the default group itself; it cannot be renamed or deleted.
    """

    #: The group's id.
    group_id: str
    #: Its name (at most 12 characters, unique in the corp).
    name: str = ""
    #: Whether it is the default group (WeCom sends 0 or 1).
    is_default: bool = False


@attrs.frozen(kw_only=True)
class KnowledgeAttachment:
    """Base of an answer's attachments (an answer takes at most 4).

    :class:`KnowledgeImage`, :class:`KnowledgeVideo`, :class:`KnowledgeLink` and
    :class:`KnowledgeMiniProgram`; what WeCom lists that none of them fits is an
    :class:`UnknownKnowledgeAttachment`.
    """

    #: WeCom's ``msgtype`` of the attachment.
    msgtype: ClassVar[str] = ""


@attrs.frozen(kw_only=True)
class _MediaAttachment(KnowledgeAttachment):
    """An uploaded medium: given by ``media_id``, listed back by ``name``."""

    #: The uploaded medium (required to add it; ``list_intent`` does not return it).
    media_id: str | None = None
    #: Its file name, as ``list_intent`` returns it.
    name: str | None = None


@attrs.frozen(kw_only=True)
class KnowledgeImage(_MediaAttachment):
    """An image: give ``media_id`` (``kf.media.upload("image", ...)``); listed back by ``name``."""

    msgtype: ClassVar[str] = "image"


@attrs.frozen(kw_only=True)
class KnowledgeVideo(_MediaAttachment):
    """A video: give ``media_id`` (``kf.media.upload("video", ...)``); listed back by ``name``."""

    msgtype: ClassVar[str] = "video"


@attrs.frozen(kw_only=True)
class KnowledgeLink(KnowledgeAttachment):
    """A link card: a title and a URL, with an optional description and cover picture."""

    msgtype: ClassVar[str] = "link"
    #: The card's title.
    title: str
    #: Where it leads (http or https).
    url: str
    #: A line under the title.
    desc: str | None = None
    #: The cover picture's URL.
    pic_url: str | None = None


@attrs.frozen(kw_only=True)
class KnowledgeMiniProgram(KnowledgeAttachment):
    """A mini program card: its ``appid`` and page, a title and a cover image."""

    msgtype: ClassVar[str] = "miniprogram"
    #: The mini program's appid (one associated with the corp).
    appid: str
    #: The page to open, e.g. ``pages/index?x=1``.
    pagepath: str
    #: The card's title.
    title: str | None = None
    #: The cover: an uploaded image's ``media_id`` (not returned by ``list_intent``).
    thumb_media_id: str | None = None


@attrs.frozen(kw_only=True)
class UnknownKnowledgeAttachment(KnowledgeAttachment):
    """An attachment no model fits: an unknown ``msgtype``, or a known one of a wrong shape.

    Nothing is dropped: :attr:`raw` is the attachment as WeCom listed it. It cannot
    be given to ``add_intent`` or ``update_intent`` (build a known one instead).
    """

    #: The ``msgtype`` WeCom named (``""`` if it named none).
    kind: str = ""
    #: Whether a known msgtype was of a wrong shape (``False``: the msgtype is unknown).
    malformed: bool = False
    #: The attachment as WeCom sent it.
    raw: Any = attrs.field(repr=_raw_repr, hash=False)


@attrs.frozen(kw_only=True)
class KnowledgeAnswer:
    """The answer of an intent: its text and up to 4 attachments."""

    #: The answer's text (at most 500 characters).
    text: str = attrs.field(repr=withheld)
    #: Images, videos, links and mini programs shown with it.
    attachments: tuple[KnowledgeAttachment, ...] = ()


@attrs.frozen(kw_only=True)
class KnowledgeIntent:
    """One question and its answer in the knowledge base (``list_intent``'s ``intent_list[]``).

    ``question``, ``similar_questions`` and the answers' texts are read from WeCom's
    ``{"text": {"content": ...}}`` objects. WeCom takes one answer per intent today
    (:attr:`answer` is it).
    """

    #: The intent's id.
    intent_id: str
    #: The group it belongs to.
    group_id: str
    #: The main question (at most 200 characters, unique in the corp).
    question: str = attrs.field(repr=withheld)
    #: Other ways to ask it (at most 100, each at most 200 characters).
    similar_questions: tuple[str, ...] = attrs.field(
        default=(), repr=lambda v: f"<{len(v)} questions>"
    )
    #: The answers (WeCom supports one).
    answers: tuple[KnowledgeAnswer, ...] = ()

    @property
    def answer(self) -> KnowledgeAnswer | None:
        """The first (today the only) answer, or ``None`` when WeCom listed none."""
        return self.answers[0] if self.answers else None


# ----------------------------------------------------------------------- reading


def _mapping(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{what} is not an object, got {type(value).__name__}")
    return value


def _content(value: Any, what: str) -> str:
    """The text of WeCom's ``{"text": {"content": "..."}}``."""
    text = _mapping(_mapping(value, what).get("text"), f"{what}.text")
    content = text.get("content")
    if type(content) is not str:
        raise TypeError(f"{what}.text.content is not a string")
    return content


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError(f"{what} is not a list, got {type(value).__name__}")
    return value


def _optional_str(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and type(value) is not str:
        raise TypeError(f"{key} is not a string")
    return value


_KNOWN: dict[str, type[KnowledgeAttachment]] = {
    cls.msgtype: cls
    for cls in (KnowledgeImage, KnowledgeVideo, KnowledgeLink, KnowledgeMiniProgram)
}


def structure_attachment(raw: Any) -> KnowledgeAttachment:
    """One attachment as WeCom lists it; whatever does not fit a model is kept raw."""
    kind = raw.get("msgtype") if isinstance(raw, Mapping) else None
    kind = kind if isinstance(kind, str) else ""
    cls = _KNOWN.get(kind)
    if cls is None:
        return UnknownKnowledgeAttachment(kind=kind, raw=raw)
    try:
        body = _mapping(raw[kind], kind)
        fields = {field.name: _optional_str(body, field.name) for field in attrs.fields(cls)}
        return cls(**{key: value for key, value in fields.items() if value is not None})
    except (TypeError, KeyError):
        return UnknownKnowledgeAttachment(kind=kind, malformed=True, raw=raw)


def _answer(raw: Any, what: str) -> KnowledgeAnswer:
    attachments = _list(_mapping(raw, what).get("attachments"), f"{what}.attachments")
    return KnowledgeAnswer(
        text=_content(raw, what),
        attachments=tuple(structure_attachment(item) for item in attachments),
    )


def _structure_group(raw: Any, _: object = None) -> KnowledgeGroup:
    body = _mapping(raw, "group")
    group_id, name, flag = body.get("group_id"), body.get("name", ""), body.get("is_default", 0)
    if type(group_id) is not str or type(name) is not str:
        raise TypeError("group_id and name must be strings")
    if flag not in (0, 1) or type(flag) not in (int, bool):
        raise TypeError(f"is_default must be 0 or 1, got {flag!r:.20}")
    return KnowledgeGroup(group_id=group_id, name=name, is_default=bool(flag))


def _structure_intent(raw: Any, _: object = None) -> KnowledgeIntent:
    body = _mapping(raw, "intent")
    intent_id, group_id = body.get("intent_id"), body.get("group_id")
    if type(intent_id) is not str or type(group_id) is not str:
        raise TypeError("intent_id and group_id must be strings")
    question = _mapping(body.get("question"), "question")
    # The table of page 95972 has similar_questions and answers beside question;
    # its example nests them inside question. Both are read.
    similar = body.get("similar_questions", question.get("similar_questions"))
    answers = body.get("answers", question.get("answers"))
    items = _list(_mapping(similar, "similar_questions").get("items") if similar else None, "items")
    return KnowledgeIntent(
        intent_id=intent_id,
        group_id=group_id,
        question=_content(question, "question"),
        similar_questions=tuple(_content(item, "similar_questions.items[]") for item in items),
        answers=tuple(_answer(item, "answers[]") for item in _list(answers, "answers")),
    )


converter.register_structure_hook(KnowledgeGroup, _structure_group)
converter.register_structure_hook(KnowledgeIntent, _structure_intent)
