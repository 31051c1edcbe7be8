"""``kf/sync_msg``, ``kf/send_msg`` and ``kf/send_msg_on_event`` (``kf.messages``)."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import Awaitable, Callable
from typing import Any, Final

from .. import _checks
from .._endpoints import ENDPOINTS, SYNC_MSG_WITHOUT_TOKEN, Endpoint
from .._errors import InvalidResponseError, OutcomeUnknownError, SendOutcomeUnknownError
from .._pipeline import Caller
from ..instrumentation._hooks import Hooks
from ..instrumentation.events import StreamStalled, SyncPageTaken
from ..messages.builders import EVENT_MSGTYPES, Sendable
from ..messages.cursors import CursorStore, InMemoryCursorStore
from ..messages.stream import DEFAULT_DEDUP_WINDOW, DEFAULT_MAX_STALLED_PAGES, MessageStream
from ..models import (
    EVENT_CODE_RULES,
    EnterSessionEvent,
    EventCode,
    EventCodeScene,
    SessionStatusChangeEvent,
    SyncPage,
    structure_messages,
)
from ._base import Resource

__all__ = ["MAX_SYNC_LIMIT", "MessagesAPI", "new_msgid"]

SYNC_MSG = ENDPOINTS["kf/sync_msg"]
SEND_MSG = ENDPOINTS["kf/send_msg"]
SEND_MSG_ON_EVENT = ENDPOINTS["kf/send_msg_on_event"]

#: Messages one ``sync_msg`` call returns at most (also its default).
MAX_SYNC_LIMIT: Final = 1000
#: ``voice_format``: 0 AMR (WeCom's default), 1 SILK.
_VOICE_FORMATS: Final = (0, 1)


def new_msgid() -> str:
    """A fresh msgid: 32 characters of ``[0-9a-zA-Z_-]``, as WeCom allows (192 random bits)."""
    return secrets.token_urlsafe(24)


class MessagesAPI(Resource):
    """Read messages (``sync``, ``stream``) and answer them (``send``, ``send_on_event``).

    Args:
        caller: The client's pipeline.
        hooks: The client's instrumentation (a stream reports each page it reads).
        sleep: The client's sleep (a stream backs off on it when the server makes no
            progress).
        rng: The client's random source (for that backoff's jitter).

    ``sync_msg`` without a callback's token waits on a strict budget of its own
    (``kf/sync_msg:no_token``, 1 call/s by default); with a token it waits on the
    ``kf/sync_msg`` budget.
    """

    def __init__(
        self,
        caller: Caller,
        hooks: Hooks | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        super().__init__(caller)
        self._hooks = hooks
        self._sleep = sleep
        self._rng = rng

    async def sync(
        self,
        cursor: str | None = None,
        token: str | None = None,
        open_kfid: str | None = None,
        limit: int = MAX_SYNC_LIMIT,
        *,
        voice_format: int | None = None,
    ) -> SyncPage:
        """One ``sync_msg`` call: a page of typed messages.

        Args:
            cursor: Where to go on from (``next_cursor`` of the previous page;
                ``None``: the oldest message of the last 3 days).
            token: The ``Token`` of a ``kf_msg_or_event`` callback (valid 10
                minutes); without one WeCom limits the call strictly.
            open_kfid: Only this account's messages.
            limit: Messages per page, 1 to 1000.
            voice_format: 0 AMR (default), 1 SILK.

        Returns:
            The page. A message of an unknown type, or of a known type with a field
            of an unexpected shape, comes as ``UnknownMessage`` / ``UnknownEvent``
            with ``.raw``: nothing is dropped.

        Raises:
            InvalidSyncTokenError: 95007, the token is invalid or spent.
            SyncCursorError: The cursor is invalid or expired.
            InvalidResponseError: The answer (after retries) was malformed, or its
                ``next_cursor`` is one our own checks refuse (over 64 bytes,
                whitespace, control characters).
        """
        body: dict[str, Any] = {"limit": _checks.bounded_int("limit", limit, 1, MAX_SYNC_LIMIT)}
        if cursor is not None:
            body["cursor"] = _checks.cursor(cursor)
        if token is not None:
            body["token"] = _checks.sync_token(token)
        if open_kfid is not None:
            body["open_kfid"] = _checks.open_kfid(open_kfid)
        if voice_format is not None:
            if voice_format not in _VOICE_FORMATS or isinstance(voice_format, bool):
                raise ValueError(f"voice_format must be 0 (AMR) or 1 (SILK), got {voice_format!r}")
            body["voice_format"] = voice_format
        endpoint = SYNC_MSG if token is not None else SYNC_MSG_WITHOUT_TOKEN
        return _page(await self._call(endpoint, body, check=_check_page))

    def stream(
        self,
        open_kfid: str,
        *,
        token: str | None = None,
        cursors: CursorStore | None = None,
        limit: int = MAX_SYNC_LIMIT,
        dedup_window: int = DEFAULT_DEDUP_WINDOW,
        max_stalled_pages: int = DEFAULT_MAX_STALLED_PAGES,
    ) -> MessageStream:
        """Every message of *open_kfid* from its saved cursor on, page after page.

        Pages until ``has_more`` is 0 (an empty page with ``has_more`` 1 does not
        stop it). The cursor of a page is saved in *cursors* only after every
        message of the page has been taken: at least once, never lost. Messages
        seen in this stream are dropped by msgid. *token* (a callback's) is used
        until WeCom says it is spent (95007), then the stream goes on without it.
        With an :class:`ExclusiveCursorStore` (fleet mode), one process at a time
        consumes the account; the others leave a note and return at once, and the
        holder pulls once more for them.

        A server that makes no progress (``has_more`` with no new message and the
        same cursor, page after page) is waited out with a growing backoff on the
        client's sleep; after *max_stalled_pages* such pages in a row the stream
        raises :class:`~wecom_kf_async.StreamStalledError` and reports a
        :class:`~wecom_kf_async.instrumentation.StreamStalled` event. A saved cursor
        our own checks refuse (saved before they existed) is dropped with a warning:
        the stream reads from the oldest message of the last 3 days.

        Args:
            open_kfid: The account.
            token: The ``Token`` of the callback that woke you, if any.
            cursors: Where cursors are kept (default: in memory, for this stream).
            limit: Messages per page.
            dedup_window: How many recent msgids are remembered to drop duplicates.
            max_stalled_pages: Pages in a row without progress before giving up.

        Returns:
            A :class:`MessageStream` to iterate with ``async for``.

        Raises:
            StreamStalledError: While iterating: the server made no progress.
        """
        kfid = _checks.open_kfid(open_kfid)
        size = _checks.bounded_int("limit", limit, 1, MAX_SYNC_LIMIT)
        window = _checks.bounded_int("dedup_window", dedup_window, 1, 10_000_000)
        if token is not None:
            _checks.sync_token(token)
        if cursors is not None and not isinstance(cursors, CursorStore):
            raise TypeError("cursors must be a CursorStore (async get/set per open_kfid)")

        async def fetch(cursor: str | None, page_token: str | None) -> SyncPage:
            return await self.sync(cursor=cursor, token=page_token, open_kfid=kfid, limit=size)

        return MessageStream(
            fetch,
            kfid,
            cursors=cursors if cursors is not None else InMemoryCursorStore(),
            token=token,
            dedup_window=window,
            on_page=self._page_reporter(kfid),
            max_stalled_pages=max_stalled_pages,
            sleep=self._sleep,
            rng=self._rng,
            on_stall=self._stall_reporter(kfid),
        )

    def _page_reporter(self, open_kfid: str) -> Callable[[SyncPage], None] | None:
        hooks = self._hooks
        if hooks is None or not hooks.wants(SyncPageTaken):
            return None

        def report(page: SyncPage) -> None:
            hooks.emit(
                SyncPageTaken(open_kfid=open_kfid, count=len(page.messages), has_more=page.has_more)
            )

        return report

    def _stall_reporter(self, open_kfid: str) -> Callable[[int], None] | None:
        hooks = self._hooks
        if hooks is None or not hooks.wants(StreamStalled):
            return None
        return lambda pages: hooks.emit(StreamStalled(open_kfid=open_kfid, pages=pages))

    async def send(
        self,
        external_userid: str,
        open_kfid: str,
        message: Sendable,
        *,
        msgid: str | None = None,
    ) -> str:
        """Send *message* to a customer from a KF account; return its msgid.

        A ``msgid`` is always sent: yours, or a new one. A retry after a failure
        that may have reached WeCom carries the same one, and WeCom's "this msgid was
        used" answer to it counts as success: the message goes out at most once.

        Args:
            external_userid: The customer.
            open_kfid: The account that sends.
            message: A builder: ``Text(...)``, ``Image(...)``, ``Menu(...)``, ...
            msgid: Your id for the message (at most 32 bytes of ``[0-9a-zA-Z_-]``,
                unique per account).

        Returns:
            The msgid (WeCom accepted the message; delivery is not guaranteed:
            watch for ``MsgSendFailEvent``).

        Raises:
            SendLimitError: 95001, the customer's 5 messages in 48 hours are used.
            SendNotAllowedError: 95018, the session's state does not allow sending.
            ConversationEndedError: 95013.
            SendOutcomeUnknownError: The message may or may not have gone out;
                ``.msgid`` names it.
        """
        body = {
            "touser": _checks.external_userid(external_userid, "external_userid"),
            "open_kfid": _checks.open_kfid(open_kfid),
        }
        return await self._send(SEND_MSG, body, message, msgid)

    async def send_on_event(
        self,
        code: str | EventCode | EnterSessionEvent | SessionStatusChangeEvent,
        message: Sendable,
        *,
        msgid: str | None = None,
    ) -> str:
        """Answer an event with its code (a welcome, a queue notice, a goodbye); return the msgid.

        A code serves one message, in its scene's time (page 96428): a welcome code
        and an end code 20 seconds, a queue code and a pick-up code 48 hours. The
        welcome and end codes take a text or a menu, the queue and pick-up codes a
        text only; and except for a welcome, WeCom takes the message only while the
        session is still in the state the code came from.

        Args:
            code: The code: an :class:`EventCode` (``kf.sessions.transfer`` returns
                one), the event itself (an ``EnterSessionEvent`` or a
                ``SessionStatusChangeEvent``), or the plain string. With a plain
                string the scene is not known, and only WeCom can refuse a menu.
            message: ``Text(...)``, or ``Menu(...)`` where the scene takes one.
            msgid: Your id for the message (see :meth:`send`).

        Raises:
            ValueError: A message the scene does not take, or an event without a
                code; nothing is sent.
            EventCodeError: The code expired or was used.
            SendOutcomeUnknownError: See :meth:`send`.
        """
        plain, scene = _event_code(code)
        if isinstance(message, Sendable) and message.msgtype not in EVENT_MSGTYPES:
            raise ValueError(
                f"send_on_event takes only {', '.join(sorted(EVENT_MSGTYPES))} messages, "
                f"not {message.msgtype}"
            )
        rule = None if scene is None else EVENT_CODE_RULES[scene]
        if (
            rule is not None
            and isinstance(message, Sendable)
            and message.msgtype not in rule.msgtypes
        ):
            raise ValueError(
                f"a code of the {rule.scene.value} scene takes only "
                f"{', '.join(sorted(rule.msgtypes))} messages, not {message.msgtype} "
                f"(page {rule.doc_page})"
            )
        body = {"code": _checks.text("code", plain, max_bytes=_checks.MAX_EVENT_CODE_BYTES)}
        return await self._send(SEND_MSG_ON_EVENT, body, message, msgid)

    async def _send(
        self, endpoint: Endpoint, body: dict[str, Any], message: Sendable, msgid: str | None
    ) -> str:
        if not isinstance(message, Sendable):
            raise TypeError(
                f"message must be a message builder (Text, Image, Menu, ...), "
                f"got {type(message).__name__}"
            )
        key = new_msgid() if msgid is None else _checks.msgid(msgid)
        body.update({"msgid": key, "msgtype": message.msgtype, message.msgtype: message.body()})
        try:
            await self._call(endpoint, body)
        except OutcomeUnknownError as exc:
            raise SendOutcomeUnknownError(
                endpoint.path, exc.check, msgid=key, reason=exc.reason
            ) from exc.__cause__
        return key


def _event_code(
    code: str | EnterSessionEvent | SessionStatusChangeEvent,
) -> tuple[str, EventCodeScene | None]:
    """The plain code and its scene (``None`` when not known) of what ``send_on_event`` got."""
    if isinstance(code, EnterSessionEvent | SessionStatusChangeEvent):
        typed = code.event_code
        if typed is None:
            field = "welcome_code" if isinstance(code, EnterSessionEvent) else "msg_code"
            raise ValueError(f"this {code.event_type} event carries no {field} to answer with")
        return str(typed), typed.scene
    if isinstance(code, EventCode):
        return str(code), code.scene
    return code, None


def _check_page(data: dict[str, Any]) -> None:
    """Refuse a page of the wrong shape, or whose ``next_cursor`` our own checks refuse.

    Run on each answer inside the retry loop: a refused answer is retried as an
    :class:`InvalidResponseError`, and its cursor (which would be saved, and make
    every later stream of the account fail before sending) is never stored.
    """
    raw, next_cursor = data.get("msg_list"), data.get("next_cursor")
    has_more = data.get("has_more", 0)
    if raw is not None and not isinstance(raw, list):
        raise _bad("msg_list is not a list")
    if next_cursor is not None and not isinstance(next_cursor, str):
        raise _bad("next_cursor is not a string")
    if next_cursor:
        try:
            _checks.cursor(next_cursor, "next_cursor")
        except ValueError:
            raise _bad(
                f"next_cursor is no cursor (1 to {_checks.MAX_CURSOR_BYTES} bytes of valid "
                "text, no whitespace or control characters)"
            ) from None
    if has_more not in (0, 1) or isinstance(has_more, float):
        raise _bad("has_more is neither 0 nor 1")


def _page(data: dict[str, Any]) -> SyncPage:
    """The page in WeCom's answer (checked by :func:`_check_page`); a malformed message
    never sinks it."""
    return SyncPage(
        messages=structure_messages(data.get("msg_list") or []),
        next_cursor=data.get("next_cursor") or None,
        has_more=bool(data.get("has_more", 0)),
    )


def _bad(what: str) -> InvalidResponseError:
    return InvalidResponseError(
        f"{SYNC_MSG.path} answered a page of the wrong shape: {what}",
        path=SYNC_MSG.path,
        reason="bad shape",
    )
