"""The events of one API call, built only when a hook wants them."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from .._errors import (
    InvalidResponseError,
    OutcomeUnknownError,
    RequestTimeoutError,
    TransportError,
    UpstreamHTTPError,
    WeComError,
)
from ._hooks import Hooks
from .events import (
    AttemptStarted,
    CallFinished,
    CallStarted,
    RequestFinished,
    RetryScheduled,
)

__all__ = ["CallProbe", "ProbeFactory"]


def outcome_of(exc: BaseException | None) -> tuple[str, int | None, int | None]:
    """``(outcome, status_code, errcode)`` of an attempt that ended with *exc* (or fine)."""
    if exc is None:
        return "ok", 200, 0
    if isinstance(exc, WeComError):
        return "errcode", 200, exc.errcode
    if isinstance(exc, UpstreamHTTPError):
        return "http_error", exc.status_code, None
    if isinstance(exc, InvalidResponseError):
        return "invalid_response", 200, None
    if isinstance(exc, RequestTimeoutError):
        return "timeout", None, None
    if isinstance(exc, TransportError):
        return "transport_error", None, None
    return "error", None, None


class CallProbe:
    """Emits one call's events (a no-op for each kind no hook wants)."""

    __slots__ = (
        "_hooks",
        "_monotonic",
        "_started",
        "attempts",
        "call_id",
        "method",
        "path",
        "url",
    )

    def __init__(
        self,
        hooks: Hooks,
        monotonic: Callable[[], float],
        call_id: int,
        path: str,
        method: str,
        url: str,
    ) -> None:
        self._hooks = hooks
        self._monotonic = monotonic
        self.call_id = call_id
        self.url = url
        self.path = path
        self.method = method
        self.attempts = 0
        self._started = monotonic()
        if hooks.wants(CallStarted):
            hooks.emit(CallStarted(call_id=call_id, path=path, method=method))

    def attempt(self) -> float:
        """An attempt begins; returns its start time."""
        self.attempts += 1
        if self._hooks.wants(AttemptStarted):
            self._hooks.emit(
                AttemptStarted(
                    call_id=self.call_id,
                    path=self.path,
                    method=self.method,
                    attempt=self.attempts,
                    url=self.url,
                )
            )
        return self._monotonic()

    def answered(self, started: float, exc: BaseException | None) -> None:
        """The attempt begun at *started* ended, fine or with *exc*."""
        if not self._hooks.wants(RequestFinished):
            return
        outcome, status, errcode = outcome_of(exc)
        self._hooks.emit(
            RequestFinished(
                call_id=self.call_id,
                path=self.path,
                method=self.method,
                attempt=self.attempts,
                duration=self._monotonic() - started,
                status_code=status,
                errcode=errcode,
                outcome=outcome,
            )
        )

    def retry(self, attempt: int, wait: float, exc: BaseException | None) -> None:
        """The call will try again after *wait* seconds."""
        if self._hooks.wants(RetryScheduled):
            self._hooks.emit(
                RetryScheduled(
                    call_id=self.call_id,
                    path=self.path,
                    attempt=attempt,
                    wait=wait,
                    cause=type(exc).__name__ if exc is not None else "?",
                )
            )

    def finished(self, exc: BaseException | None) -> None:
        """The call ended, fine or with *exc*."""
        if not self._hooks.wants(CallFinished):
            return
        outcome = "ok" if exc is None else "error"
        if isinstance(exc, OutcomeUnknownError):
            outcome = "outcome_unknown"
        self._hooks.emit(
            CallFinished(
                call_id=self.call_id,
                path=self.path,
                method=self.method,
                duration=self._monotonic() - self._started,
                outcome=outcome,
                errcode=exc.errcode if isinstance(exc, WeComError) else None,
                error=None if exc is None else type(exc).__name__,
            )
        )


#: Call ids, unique in the process (one hook may serve several clients).
_call_ids = itertools.count(1)


class ProbeFactory:
    """Makes each call's probe."""

    def __init__(self, hooks: Hooks, monotonic: Callable[[], float], base_url: str) -> None:
        self.hooks = hooks
        self._monotonic = monotonic
        self._base_url = base_url

    def __call__(self, path: str, method: str) -> CallProbe:
        """The probe of a new call."""
        url = f"{self._base_url}/cgi-bin/{path}"
        return CallProbe(self.hooks, self._monotonic, next(_call_ids), path, method, url)
