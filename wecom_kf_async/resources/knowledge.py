"""The KF bot's knowledge base (``kf.knowledge``): groups (page 95971) and intents (95972)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Iterable
from contextlib import aclosing
from typing import Any, Final, TypeVar

from .. import _knowledge_checks as _kc
from .._endpoints import ENDPOINTS, Endpoint
from .._errors import InvalidResponseError
from ..models import structure
from ..models.knowledge import KnowledgeAttachment, KnowledgeGroup, KnowledgeIntent
from ._base import Resource

__all__ = ["MAX_LIST_PAGES", "KnowledgeAPI"]

ADD_GROUP = ENDPOINTS["kf/knowledge/add_group"]
DEL_GROUP = ENDPOINTS["kf/knowledge/del_group"]
MOD_GROUP = ENDPOINTS["kf/knowledge/mod_group"]
LIST_GROUP = ENDPOINTS["kf/knowledge/list_group"]
ADD_INTENT = ENDPOINTS["kf/knowledge/add_intent"]
DEL_INTENT = ENDPOINTS["kf/knowledge/del_intent"]
MOD_INTENT = ENDPOINTS["kf/knowledge/mod_intent"]
LIST_INTENT = ENDPOINTS["kf/knowledge/list_intent"]

#: Pages one listing reads at most. A corp holds at most 100 groups of 200
#: intents, 20 pages of 1000: a listing still going after this many pages is a
#: server that never stops saying ``has_more``, and raises.
MAX_LIST_PAGES: Final = 1000

_T = TypeVar("_T")


class KnowledgeAPI(Resource):
    """The knowledge base the KF bot answers from (``kf.knowledge``).

    Self-built apps only (WeCom refuses third-party and agency-built apps). Adds are
    not retried after a failure that may have reached WeCom (a second try would be
    refused as a duplicate name or question, and could not say the first one made
    it): they raise :class:`~wecom_kf_async.OutcomeUnknownError`. Renames, rewrites
    and deletes are retried; WeCom documents no "already deleted" code, so a retried
    delete whose first try went through raises WeCom's refusal of the second.
    """

    # ------------------------------------------------------------------ groups

    async def add_group(self, name: str) -> str:
        """Create a group; return its ``group_id``.

        Args:
            name: 1 to 12 characters, unique in the corp (at most 100 groups).

        Raises:
            TypeError: ``name`` is not a str (nothing is sent).
            ValueError: ``name`` is empty, blank or over 12 characters (nothing is sent).
            OutcomeUnknownError: The call failed in a way that may have made the group;
                it was not retried. Look for the name in :meth:`groups` first.
            WeComError: WeCom refused (a name taken, 100 groups already, ...).
        """
        data = await self._call(ADD_GROUP, {"name": _kc.group_name(name)})
        return _new_id(data, "group_id", ADD_GROUP)

    async def update_group(self, group_id: str, name: str) -> None:
        """Rename a group (not the default one).

        Raises:
            TypeError, ValueError: A bad ``group_id`` or ``name`` (nothing is sent).
            WeComError: WeCom refused (the default group, an unknown id, a name taken).
        """
        body = {"group_id": _kc.knowledge_id(group_id, "group_id"), "name": _kc.group_name(name)}
        await self._call(MOD_GROUP, body)

    async def delete_group(self, group_id: str) -> None:
        """Delete a group (not the default one).

        Raises:
            TypeError, ValueError: A bad ``group_id`` (nothing is sent).
            WeComError: WeCom refused (the default group, an unknown id).
        """
        await self._call(DEL_GROUP, {"group_id": _kc.knowledge_id(group_id, "group_id")})

    def groups(self, *, limit: int = _kc.MAX_LIST_LIMIT) -> AsyncIterator[KnowledgeGroup]:
        """Every group, the default one included, page after page (``async for``).

        Args:
            limit: Groups per ``list_group`` call, 1 to 1000.

        Raises:
            InvalidResponseError: A page of the wrong shape, or paging that never ends
                (``has_more`` without a new ``next_cursor``).
        """
        body = {"limit": _kc.list_limit(limit)}
        return self._pages(LIST_GROUP, body, "group_list", KnowledgeGroup)

    async def get_group(self, group_id: str) -> KnowledgeGroup | None:
        """The group *group_id*, or ``None`` when the list does not hold it."""
        body = {"group_id": _kc.knowledge_id(group_id, "group_id"), "limit": _kc.MAX_LIST_LIMIT}
        async with aclosing(self._pages(LIST_GROUP, body, "group_list", KnowledgeGroup)) as groups:
            async for group in groups:
                if group.group_id == group_id:
                    return group
        return None

    # ----------------------------------------------------------------- intents

    async def add_intent(
        self,
        group_id: str,
        question: str,
        answer: str,
        *,
        similar_questions: Iterable[str] = (),
        attachments: Iterable[KnowledgeAttachment] = (),
    ) -> str:
        """Add a question and its answer to a group; return the new ``intent_id``.

        Args:
            group_id: The group (at most 200 intents each).
            question: 1 to 200 characters, unique in the corp.
            answer: The answer's text, 1 to 500 characters.
            similar_questions: Other ways to ask it: at most 100, each 1 to 200
                characters.
            attachments: At most 4: :class:`KnowledgeImage` or
                :class:`KnowledgeVideo` (by ``media_id``), :class:`KnowledgeLink`,
                :class:`KnowledgeMiniProgram`.

        Raises:
            TypeError, ValueError: A bad argument, naming it (nothing is sent).
            OutcomeUnknownError: The call failed in a way that may have added the
                intent; it was not retried. Look for the question in
                :meth:`intents` first.
            WeComError: WeCom refused (a question taken, a full group, an unknown
                group or media id, ...).
        """
        body: dict[str, Any] = {
            "group_id": _kc.knowledge_id(group_id, "group_id"),
            "question": _kc.text_body(_kc.question(question)),
        }
        similar = _kc.similar_questions_body(similar_questions)
        if similar["items"]:
            body["similar_questions"] = similar
        body["answers"] = [_kc.answer_body(answer, attachments)]
        data = await self._call(ADD_INTENT, body)
        return _new_id(data, "intent_id", ADD_INTENT)

    async def update_intent(
        self,
        intent_id: str,
        *,
        question: str | None = None,
        similar_questions: Iterable[str] | None = None,
        answer: str | None = None,
        attachments: Iterable[KnowledgeAttachment] | None = None,
    ) -> None:
        """Rewrite the parts of an intent that are given; the others stay as they are.

        Each part is written whole (WeCom's rule): ``similar_questions`` replaces
        them all (``[]`` removes them), and ``answer`` replaces the answer with its
        attachments: give ``attachments`` with it to keep any (``list_intent``
        lists them without their media ids, so give those again).

        Raises:
            TypeError, ValueError: A bad argument, naming it; no part given, or
                ``attachments`` without ``answer`` (nothing is sent).
            WeComError: WeCom refused (an unknown intent, a question taken, ...).
        """
        body: dict[str, Any] = {"intent_id": _kc.knowledge_id(intent_id, "intent_id")}
        if question is not None:
            body["question"] = _kc.text_body(_kc.question(question))
        if similar_questions is not None:
            body["similar_questions"] = _kc.similar_questions_body(similar_questions)
        if attachments is not None and answer is None:
            raise ValueError(
                "attachments needs answer: the answer is rewritten whole, text and attachments"
            )
        if answer is not None:
            body["answers"] = [_kc.answer_body(answer, () if attachments is None else attachments)]
        if len(body) == 1:
            raise ValueError("update_intent needs question, similar_questions or answer")
        await self._call(MOD_INTENT, body)

    async def delete_intent(self, intent_id: str) -> None:
        """Delete an intent.

        Raises:
            TypeError, ValueError: A bad ``intent_id`` (nothing is sent).
            WeComError: WeCom refused (an unknown id).
        """
        await self._call(DEL_INTENT, {"intent_id": _kc.knowledge_id(intent_id, "intent_id")})

    def intents(
        self, group_id: str | None = None, *, limit: int = _kc.MAX_LIST_LIMIT
    ) -> AsyncIterator[KnowledgeIntent]:
        """Every intent, or every intent of one group, page after page (``async for``).

        Args:
            group_id: Only this group's (``None``: every group's).
            limit: Intents per ``list_intent`` call, 1 to 1000.

        Raises:
            InvalidResponseError: A page of the wrong shape, or paging that never ends.
        """
        body: dict[str, Any] = {"limit": _kc.list_limit(limit)}
        if group_id is not None:
            body["group_id"] = _kc.knowledge_id(group_id, "group_id")
        return self._pages(LIST_INTENT, body, "intent_list", KnowledgeIntent)

    async def get_intent(self, intent_id: str) -> KnowledgeIntent | None:
        """The intent *intent_id*, or ``None`` when the list does not hold it."""
        body = {
            "intent_id": _kc.knowledge_id(intent_id, "intent_id"),
            "limit": _kc.MAX_LIST_LIMIT,
        }
        pages = self._pages(LIST_INTENT, body, "intent_list", KnowledgeIntent)
        async with aclosing(pages) as intents:
            async for intent in intents:
                if intent.intent_id == intent_id:
                    return intent
        return None

    # ------------------------------------------------------------------ paging

    async def _pages(
        self, endpoint: Endpoint, body: dict[str, Any], key: str, cls: type[_T]
    ) -> AsyncGenerator[_T, None]:
        """The items of every page: cursor after cursor until ``has_more`` is 0."""
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_LIST_PAGES):
            request = body if cursor is None else {**body, "cursor": cursor}
            data = await self._call(endpoint, request)
            raw, cursor, more = _page(data, key, endpoint)
            for item in [structure(each, cls, path=endpoint.path) for each in raw]:
                yield item
            if not more:
                return
            if cursor is None or cursor in seen:
                raise _bad(endpoint, "has_more is 1 without a new next_cursor")
            seen.add(cursor)
        raise _bad(endpoint, f"has_more is still 1 after {MAX_LIST_PAGES} pages")


def _page(data: dict[str, Any], key: str, endpoint: Endpoint) -> tuple[list[Any], str | None, bool]:
    """The items, the next cursor and ``has_more`` of a page, each of its type."""
    items = data.get(key)
    next_cursor = data.get("next_cursor")
    has_more = data.get("has_more", 0)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise _bad(endpoint, f"{key} is not a list")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise _bad(endpoint, "next_cursor is not a string")
    if has_more not in (0, 1) or isinstance(has_more, float):
        raise _bad(endpoint, "has_more is neither 0 nor 1")
    return items, next_cursor or None, bool(has_more)


def _new_id(data: dict[str, Any], key: str, endpoint: Endpoint) -> str:
    """The id an add answered (``group_id``, ``intent_id``)."""
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise _bad(endpoint, f"{key} is missing or not a string")
    return value


def _bad(endpoint: Endpoint, what: str) -> InvalidResponseError:
    return InvalidResponseError(
        f"{endpoint.path} answered the wrong shape: {what}",
        path=endpoint.path,
        reason="bad shape",
    )
