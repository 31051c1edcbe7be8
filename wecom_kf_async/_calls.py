"""The shapes of one call: what resources need of the client, and one attempt's parts."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Mapping
from typing import Any, Protocol

import attrs
import httpx

from ._budgets import Admission
from ._constants import LOGGER_NAME
from ._endpoints import Endpoint
from ._errors import (
    AccessTokenError,
    KfError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
    WeComError,
)
from ._limiter import AdaptiveThrottle
from ._safety import CallState, after_failure
from ._token import AccessToken
from ._transport import describe_failure
from .instrumentation._hooks import Hooks
from .instrumentation.events import TokenRefreshed

__all__ = [
    "ALREADY_DONE",
    "Caller",
    "Sent",
    "TokenRefused",
    "Upload",
    "Urls",
    "refresh_reporter",
    "refused_answer",
    "send_failure",
]

logger = logging.getLogger(LOGGER_NAME)

#: Key of the answer :meth:`Pipeline.call` returns when a retry was answered with one
#: of the endpoint's ``already_done`` errcodes: the first try did the work.
ALREADY_DONE = "already_done"


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
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Send *body* to *endpoint* and return WeCom's answer, or raise.

        *check* looks at each successful answer inside the retry loop (an
        ``InvalidResponseError`` it raises is retried like a malformed body).
        """

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


class Urls:
    """The URL of each call; the last one of each path is reused while its token is.

    Parsing a URL costs more than the rest of a call's own work.
    """

    def __init__(
        self,
        base_url: str,
        token_param: str = "access_token",  # noqa: S107 - a parameter's name
    ) -> None:
        self._base_url = base_url
        self._param = token_param
        self._last: dict[str, tuple[AccessToken, httpx.URL]] = {}

    def url(self, path: str, params: Mapping[str, str], token: AccessToken | None) -> httpx.URL:
        """The URL of a call to *path* with *params* and the access token."""
        if params or token is None:
            query = dict(params) if token is None else {**params, self._param: token.value}
            return httpx.URL(f"{self._base_url}/cgi-bin/{path}", params=query)
        cached = self._last.get(path)
        if cached is not None and cached[0] is token:
            return cached[1]
        url = httpx.URL(f"{self._base_url}/cgi-bin/{path}", params={self._param: token.value})
        self._last[path] = (token, url)
        return url


def refused_answer(
    endpoint: Endpoint,
    exc: KfError,
    state: CallState,
    token: AccessToken | None,
    throttle: AdaptiveThrottle,
) -> dict[str, Any]:
    """Raise what an answer that is no success calls for (or return a retry's "done")."""
    state.in_flight = False
    if isinstance(exc, RateLimitedError):
        throttle.on_throttle()
    elif isinstance(exc, AccessTokenError) and token is not None:
        raise TokenRefused(exc, token)
    elif isinstance(exc, WeComError):
        if state.ambiguous and exc.errcode in endpoint.already_done:
            logger.info(
                "%s: errcode %d after a retry: the first try did it", endpoint.path, exc.errcode
            )
            return {"errcode": 0, "errmsg": exc.errmsg, ALREADY_DONE: exc.errcode}
    elif isinstance(exc, TransportError):  # a bad status or body: it may have been done
        raise after_failure(endpoint, exc, state)
    raise exc
