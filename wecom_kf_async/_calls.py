"""The shapes of one call: what resources need of the client, and one attempt's parts."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs
import httpx

from ._budgets import Admission
from ._endpoints import Endpoint
from ._errors import AccessTokenError, RequestTimeoutError, TransportError
from ._token import AccessToken
from ._transport import describe_failure
from .instrumentation._hooks import Hooks
from .instrumentation.events import TokenRefreshed

__all__ = ["Caller", "Sent", "TokenRefused", "Upload", "refresh_reporter", "send_failure"]


class Upload(Protocol):
    """A multipart body that can be produced again for each attempt."""

    def open(self) -> dict[str, Any]:
        """Fresh ``files=`` for httpx (file objects positioned at their start)."""

    def close(self) -> None:
        """Release what :meth:`open` opened."""


class Caller(Protocol):
    """What a resource group needs of the client: one call to one endpoint."""

    async def call(
        self,
        endpoint: Endpoint,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
        upload: Upload | None = None,
    ) -> dict[str, Any]:
        """Send *body* to *endpoint* and return WeCom's answer, or raise."""

    def stream(
        self,
        endpoint: Endpoint,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> contextlib.AbstractAsyncContextManager[httpx.Response]:
        """Open a download from *endpoint* (see :meth:`Pipeline.stream`)."""


@attrs.frozen
class Sent:
    """One attempt's answer, with what deciding on it needs."""

    response: httpx.Response
    started: float
    admission: Admission
    token: AccessToken | None


class TokenRefused(Exception):
    """Internal: WeCom refused *token*; carries which token so only that one is dropped."""

    def __init__(self, error: AccessTokenError, token: AccessToken) -> None:
        super().__init__(error.errcode)
        self.error = error
        self.token = token


def send_failure(
    path: str, exc: Exception, *, timed_out: bool, limit: float | None, is_open: bool
) -> TransportError | None:
    """The library's error for a failed send (``None``: the client closed under it).

    *limit* is the attempt timeout that *timed_out* says expired.
    """
    if timed_out:
        return RequestTimeoutError(
            f"{path} took longer than {limit}s as a whole", path=path, reason="attempt timeout"
        )
    if not is_open:
        return None
    described = describe_failure(exc)
    if described is None:
        raise exc
    timeout, reason, sent = described
    if timeout:
        return RequestTimeoutError(
            f"{path} timed out ({reason})", path=path, reason=reason, sent=sent
        )
    return TransportError(f"{path} failed: {reason}", path=path, reason=reason, sent=sent)


def refresh_reporter(hooks: Hooks) -> Callable[[float, str], None] | None:
    """What the token manager calls after a refresh (``None`` when no hook listens)."""
    if not hooks.wants(TokenRefreshed):
        return None

    def report(duration: float, source: str) -> None:
        hooks.emit(TokenRefreshed(duration=duration, source=source))

    return report
