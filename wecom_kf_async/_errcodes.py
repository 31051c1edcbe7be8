"""The one table that says what the client does with each errcode, and which class it raises."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import NamedTuple

__all__ = [
    "ERRCODE_MEANINGS",
    "ERRCODE_ROWS",
    "ERRCODE_TABLE",
    "Disposition",
    "ErrcodeRow",
    "ErrcodeSource",
    "ErrorCategory",
    "category_for",
    "disposition_for",
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
    SEND_LIMIT = "send_limit"
    SEND_NOT_ALLOWED = "send_not_allowed"
    CONVERSATION_ENDED = "conversation_ended"
    EVENT_CODE = "event_code"
    SYNC_TOKEN = "sync_token"  # noqa: S105 - a name, not a password
    SYNC_CURSOR = "sync_cursor"
    OTHER = "other"


class ErrcodeSource(enum.Enum):
    """Where the table knows an errcode from (the docs' "source" column)."""

    #: An official page (``developer.work.weixin.qq.com``) names it; the row's
    #: ``page`` says which, where it was read.
    DOCUMENTED = "documented"
    #: Known only from SDKs transcribing WeCom's pages: **unverified**.
    TRANSCRIBED = "transcribed"
    #: WeCom documents no code for the case: the library's (and the simulator's)
    #: choice, kept as data so that one edit changes it when WeCom's is known.
    INVENTED = "invented"


class ErrcodeRow(NamedTuple):
    """One row of the errcode table."""

    code: int
    disposition: Disposition
    category: ErrorCategory
    #: What it means, in a few words (for the docs and messages).
    meaning: str
    source: ErrcodeSource = ErrcodeSource.DOCUMENTED
    #: The official page that names it, where it was read (``None``: the reference's).
    page: int | None = None


_T = Disposition
_C = ErrorCategory
_R = ErrcodeRow
_UNVERIFIED = ErrcodeSource.TRANSCRIBED
_INVENTED = ErrcodeSource.INVENTED
#: The global errcode page.
_GLOBAL = 90455

#: One row per errcode WeCom documents for these APIs (and the few the library had to
#: choose). Codes missing here fail fast and keep their errcode (``Disposition.FAIL``,
#: ``ErrorCategory.OTHER``).
_ROWS: tuple[ErrcodeRow, ...] = (
    _R(-1, _T.RETRY, _C.BUSY, "system busy", page=_GLOBAL),
    _R(6000, _T.RETRY, _C.BUSY, "data version conflict", page=_GLOBAL),
    _R(40014, _T.REFRESH_TOKEN, _C.TOKEN, "invalid access_token", page=_GLOBAL),
    _R(42001, _T.REFRESH_TOKEN, _C.TOKEN, "access_token expired"),
    _R(41001, _T.REFRESH_TOKEN, _C.TOKEN, "access_token missing"),
    _R(40001, _T.FATAL, _C.CONFIGURATION, "invalid secret", page=_GLOBAL),
    _R(40013, _T.FATAL, _C.CONFIGURATION, "invalid corpid", page=_GLOBAL),
    _R(41002, _T.FATAL, _C.CONFIGURATION, "corpid missing"),
    _R(41004, _T.FATAL, _C.CONFIGURATION, "secret missing"),
    _R(48002, _T.FATAL, _C.PERMISSION, "API forbidden for this app"),
    _R(60020, _T.FATAL, _C.PERMISSION, "caller IP not on the allow-list"),
    _R(95017, _T.FATAL, _C.PERMISSION, "API switch off for KF"),
    _R(45009, _T.THROTTLE, _C.RATE_LIMIT, "frequency limit exceeded"),
    _R(45033, _T.THROTTLE, _C.RATE_LIMIT, "concurrency limit exceeded"),
    _R(40058, _T.FAIL, _C.INVALID_REQUEST, "invalid or empty parameter"),
    _R(40035, _T.FAIL, _C.INVALID_REQUEST, "invalid or empty parameter", page=_GLOBAL),
    _R(40063, _T.FAIL, _C.INVALID_REQUEST, "invalid or empty parameter"),
    _R(47001, _T.FAIL, _C.INVALID_REQUEST, "data format error"),
    _R(40003, _T.FAIL, _C.INVALID_REQUEST, "invalid userid", page=_GLOBAL),
    _R(40096, _T.FAIL, _C.INVALID_REQUEST, "invalid external_userid"),
    _R(40007, _T.FAIL, _C.INVALID_REQUEST, "invalid media_id", page=96486),
    _R(60111, _T.FAIL, _C.INVALID_REQUEST, "userid not found (per servicer item)"),
    _R(60123, _T.FAIL, _C.INVALID_REQUEST, "invalid department (per servicer item)"),
    _R(40004, _T.FAIL, _C.INVALID_REQUEST, "invalid media type (media/upload)", page=_GLOBAL),
    _R(40005, _T.FAIL, _C.INVALID_REQUEST, "invalid type parameter (media/upload)", page=_GLOBAL),
    _R(40006, _T.FAIL, _C.INVALID_REQUEST, "invalid file size (media/upload)", page=_GLOBAL),
    _R(40009, _T.FAIL, _C.INVALID_REQUEST, "image size not valid (media/upload)", page=_GLOBAL),
    _R(40011, _T.FAIL, _C.INVALID_REQUEST, "video size not valid (media/upload)", page=_GLOBAL),
    _R(41005, _T.FAIL, _C.INVALID_REQUEST, "media data missing (media/upload)"),
    _R(44001, _T.FAIL, _C.INVALID_REQUEST, "empty media data (media/upload)"),
    _R(
        830002,
        _T.FAIL,
        _C.INVALID_REQUEST,
        "file too large for one download: fetch it in ranges of at most 20 MB (media/get)",
        page=96486,
    ),
    _R(95000, _T.FAIL, _C.KF_STATE, "invalid open_kfid"),
    _R(95001, _T.FAIL, _C.SEND_LIMIT, "5 messages in 48 h reached"),
    _R(95004, _T.FAIL, _C.KF_STATE, "open_kfid does not exist"),
    _R(95007, _T.FAIL, _C.SYNC_TOKEN, "invalid msg token (sync_msg): do not reuse it"),
    _R(95013, _T.FAIL, _C.CONVERSATION_ENDED, "conversation ended"),
    # The next four: page 90313 as transcribed by a generated SDK table.
    _R(95014, _T.FAIL, _C.KF_STATE, "not a servicer (of this account)", _UNVERIFIED),
    _R(95016, _T.FAIL, _C.KF_STATE, "session state change not allowed", _UNVERIFIED),
    _R(95019, _T.FAIL, _C.KF_STATE, "servicer stopped receiving or suspended", _UNVERIFIED),
    _R(95021, _T.FAIL, _C.KF_STATE, "not in the upgrade-service range", _UNVERIFIED),
    _R(95018, _T.FAIL, _C.SEND_NOT_ALLOWED, "session state does not allow sending"),
    # Messages. 95002/95008/95009: page 90313 as an SDK transcribes it.
    _R(95002, _T.FAIL, _C.SEND_LIMIT, "the customer never wrote, or over 48 h ago", _UNVERIFIED),
    _R(95008, _T.FAIL, _C.INVALID_REQUEST, "too many menu items", _UNVERIFIED),
    _R(95009, _T.FAIL, _C.INVALID_REQUEST, "unknown menu item type", _UNVERIFIED),
    _R(44004, _T.FAIL, _C.INVALID_REQUEST, "empty text"),
    _R(40008, _T.FAIL, _C.INVALID_REQUEST, "invalid message type", page=_GLOBAL),
    # WeCom's "invalid welcome code" of the customer-contact welcome message, which
    # has the same 20-second rule; the KF answer is not documented.
    _R(41050, _T.FAIL, _C.EVENT_CODE, "event code invalid, used or expired (borrowed)", _INVENTED),
    # WeCom documents no code for these three: the simulator's choice.
    _R(95010, _T.FAIL, _C.INVALID_REQUEST, "msgid already used in this account", _INVENTED),
    _R(95020, _T.FAIL, _C.SYNC_CURSOR, "sync_msg cursor invalid or expired", _INVENTED),
    _R(95030, _T.FAIL, _C.KF_STATE, "the corp has its 5,000 KF accounts", _INVENTED),
    # Service providers (third-party apps): seen in WeCom's own error messages quoted
    # on its developer community, on no official errcode page read: unverified.
    _R(40082, _T.REFRESH_TOKEN, _C.TOKEN, "invalid suite_access_token", _UNVERIFIED),
    _R(42009, _T.REFRESH_TOKEN, _C.TOKEN, "suite_access_token expired", _UNVERIFIED),
    _R(40085, _T.FATAL, _C.CONFIGURATION, "invalid suite_ticket: wait for a new push", _UNVERIFIED),
    _R(
        40084,
        _T.FATAL,
        _C.CONFIGURATION,
        "invalid permanent_code (the corp cancelled the authorisation?)",
        _UNVERIFIED,
    ),
    _R(40078, _T.FAIL, _C.INVALID_REQUEST, "invalid auth_code (single use, 10 min)", _UNVERIFIED),
)

#: errcode -> its whole row (disposition, category, meaning, source, page).
ERRCODE_ROWS: Mapping[int, ErrcodeRow] = MappingProxyType({row.code: row for row in _ROWS})
#: errcode -> (disposition, category), from the rows above.
ERRCODE_TABLE: Mapping[int, tuple[Disposition, ErrorCategory]] = MappingProxyType(
    {row.code: (row.disposition, row.category) for row in _ROWS}
)
#: errcode -> what it means, in a few words (for the docs and messages).
ERRCODE_MEANINGS: Mapping[int, str] = MappingProxyType({row.code: row.meaning for row in _ROWS})

_DEFAULT = (Disposition.FAIL, ErrorCategory.OTHER)


def disposition_for(errcode: int) -> Disposition:
    """Return what the client does with *errcode*; unknown codes fail fast."""
    return ERRCODE_TABLE.get(errcode, _DEFAULT)[0]


def category_for(errcode: int) -> ErrorCategory:
    """Return which exception class *errcode* raises (as a category)."""
    return ERRCODE_TABLE.get(errcode, _DEFAULT)[1]
