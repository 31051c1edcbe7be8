"""Argument checks and request bodies of the knowledge base (``kf.knowledge``): raise before I/O.

Limits from pages 95971 (groups) and 95972 (intents); WeCom counts characters
(字) there. A wrong type raises ``TypeError`` and a bad value ``ValueError``, each
naming the argument, as :mod:`._checks` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final
from urllib.parse import urlsplit

from . import _checks
from .models.knowledge import (
    KnowledgeAttachment,
    KnowledgeImage,
    KnowledgeLink,
    KnowledgeMiniProgram,
    KnowledgeVideo,
)

__all__ = [
    "DEFAULT_LIST_LIMIT",
    "MAX_ANSWER_CHARS",
    "MAX_ATTACHMENTS",
    "MAX_GROUPS",
    "MAX_GROUP_NAME_CHARS",
    "MAX_INTENTS_PER_GROUP",
    "MAX_KNOWLEDGE_ID_BYTES",
    "MAX_LIST_LIMIT",
    "MAX_QUESTION_CHARS",
    "MAX_SIMILAR_QUESTIONS",
    "answer_body",
    "attachment_body",
    "group_name",
    "knowledge_id",
    "list_limit",
    "question",
    "similar_questions_body",
    "text_body",
]

#: A group's name: at most 12 characters (95971), unique in the corp.
MAX_GROUP_NAME_CHARS: Final = 12
#: Groups of a corp, the default one included (95971).
MAX_GROUPS: Final = 100
#: The main question, and each similar question: at most 200 characters (95972).
MAX_QUESTION_CHARS: Final = 200
#: Similar questions of one intent (95972).
MAX_SIMILAR_QUESTIONS: Final = 100
#: The answer's text: at most 500 characters (95972).
MAX_ANSWER_CHARS: Final = 500
#: Attachments of one answer (95972).
MAX_ATTACHMENTS: Final = 4
#: Intents of one group (95972).
MAX_INTENTS_PER_GROUP: Final = 200
#: ``limit`` of ``list_group`` and ``list_intent``: WeCom's default 500, at most 1000.
DEFAULT_LIST_LIMIT: Final = 500
MAX_LIST_LIMIT: Final = 1000
#: ``group_id`` and ``intent_id`` have no documented limit; 256 bytes refuses only
#: what cannot be one.
MAX_KNOWLEDGE_ID_BYTES: Final = 256


def knowledge_id(value: object, name: str) -> str:
    """A ``group_id`` or ``intent_id`` WeCom handed out."""
    return _checks._identifier(name, value, MAX_KNOWLEDGE_ID_BYTES)


def _words(value: object, name: str, max_chars: int) -> str:
    checked = _checks.text(name, value, max_chars=max_chars)
    if checked.isspace():
        raise ValueError(f"{name} must not be blank")
    return checked


def group_name(value: object, name: str = "name") -> str:
    """A group's name: 1 to 12 characters, not blank."""
    return _words(value, name, MAX_GROUP_NAME_CHARS)


def question(value: object, name: str = "question") -> str:
    """A question: 1 to 200 characters, not blank."""
    return _words(value, name, MAX_QUESTION_CHARS)


def text_body(content: str) -> dict[str, Any]:
    """WeCom's ``{"text": {"content": ...}}``."""
    return {"text": {"content": content}}


def similar_questions_body(values: object, name: str = "similar_questions") -> dict[str, Any]:
    """``{"items": [...]}`` of at most 100 questions (a bare str is refused)."""
    if isinstance(values, str | bytes | bytearray) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of str, got {type(values).__name__}")
    items = [question(item, f"{name}[{index}]") for index, item in enumerate(values)]
    if len(items) > MAX_SIMILAR_QUESTIONS:
        raise ValueError(f"{name} has {len(items)} items; the limit is {MAX_SIMILAR_QUESTIONS}")
    return {"items": [text_body(item) for item in items]}


def _http_url(value: object, name: str) -> str:
    url = _checks.text(name, value)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{name} must be an http(s) URL, got {url[:80]!r}")
    return url


def _optional(body: dict[str, Any], key: str, value: object, name: str) -> None:
    if value is not None:
        body[key] = _checks.text(f"{name}.{key}", value)


def attachment_body(value: object, name: str = "attachment") -> dict[str, Any]:
    """One attachment as WeCom takes it: ``{"msgtype": ..., msgtype: {...}}``."""
    body: dict[str, Any]
    if isinstance(value, KnowledgeImage | KnowledgeVideo):
        if value.media_id is None:
            raise ValueError(
                f"{name}.media_id is required (WeCom lists a {value.msgtype} by name only: "
                "give its media_id again)"
            )
        body = {"media_id": _checks.media_id(value.media_id, f"{name}.media_id")}
    elif isinstance(value, KnowledgeLink):
        body = {
            "title": _checks.text(f"{name}.title", value.title),
            "url": _http_url(value.url, f"{name}.url"),
        }
        _optional(body, "desc", value.desc, name)
        if value.pic_url is not None:
            body["pic_url"] = _http_url(value.pic_url, f"{name}.pic_url")
    elif isinstance(value, KnowledgeMiniProgram):
        body = {
            "appid": _checks.text(f"{name}.appid", value.appid),
            "pagepath": _checks.text(f"{name}.pagepath", value.pagepath),
        }
        _optional(body, "title", value.title, name)
        if value.thumb_media_id is not None:
            body["thumb_media_id"] = _checks.media_id(
                value.thumb_media_id, f"{name}.thumb_media_id"
            )
    elif isinstance(value, KnowledgeAttachment):
        raise ValueError(
            f"{name} is an attachment WeCom listed that this library does not know; "
            "give a KnowledgeImage, KnowledgeVideo, KnowledgeLink or KnowledgeMiniProgram"
        )
    else:
        raise TypeError(
            f"{name} must be a KnowledgeImage, KnowledgeVideo, KnowledgeLink or "
            f"KnowledgeMiniProgram, got {type(value).__name__}"
        )
    return {"msgtype": value.msgtype, value.msgtype: body}


def answer_body(text: object, attachments: object = (), name: str = "answer") -> dict[str, Any]:
    """One answer: 1 to 500 characters and at most 4 attachments."""
    body = text_body(_words(text, name, MAX_ANSWER_CHARS))
    if isinstance(attachments, str | bytes | bytearray) or not isinstance(attachments, Iterable):
        raise TypeError(f"attachments must be a list, got {type(attachments).__name__}")
    items = [
        attachment_body(item, f"attachments[{index}]") for index, item in enumerate(attachments)
    ]
    if len(items) > MAX_ATTACHMENTS:
        raise ValueError(f"attachments has {len(items)} items; the limit is {MAX_ATTACHMENTS}")
    if items:
        body["attachments"] = items
    return body


def list_limit(value: object) -> int:
    """Items per ``list_group``/``list_intent`` page: 1 to 1000."""
    return _checks.bounded_int("limit", value, 1, MAX_LIST_LIMIT)
