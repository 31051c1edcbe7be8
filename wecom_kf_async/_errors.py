"""The exception hierarchy and the one table that says what to do with each errcode."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models.servicers import ServicerResult

__all__ = [
    "ERRCODE_TABLE",
    "AccessTokenError",
    "BatchGetError",
    "ConfigurationError",
    "Disposition",
    "ErrorCategory",
    "InvalidRequestError",
    "InvalidResponseError",
    "KfError",
    "KfStateError",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RequestTimeoutError",
    "ServerBusyError",
    "ServicerError",
    "TransportError",
    "UpstreamHTTPError",
    "WeComError",
    "disposition_for",
    "error_for",
    "is_fatal",
]


class Disposition(enum.Enum):
    """What the client does when WeCom answers a given errcode."""

    #: Back off with full jitter and try again.
    RETRY = "retry"
    #: WeCom is throttling: back off longer, and slow the client's own sending.
    THROTTLE = "throttle"
    #: The token was refused: invalidate that token, fetch another, retry once.
    REFRESH_TOKEN = "refresh_token"  # noqa: S105 - a name, not a password
    #: A problem with this request: fail it at once, other requests go on.
    FAIL = "fail"
    #: A problem with the client's configuration that no request can escape: fail at
    #: once and stop the whole operation.
    FATAL = "fatal"


class ErrorCategory(enum.Enum):
    """Which exception class an errcode raises."""

    BUSY = "busy"
    TOKEN = "token"  # noqa: S105 - a name, not a password
    CONFIGURATION = "configuration"
    PERMISSION = "permission"
    RATE_LIMIT = "rate_limit"
    INVALID_REQUEST = "invalid_request"
    KF_STATE = "kf_state"
    OTHER = "other"


_T = Disposition
_C = ErrorCategory

#: errcode -> (disposition, category). Codes missing here fail fast and keep their
#: errcode (``Disposition.FAIL``, ``ErrorCategory.OTHER``).
ERRCODE_TABLE: Mapping[int, tuple[Disposition, ErrorCategory]] = MappingProxyType(
    {
        -1: (_T.RETRY, _C.BUSY),  # system busy
        6000: (_T.RETRY, _C.BUSY),  # data version conflict
        40014: (_T.REFRESH_TOKEN, _C.TOKEN),  # invalid access_token
        42001: (_T.REFRESH_TOKEN, _C.TOKEN),  # access_token expired
        41001: (_T.REFRESH_TOKEN, _C.TOKEN),  # access_token missing
        40001: (_T.FATAL, _C.CONFIGURATION),  # invalid secret
        40013: (_T.FATAL, _C.CONFIGURATION),  # invalid corpid
        41002: (_T.FATAL, _C.CONFIGURATION),  # corpid missing
        41004: (_T.FATAL, _C.CONFIGURATION),  # secret missing
        48002: (_T.FATAL, _C.PERMISSION),  # API forbidden for this app
        60020: (_T.FATAL, _C.PERMISSION),  # caller IP not on the allow-list
        95017: (_T.FATAL, _C.PERMISSION),  # API switch off for KF
        45009: (_T.THROTTLE, _C.RATE_LIMIT),  # frequency limit exceeded
        45033: (_T.THROTTLE, _C.RATE_LIMIT),  # concurrency limit exceeded
        40058: (_T.FAIL, _C.INVALID_REQUEST),
        40035: (_T.FAIL, _C.INVALID_REQUEST),
        40063: (_T.FAIL, _C.INVALID_REQUEST),
        47001: (_T.FAIL, _C.INVALID_REQUEST),  # data format error
        40096: (_T.FAIL, _C.INVALID_REQUEST),  # invalid external_userid
        40007: (_T.FAIL, _C.INVALID_REQUEST),  # invalid media_id (account avatar)
        60111: (_T.FAIL, _C.INVALID_REQUEST),  # userid not found (per servicer item)
        60123: (_T.FAIL, _C.INVALID_REQUEST),  # invalid department (per servicer item)
        40004: (_T.FAIL, _C.INVALID_REQUEST),  # invalid media type (media/upload)
        40006: (_T.FAIL, _C.INVALID_REQUEST),  # invalid file size (media/upload)
        41005: (_T.FAIL, _C.INVALID_REQUEST),  # media data missing (media/upload)
        44001: (_T.FAIL, _C.INVALID_REQUEST),  # empty media data (media/upload)
        95000: (_T.FAIL, _C.KF_STATE),  # invalid open_kfid
        95001: (_T.FAIL, _C.KF_STATE),  # 5 messages in 48 h reached
        95004: (_T.FAIL, _C.KF_STATE),  # open_kfid does not exist
        95007: (_T.FAIL, _C.KF_STATE),  # invalid msg token
        95013: (_T.FAIL, _C.KF_STATE),  # conversation ended
        # The next four: page 90313 as transcribed by a generated SDK table (unverified).
        95014: (_T.FAIL, _C.KF_STATE),  # not a servicer (of this account)
        95016: (_T.FAIL, _C.KF_STATE),  # session state change not allowed
        95019: (_T.FAIL, _C.KF_STATE),  # servicer stopped receiving or suspended
        95021: (_T.FAIL, _C.KF_STATE),  # not in the upgrade-service range
        95018: (_T.FAIL, _C.KF_STATE),  # session state does not allow sending
    }
)

_DEFAULT = (Disposition.FAIL, ErrorCategory.OTHER)


def disposition_for(errcode: int) -> Disposition:
    """Return what the client does with *errcode*; unknown codes fail fast."""
    return ERRCODE_TABLE.get(errcode, _DEFAULT)[0]


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


_CATEGORY_CLASS: Mapping[ErrorCategory, type[WeComError]] = MappingProxyType(
    {
        ErrorCategory.BUSY: ServerBusyError,
        ErrorCategory.TOKEN: AccessTokenError,
        ErrorCategory.CONFIGURATION: ConfigurationError,
        ErrorCategory.PERMISSION: PermissionDeniedError,
        ErrorCategory.RATE_LIMIT: RateLimitedError,
        ErrorCategory.INVALID_REQUEST: InvalidRequestError,
        ErrorCategory.KF_STATE: KfStateError,
        ErrorCategory.OTHER: WeComError,
    }
)


def error_for(errcode: int, errmsg: str, *, path: str | None = None) -> WeComError:
    """Build the exception of the right class for *errcode*."""
    category = ERRCODE_TABLE.get(errcode, _DEFAULT)[1]
    return _CATEGORY_CLASS[category](errcode, errmsg, path=path)


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


class ServicerError(KfError):
    """Some users or departments of a ``servicer/add`` or ``servicer/del`` call failed.

    Raised by :meth:`ServicerResults.raise_for_failures
    <wecom_kf_async.ServicerResults.raise_for_failures>`; :attr:`failed` holds the
    per-item results that failed (each with its ``errcode`` and ``errmsg``).
    """

    #: Items the message names before it says how many more there are.
    _LISTED = 10

    def __init__(self, failed: Sequence[ServicerResult], *, path: str | None = None) -> None:
        items = [_servicer_item(result) for result in failed[: self._LISTED]]
        more = len(failed) - len(items)
        listed = ", ".join(items) + (f" and {more} more" if more > 0 else "")
        super().__init__(
            f"{len(failed)} servicer item(s) failed{f' on {path}' if path else ''}: {listed}",
            path=path,
        )
        #: The results that failed, in input order.
        self.failed = list(failed)


def _servicer_item(result: ServicerResult) -> str:
    """``userid 'x' (errcode 60111: userid not found)``, the message cut short."""
    message = _short(result.errmsg)[:60]
    return f"{result.describe()} (errcode {result.errcode}: {message})"
