"""The one table that says what the client does with each errcode, and which class it raises."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "ERRCODE_MEANINGS",
    "ERRCODE_TABLE",
    "Disposition",
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


_T = Disposition
_C = ErrorCategory

#: One row per errcode WeCom documents for these APIs: (errcode, disposition,
#: category, meaning). Codes missing here fail fast and keep their errcode
#: (``Disposition.FAIL``, ``ErrorCategory.OTHER``).
_ROWS: tuple[tuple[int, Disposition, ErrorCategory, str], ...] = (
    (-1, _T.RETRY, _C.BUSY, "system busy"),
    (6000, _T.RETRY, _C.BUSY, "data version conflict"),
    (40014, _T.REFRESH_TOKEN, _C.TOKEN, "invalid access_token"),
    (42001, _T.REFRESH_TOKEN, _C.TOKEN, "access_token expired"),
    (41001, _T.REFRESH_TOKEN, _C.TOKEN, "access_token missing"),
    (40001, _T.FATAL, _C.CONFIGURATION, "invalid secret"),
    (40013, _T.FATAL, _C.CONFIGURATION, "invalid corpid"),
    (41002, _T.FATAL, _C.CONFIGURATION, "corpid missing"),
    (41004, _T.FATAL, _C.CONFIGURATION, "secret missing"),
    (48002, _T.FATAL, _C.PERMISSION, "API forbidden for this app"),
    (60020, _T.FATAL, _C.PERMISSION, "caller IP not on the allow-list"),
    (95017, _T.FATAL, _C.PERMISSION, "API switch off for KF"),
    (45009, _T.THROTTLE, _C.RATE_LIMIT, "frequency limit exceeded"),
    (45033, _T.THROTTLE, _C.RATE_LIMIT, "concurrency limit exceeded"),
    (40058, _T.FAIL, _C.INVALID_REQUEST, "invalid or empty parameter"),
    (40035, _T.FAIL, _C.INVALID_REQUEST, "invalid or empty parameter"),
    (40063, _T.FAIL, _C.INVALID_REQUEST, "invalid or empty parameter"),
    (47001, _T.FAIL, _C.INVALID_REQUEST, "data format error"),
    (40096, _T.FAIL, _C.INVALID_REQUEST, "invalid external_userid"),
    (40007, _T.FAIL, _C.INVALID_REQUEST, "invalid media_id (account avatar)"),
    (60111, _T.FAIL, _C.INVALID_REQUEST, "userid not found (per servicer item)"),
    (60123, _T.FAIL, _C.INVALID_REQUEST, "invalid department (per servicer item)"),
    (40004, _T.FAIL, _C.INVALID_REQUEST, "invalid media type (media/upload)"),
    (40006, _T.FAIL, _C.INVALID_REQUEST, "invalid file size (media/upload)"),
    (41005, _T.FAIL, _C.INVALID_REQUEST, "media data missing (media/upload)"),
    (44001, _T.FAIL, _C.INVALID_REQUEST, "empty media data (media/upload)"),
    (95000, _T.FAIL, _C.KF_STATE, "invalid open_kfid"),
    (95001, _T.FAIL, _C.SEND_LIMIT, "5 messages in 48 h reached"),
    (95004, _T.FAIL, _C.KF_STATE, "open_kfid does not exist"),
    (95007, _T.FAIL, _C.SYNC_TOKEN, "invalid msg token (sync_msg): do not reuse it"),
    (95013, _T.FAIL, _C.CONVERSATION_ENDED, "conversation ended"),
    # The next four: page 90313 as transcribed by a generated SDK table (unverified).
    (95014, _T.FAIL, _C.KF_STATE, "not a servicer (of this account)"),
    (95016, _T.FAIL, _C.KF_STATE, "session state change not allowed"),
    (95019, _T.FAIL, _C.KF_STATE, "servicer stopped receiving or suspended"),
    (95021, _T.FAIL, _C.KF_STATE, "not in the upgrade-service range"),
    (95018, _T.FAIL, _C.SEND_NOT_ALLOWED, "session state does not allow sending"),
    # Messages. 95002/95008/95009: page 90313 as an SDK transcribes it (unverified).
    (95002, _T.FAIL, _C.SEND_LIMIT, "the customer never wrote, or over 48 h ago"),
    (95008, _T.FAIL, _C.INVALID_REQUEST, "too many menu items"),
    (95009, _T.FAIL, _C.INVALID_REQUEST, "unknown menu item type"),
    (44004, _T.FAIL, _C.INVALID_REQUEST, "empty text"),
    (40008, _T.FAIL, _C.INVALID_REQUEST, "invalid message type"),
    (41050, _T.FAIL, _C.EVENT_CODE, "event code invalid, used or expired (borrowed)"),
    # Unverified, the simulator's choice: WeCom documents no code for these two.
    (95010, _T.FAIL, _C.INVALID_REQUEST, "msgid already used in this account"),
    (95020, _T.FAIL, _C.SYNC_CURSOR, "sync_msg cursor invalid or expired"),
)

#: errcode -> (disposition, category), from the rows above.
ERRCODE_TABLE: Mapping[int, tuple[Disposition, ErrorCategory]] = MappingProxyType(
    {code: (disposition, category) for code, disposition, category, _ in _ROWS}
)
#: errcode -> what it means, in a few words (for the docs and messages).
ERRCODE_MEANINGS: Mapping[int, str] = MappingProxyType(
    {code: meaning for code, _, _, meaning in _ROWS}
)

_DEFAULT = (Disposition.FAIL, ErrorCategory.OTHER)


def disposition_for(errcode: int) -> Disposition:
    """Return what the client does with *errcode*; unknown codes fail fast."""
    return ERRCODE_TABLE.get(errcode, _DEFAULT)[0]


def category_for(errcode: int) -> ErrorCategory:
    """Return which exception class *errcode* raises (as a category)."""
    return ERRCODE_TABLE.get(errcode, _DEFAULT)[1]
