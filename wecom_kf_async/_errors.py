"""The exception hierarchy; which errcode raises which class is in ``_errcodes``."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any, Protocol

from ._errcodes import Disposition, ErrorCategory, category_for, disposition_for

__all__ = [
    "CATEGORY_CLASS",
    "AccessTokenError",
    "BatchGetError",
    "ConfigurationError",
    "ConversationEndedError",
    "EventCodeError",
    "FailedItem",
    "InvalidRequestError",
    "InvalidResponseError",
    "InvalidSyncTokenError",
    "KfError",
    "KfStateError",
    "LeaseLostError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "SendLimitError",
    "SendNotAllowedError",
    "SendOutcomeUnknownError",
    "ServerBusyError",
    "ServicerError",
    "StreamStalledError",
    "SyncCursorError",
    "TransportError",
    "UpstreamHTTPError",
    "WeComError",
    "error_for",
    "is_fatal",
]


def is_fatal(exc: BaseException) -> bool:
    """Whether *exc* is a configuration-level error that no request can escape."""
    return isinstance(exc, WeComError) and exc.disposition is Disposition.FATAL


class KfError(Exception):
    """Base class of every exception this library raises on purpose.

    Its text never holds the secret or an access token.
    """

    def __init__(self, message: str, *, path: str | None = None) -> None:
        super().__init__(message)
        #: The API path the failing request went to, e.g. ``kf/customer/batchget``.
        self.path = path

    @property
    def retryable(self) -> bool:
        """Whether trying the same request again may succeed."""
        return False

    def __reduce__(self) -> tuple[Any, ...]:
        # Picklable (task queues hand exceptions to other processes) although the
        # subclasses' __init__ signatures differ: rebuild from args and attributes.
        return (_restore_error, (type(self), self.args, dict(self.__dict__)))


def _restore_error(cls: type[KfError], args: tuple[Any, ...], state: dict[str, Any]) -> KfError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


_HINT_RE = re.compile(r"hint:\s*\[([^\]]+)\]")


class WeComError(KfError):
    """WeCom answered with a non-zero ``errcode``.

    Attributes carry what a bug report needs: ``errcode``, ``errmsg``, ``path`` and
    ``hint`` (WeCom's request id, taken from ``errmsg``).
    """

    def __init__(self, errcode: int, errmsg: str, *, path: str | None = None) -> None:
        match = _HINT_RE.search(errmsg)
        #: WeCom's request id from ``errmsg`` (``None`` when absent).
        self.hint = match.group(1) if match else None
        #: The error code WeCom returned.
        self.errcode = errcode
        #: WeCom's message, as returned. Branch on ``errcode``, never on this text.
        self.errmsg = errmsg
        where = f" from {path}" if path else ""
        hint = f" (hint {self.hint})" if self.hint else ""
        super().__init__(f"WeCom errcode {errcode}{where}: {_short(errmsg)}{hint}", path=path)

    @property
    def disposition(self) -> Disposition:
        """What the client does with this errcode, from :data:`ERRCODE_TABLE`."""
        return disposition_for(self.errcode)

    @property
    def retryable(self) -> bool:
        """Whether WeCom's answer says trying again may succeed."""
        return self.disposition in (Disposition.RETRY, Disposition.THROTTLE)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(errcode={self.errcode!r}, path={self.path!r})"


#: Longest errmsg excerpt an exception's text quotes (a hostile answer's errmsg is
#: not to make every log line that mentions the error megabytes long).
_ERRMSG_EXCERPT = 200


def _short(errmsg: str) -> str:
    """Keep the human part of an errmsg: WeCom appends hint, ip and a link after a comma."""
    head = errmsg.split(", hint:", 1)[0].strip()
    if len(head) > _ERRMSG_EXCERPT:
        head = head[:_ERRMSG_EXCERPT] + "…"
    return head or "(no message)"


class ServerBusyError(WeComError):
    """WeCom said it is busy (-1) or hit a version conflict (6000); retried."""


class AccessTokenError(WeComError):
    """WeCom refused the access token (40014, 42001, 41001); refreshed once."""


class ConfigurationError(WeComError):
    """The corp id or secret is wrong or missing (40001, 40013, ...); never retried."""


class PermissionDeniedError(WeComError):
    """This app or this IP may not call the API (48002, 60020, 95017); never retried."""


class RateLimitedError(WeComError):
    """WeCom's frequency or concurrency limit was hit (45009, 45033); retried slower."""


class InvalidRequestError(WeComError):
    """WeCom rejected the request's parameters (40058, 40096, ...); never retried."""


class KfStateError(WeComError):
    """The KF account or session does not allow this (95xxx); never retried."""


class SendLimitError(KfStateError):
    """The customer got the 5 messages allowed since their last message, or that was
    over 48 hours ago (95001): wait for the customer to write again."""


class SendNotAllowedError(KfStateError):
    """The session's state does not allow sending (95018): only a new session (0) or
    one handled by the API/bot (1) may be answered with ``send_msg``."""


class ConversationEndedError(KfStateError):
    """The conversation has ended (95013)."""


class EventCodeError(KfStateError):
    """The event code of ``send_msg_on_event`` has expired or was used already.

    Each code serves one message: a welcome or end code within 20 seconds, a queue
    or pick-up code within 48 hours (page 96428). WeCom documents no errcode for
    this; the table's 41050 is borrowed (marked invented).
    """


class InvalidSyncTokenError(KfStateError):
    """The callback's ``Token`` for ``sync_msg`` is invalid or spent (95007).

    A stream carries on without it (under the strict budget of a call without a
    token); it never retries a call with that token.
    """


class SyncCursorError(KfStateError):
    """The ``sync_msg`` cursor is invalid or expired (cursors last 3 days).

    A stream then reads again from the oldest message WeCom keeps.
    """


CATEGORY_CLASS: Mapping[ErrorCategory, type[WeComError]] = MappingProxyType(
    {
        ErrorCategory.BUSY: ServerBusyError,
        ErrorCategory.TOKEN: AccessTokenError,
        ErrorCategory.CONFIGURATION: ConfigurationError,
        ErrorCategory.PERMISSION: PermissionDeniedError,
        ErrorCategory.RATE_LIMIT: RateLimitedError,
        ErrorCategory.INVALID_REQUEST: InvalidRequestError,
        ErrorCategory.KF_STATE: KfStateError,
        ErrorCategory.SEND_LIMIT: SendLimitError,
        ErrorCategory.SEND_NOT_ALLOWED: SendNotAllowedError,
        ErrorCategory.CONVERSATION_ENDED: ConversationEndedError,
        ErrorCategory.EVENT_CODE: EventCodeError,
        ErrorCategory.SYNC_TOKEN: InvalidSyncTokenError,
        ErrorCategory.SYNC_CURSOR: SyncCursorError,
        ErrorCategory.OTHER: WeComError,
    }
)


def error_for(errcode: int, errmsg: str, *, path: str | None = None) -> WeComError:
    """Build the exception of the right class for *errcode*."""
    return CATEGORY_CLASS[category_for(errcode)](errcode, errmsg, path=path)


class TransportError(KfError):
    """The request did not yield a WeCom answer: connect error, bad HTTP status, bad body.

    Transport errors are transient: the client retries them with backoff. The
    original exception is never chained (it would carry the request URL, and with
    it the access token); its type is kept in :attr:`reason`.
    """

    def __init__(
        self, message: str, *, path: str | None = None, reason: str = "", sent: bool = True
    ) -> None:
        super().__init__(message, path=path)
        #: The low-level failure's kind, e.g. ``"ConnectError"``.
        self.reason = reason
        #: Whether the request may have reached WeCom and taken effect (``False``
        #: when it certainly did not: the connection was refused, the pool had no
        #: room, a 4xx status refused it). Decides whether a call that changes state
        #: may be retried.
        self.sent = sent

    @property
    def retryable(self) -> bool:
        """Transport errors are transient."""
        return True


class RequestTimeoutError(TransportError):
    """No answer within the configured timeout."""


class UpstreamHTTPError(TransportError):
    """WeCom (or a proxy before it) answered with an HTTP status other than 200."""

    def __init__(
        self,
        status_code: int,
        *,
        path: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        # A 4xx status says the request was refused before anything was done; a 5xx
        # from a proxy may come after WeCom did the work.
        super().__init__(
            f"HTTP {status_code} from {path or 'WeCom'}",
            path=path,
            reason=f"HTTP {status_code}",
            sent=status_code >= 500,
        )
        #: The HTTP status code.
        self.status_code = status_code
        #: Seconds the server asked to wait (``Retry-After``), if it did.
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        """Server-side statuses (5xx), 408 and 429 are transient; other 4xx are not."""
        return self.status_code >= 500 or self.status_code in (408, 429)


class InvalidResponseError(TransportError):
    """HTTP 200, but the body is not a JSON object (truncated, HTML, ...)."""


class OutcomeUnknownError(KfError):
    """A call that changes state failed in a way that leaves its outcome unknown.

    The request may or may not have reached WeCom (a timeout, a dropped connection,
    a proxy's 502, a cut-off answer), and a retry could do the change twice (create
    a second account, move a session again), so the client did not retry.
    :attr:`check` says how to find out what happened; the failure itself is
    ``__cause__``.
    """

    def __init__(self, path: str, check: str, *, reason: str = "") -> None:
        what = f" ({reason})" if reason else ""
        super().__init__(
            f"the outcome of {path} is unknown{what}; not retried, since a retry could do "
            f"it twice: {check}",
            path=path,
        )
        #: What to look at to learn whether the call took effect.
        self.check = check
        #: The failure that left the outcome unknown, e.g. ``"attempt timeout"``.
        self.reason = reason


class SendOutcomeUnknownError(OutcomeUnknownError):
    """A send may or may not have gone out; :attr:`msgid` identifies it.

    Every try carried the same ``msgid``, so the message went out at most once. If
    it did not go out, no ``msg_send_fail`` event will name it either: match
    :attr:`msgid` against the ``fail_msgid`` of later ``msg_send_fail`` events, and
    send again (with a new msgid) only when you must.
    """

    def __init__(self, path: str, check: str, *, msgid: str, reason: str = "") -> None:
        super().__init__(path, f"{check} (msgid {msgid})", reason=reason)
        #: The msgid every try of the send carried.
        self.msgid = msgid


class LeaseLostError(KfError):
    """This process no longer holds the account's consumer lease (it expired, or
    Redis lost it): another consumer may be reading the account, so this one stops
    without saving its cursor."""

    def __init__(self, open_kfid: str) -> None:
        super().__init__(f"lost the consumer lease of {open_kfid}; stopping this stream")
        #: The account.
        self.open_kfid = open_kfid


class StreamStalledError(KfError):
    """A message stream made no progress: :attr:`pages` pages in a row said ``has_more``
    with no new message and the same cursor. It backed off between them, then gave up;
    the account's next stream (its next wake-up) reads on from the same cursor."""

    def __init__(self, open_kfid: str, pages: int) -> None:
        super().__init__(
            f"the stream of {open_kfid} made no progress in {pages} pages in a row (has_more, "
            "no new message, the same cursor); gave up",
            path="kf/sync_msg",
        )
        #: The account.
        self.open_kfid = open_kfid
        #: Pages read in a row without progress.
        self.pages = pages


class BatchGetError(KfError):
    """Some ids of a ``batch_get`` could not be fetched, even after retries.

    Raised by :meth:`BatchGetResult.raise_for_failures`; :attr:`failed` maps each
    such id to its exception.
    """

    def __init__(self, failed: Mapping[str, Exception]) -> None:
        kinds = sorted({type(e).__name__ for e in failed.values()})
        super().__init__(
            f"{len(failed)} external_userid(s) could not be fetched ({', '.join(kinds)})",
            path="kf/customer/batchget",
        )
        #: external_userid -> the exception its chunk ended with.
        self.failed = dict(failed)


class FailedItem(Protocol):
    """One failed item of a per-item answer (a servicer result): what its error names."""

    @property
    def errcode(self) -> int:
        """WeCom's errcode for the item."""
        ...

    @property
    def errmsg(self) -> str:
        """WeCom's message for the item."""
        ...

    def describe(self) -> str:
        """The item in words, e.g. ``userid 'zhangsan'``."""
        ...


class ServicerError(KfError):
    """Some users or departments of a ``servicer/add`` or ``servicer/del`` call failed.

    Raised by :meth:`ServicerResults.raise_for_failures
    <wecom_kf_async.ServicerResults.raise_for_failures>`; :attr:`failed` holds the
    per-item results that failed (each with its ``errcode`` and ``errmsg``).
    """

    #: Items the message names before it says how many more there are.
    _LISTED = 10

    def __init__(self, failed: Sequence[FailedItem], *, path: str | None = None) -> None:
        items = [_servicer_item(result) for result in failed[: self._LISTED]]
        more = len(failed) - len(items)
        listed = ", ".join(items) + (f" and {more} more" if more > 0 else "")
        super().__init__(
            f"{len(failed)} servicer item(s) failed{f' on {path}' if path else ''}: {listed}",
            path=path,
        )
        #: The results that failed, in input order.
        self.failed = list(failed)


def _servicer_item(result: FailedItem) -> str:
    """``userid 'x' (errcode 60111: userid not found)``, the message cut short."""
    message = _short(result.errmsg)[:60]
    return f"{result.describe()} (errcode {result.errcode}: {message})"
