"""The events the library emits: small frozen records, never a secret, token or message body.

A hook receives them one at a time (see :mod:`wecom_kf_async.instrumentation`).
Durations and waits are seconds on the client's monotonic clock. Identifiers that
are no secret (an API path, an ``open_kfid``, a ``msgid``) may appear; tokens,
the secret, message contents and customers' names never do, and an error is named
by its exception class only.
"""

from __future__ import annotations

import attrs

__all__ = [
    "AttemptStarted",
    "CallFinished",
    "CallStarted",
    "CallbackAnswered",
    "CallbackReceived",
    "CallbackRejected",
    "HandlerFailed",
    "HandlerFinished",
    "HandlerStarted",
    "InstrumentationEvent",
    "PullFailed",
    "PullFinished",
    "PullRecovered",
    "PullStarted",
    "RateLimitWaited",
    "RequestFinished",
    "RetryScheduled",
    "StreamStalled",
    "SyncPageTaken",
    "ThrottleChanged",
    "TokenRefreshed",
]


@attrs.frozen(kw_only=True)
class InstrumentationEvent:
    """Base of every event."""


# -- API calls -------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CallStarted(InstrumentationEvent):
    """An API call begins (before its budget, token and first attempt)."""

    #: Identifies the call in this process (its attempts and retries carry it too).
    call_id: int
    #: The API path, e.g. ``"kf/sync_msg"``.
    path: str
    #: The HTTP method.
    method: str


@attrs.frozen(kw_only=True)
class CallFinished(InstrumentationEvent):
    """An API call ended, after all its attempts."""

    call_id: int
    path: str
    method: str
    #: Seconds from start to end, waits and retries included.
    duration: float
    #: ``"ok"``, ``"error"`` (it raised) or ``"outcome_unknown"``.
    outcome: str
    #: WeCom's errcode when the call ended on one.
    errcode: int | None = None
    #: The exception's class name when it raised.
    error: str | None = None


@attrs.frozen(kw_only=True)
class AttemptStarted(InstrumentationEvent):
    """One HTTP attempt of a call begins (after its waits)."""

    call_id: int
    path: str
    method: str
    #: 1 for the first try, 2 for the first retry, ...
    attempt: int
    #: The URL without its query (the query carries the access token).
    url: str


@attrs.frozen(kw_only=True)
class RequestFinished(InstrumentationEvent):
    """One HTTP attempt ended."""

    call_id: int
    path: str
    method: str
    attempt: int
    #: Seconds from sending to the decoded answer (or the failure).
    duration: float
    #: The HTTP status, ``None`` when no answer came.
    status_code: int | None
    #: WeCom's errcode (0 for success), ``None`` when the answer had none.
    errcode: int | None
    #: ``"ok"``, ``"errcode"`` (WeCom refused), ``"http_error"``,
    #: ``"invalid_response"``, ``"timeout"`` or ``"transport_error"``.
    outcome: str


@attrs.frozen(kw_only=True)
class RetryScheduled(InstrumentationEvent):
    """A failed attempt will be retried after a wait."""

    call_id: int
    path: str
    #: The attempt that failed.
    attempt: int
    #: Seconds the client waits before the next attempt.
    wait: float
    #: The failure's class name, e.g. ``"RateLimitedError"``.
    cause: str


@attrs.frozen(kw_only=True)
class RateLimitWaited(InstrumentationEvent):
    """A call waited for its turn: its endpoint's budget, a shared limiter, the slow-down."""

    #: The budget's name (an API path, or e.g. ``"kf/sync_msg:no_token"``).
    path: str
    #: Seconds it waited.
    seconds: float


@attrs.frozen(kw_only=True)
class ThrottleChanged(InstrumentationEvent):
    """The adaptive slow-down of an endpoint engaged, changed or lifted."""

    path: str
    #: The cap in calls per second, ``None`` when lifted.
    rate: float | None


@attrs.frozen(kw_only=True)
class TokenRefreshed(InstrumentationEvent):
    """A fresh access token is in use."""

    #: Seconds the refresh took.
    duration: float
    #: ``"gettoken"`` (this process fetched it) or ``"shared"`` (another process of
    #: the fleet did, and this one took it from the shared store).
    source: str


# -- messages and the bot ----------------------------------------------------------


@attrs.frozen(kw_only=True)
class SyncPageTaken(InstrumentationEvent):
    """A ``sync_msg`` page of a stream was read."""

    open_kfid: str
    #: Messages on the page (duplicates included).
    count: int
    has_more: bool


@attrs.frozen(kw_only=True)
class StreamStalled(InstrumentationEvent):
    """A stream gave up on a server that made no progress (``StreamStalledError``)."""

    open_kfid: str
    #: Pages in a row with ``has_more``, no new message and the same cursor.
    pages: int


@attrs.frozen(kw_only=True)
class CallbackReceived(InstrumentationEvent):
    """A verified, decrypted ``kf_msg_or_event`` arrived (before the bot is woken)."""

    open_kfid: str
    #: Whether it carried a Token.
    with_token: bool


@attrs.frozen(kw_only=True)
class CallbackAnswered(InstrumentationEvent):
    """A callback was answered ``success`` (after the bot was woken)."""

    open_kfid: str
    #: Whether the wake-up was new (``False``: a repeated Token, dropped).
    woke: bool


@attrs.frozen(kw_only=True)
class CallbackRejected(InstrumentationEvent):
    """A callback request was refused."""

    #: The HTTP status answered (400, 403, 413, ...).
    status: int
    #: Why, e.g. ``"SignatureError"`` or ``"too large"``.
    reason: str
    #: WeCom's negative crypto code, when a crypto check failed.
    code: int | None = None


@attrs.frozen(kw_only=True)
class PullStarted(InstrumentationEvent):
    """The bot starts pulling an account's messages."""

    open_kfid: str
    with_token: bool


@attrs.frozen(kw_only=True)
class PullFinished(InstrumentationEvent):
    """The bot's pull of an account ended."""

    open_kfid: str
    #: Messages handed to handlers.
    messages: int
    duration: float
    #: The exception's class name if the pull failed.
    error: str | None = None


@attrs.frozen(kw_only=True)
class PullFailed(InstrumentationEvent):
    """A pull of the bot failed, whatever the cause; it is tried again after ``retry_in``.

    The account's lane goes on: the wait doubles with each failure in a row, up to
    a cap, for as long as the bot runs.
    """

    open_kfid: str
    #: The exception's class name, e.g. ``"ConnectionError"``.
    error: str
    #: Failures of this account's pulls in a row (1 for the first).
    failures: int
    #: Seconds before the next try.
    retry_in: float
    #: Messages were handled but their cursor could not be saved: nothing more is
    #: handled for the account until it is saved (tried again after ``retry_in``).
    cursor_unsaved: bool


@attrs.frozen(kw_only=True)
class PullRecovered(InstrumentationEvent):
    """A pull succeeded after ``failures`` failures in a row (``PullFailed``)."""

    open_kfid: str
    failures: int


@attrs.frozen(kw_only=True)
class HandlerStarted(InstrumentationEvent):
    """A handler takes a message."""

    open_kfid: str
    msgid: str
    #: The message's class name, e.g. ``"TextMessage"``.
    kind: str
    #: The handler's qualified name.
    handler: str


@attrs.frozen(kw_only=True)
class HandlerFinished(InstrumentationEvent):
    """A handler is done with a message (``error`` set if it raised)."""

    open_kfid: str
    msgid: str
    kind: str
    handler: str
    duration: float
    error: str | None = None


@attrs.frozen(kw_only=True)
class HandlerFailed(InstrumentationEvent):
    """A handler raised (the stream goes on; the message is not retried)."""

    open_kfid: str
    msgid: str
    kind: str
    handler: str
    #: The exception's class name.
    error: str
