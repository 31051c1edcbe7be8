"""The one way down: budget -> token -> retry -> transport -> decipher, for every endpoint."""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

import httpx

from ._budgets import Budgets
from ._constants import LOGGER_NAME
from ._endpoints import ENDPOINTS, Endpoint
from ._errors import (
    AccessTokenError,
    KfError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
    WeComError,
)
from ._limiter import AdaptiveThrottle
from ._retry import RetryPolicy, retrying_call
from ._safety import CallState, after_failure, outcome_unknown
from ._sansio import check_token_answer, decipher_response
from ._token import AccessToken, TokenManager, TokenStore, token_key
from ._transport import describe_failure
from .instrumentation._hooks import Hooks
from .instrumentation._probe import ProbeFactory
from .instrumentation.events import RateLimitWaited, TokenRefreshed

__all__ = ["ALREADY_DONE", "Caller", "Pipeline", "Upload"]

logger = logging.getLogger(LOGGER_NAME)

_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}
GETTOKEN = ENDPOINTS["gettoken"]

#: Times a request re-reads the current token while waiting for its turn to send
#: (it changed while the request queued); after that it goes with what it has.
_TOKEN_PASSES = 3
_T = TypeVar("_T")

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
        """Send *body* to *endpoint* and return WeCom's answer, or raise."""


class _TokenRefused(Exception):
    """Internal: WeCom refused *token*; carries which token so only that one is dropped."""

    def __init__(self, error: AccessTokenError, token: AccessToken) -> None:
        super().__init__(error.errcode)
        self.error = error
        self.token = token


class Pipeline:
    """Sends every call: budget, token, retry, transport, decipher.

    It owns no HTTP client: :class:`~wecom_kf_async.KfClient` opens one and hands it
    over with :meth:`open`, and closes it after :meth:`close`.
    """

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        base_url: str,
        max_concurrency: int,
        budgets: Budgets,
        retry: RetryPolicy,
        token_store: TokenStore,
        attempt_timeout: float | None,
        clock: Callable[[], float],
        monotonic: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]],
        rng: random.Random,
        hooks: Hooks,
    ) -> None:
        self._corp_id = corp_id
        self.__secret = secret
        self._base_url = base_url
        self.budgets = budgets
        self.retry = retry
        self._attempt_timeout = attempt_timeout
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._http: httpx.AsyncClient | None = None
        self.state = "new"
        #: The client's instrumentation hooks.
        self.hooks = hooks
        self._probes = ProbeFactory(hooks, monotonic, self._base_url)
        self._waits = hooks.wants(RateLimitWaited)
        self.tokens = TokenManager(
            key=token_key(corp_id, secret),
            fetch=self._fetch_token,
            store=token_store,
            clock=clock,
            monotonic=monotonic,
            rng=rng,
            on_refresh=_refresh_reporter(hooks),
        )

    def __repr__(self) -> str:
        return f"<Pipeline {self._corp_id} {self.state}>"

    # -- lifecycle ---------------------------------------------------------------

    def open(self, http: httpx.AsyncClient) -> None:
        """Start sending through *http*."""
        self._http = http
        self.state = "open"

    async def close(self) -> None:
        """Refuse new calls and cancel a token refresh in progress."""
        self.state = "closed"
        await self.tokens.aclose()

    def _client(self) -> httpx.AsyncClient:
        if self.state != "open" or self._http is None:
            raise RuntimeError(
                "KfClient is not open: use 'async with KfClient(...) as kf:'"
                if self.state == "new"
                else "KfClient is closed"
            )
        return self._http

    # -- calls -------------------------------------------------------------------

    async def call(
        self,
        endpoint: Endpoint,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
        upload: Upload | None = None,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Call *endpoint* with the access token, retrying as its row and the errcode say.

        Returns the JSON object of the answer; raises a
        :class:`~wecom_kf_async.KfError` subclass. A call to an
        :attr:`~Safety.UNSAFE` endpoint whose outcome is unknown raises
        :class:`~wecom_kf_async.OutcomeUnknownError` instead of being retried. When
        a retry after an ambiguous failure is answered with one of the endpoint's
        ``already_done`` errcodes, the answer is ``{"errcode": 0, ...,
        ALREADY_DONE: errcode}``. *check* looks at each successful answer inside
        the retry loop: the :class:`~wecom_kf_async.InvalidResponseError` it raises
        for a field it refuses is retried like a malformed body.
        """
        self._client()
        query = dict(params or {})
        content = (
            None
            if body is None
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        state = CallState(probe=self._probes(endpoint.path, endpoint.method))

        async def attempt() -> dict[str, Any]:
            answer = await self._send_authed(endpoint, query, content, upload, state)
            if check is not None:
                check(answer)
            return answer

        return await self._retried(endpoint, state, attempt)

    async def _retried(
        self, endpoint: Endpoint, state: CallState, attempt: Callable[[], Awaitable[_T]]
    ) -> _T:
        """Run *attempt* under the retry policy; report the call's end to its probe."""
        try:
            result = await retrying_call(
                attempt,
                policy=self.retry,
                path=endpoint.path,
                clock=self._monotonic,
                sleep=self._sleep,
                rng=self._rng,
                on_retry=state.probe.retry,
            )
        except KfError as exc:
            unknown = outcome_unknown(endpoint, exc, state)
            state.probe.finished(unknown or exc)
            if unknown is None:
                raise
            raise unknown from exc
        except BaseException as exc:
            state.probe.finished(exc)
            raise
        state.probe.finished(None)
        return result

    async def _send_authed(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        content: bytes | None,
        upload: Upload | None,
        state: CallState,
    ) -> dict[str, Any]:
        """Send with the access token; if WeCom refuses it, refresh once and resend once."""
        token = await self.tokens.get()
        try:
            return await self._send(endpoint, params, content, upload, state, token)
        except _TokenRefused as refused:
            used, errcode = refused.token, refused.error.errcode
        logger.info("%s refused the access token (errcode %d); refreshing", endpoint.path, errcode)
        await self.tokens.invalidate(used)
        token = await self.tokens.get()
        try:
            return await self._send(endpoint, params, content, upload, state, token)
        except _TokenRefused as refused:
            error = refused.error
        raise error

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self._corp_id, "corpsecret": self.__secret}
        state = CallState(probe=self._probes(GETTOKEN.path, GETTOKEN.method))

        async def gettoken() -> tuple[str, float]:
            answer = await self._send(GETTOKEN, params, None, None, state)
            return check_token_answer(answer)

        return await self._retried(GETTOKEN, state, gettoken)

    async def _wait_for_turn(self, token: AccessToken | None) -> AccessToken | None:
        """Take a concurrency slot, carrying the newest token known by then.

        A request that queued while the token was refused waits for the refresh
        outside the concurrency bound (which the refresh itself needs).
        """
        passes = 0
        while True:
            if token is not None and not self.tokens.is_current(token):
                token = await self.tokens.get()
            await self._semaphore.acquire()
            passes += 1
            if token is None or passes >= _TOKEN_PASSES or self.tokens.is_current(token):
                return token
            self._semaphore.release()

    async def _send(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        content: bytes | None,
        upload: Upload | None,
        state: CallState,
        token: AccessToken | None = None,
    ) -> dict[str, Any]:
        """One HTTP attempt: concurrency bound, budget, send, decipher."""
        http = self._client()
        path = endpoint.path
        token = await self._wait_for_turn(token)
        throttle = self.budgets.throttle(path)
        failure: TransportError | None = None
        response: httpx.Response | None = None
        try:
            waited = self._monotonic() if self._waits else 0.0
            for limiter in self.budgets.limiters(endpoint):
                await limiter.acquire()
            await throttle.acquire()
            if self._waits:
                self._report_wait(endpoint, waited)
            if self.state != "open":
                raise RuntimeError("KfClient is closed")
            if token is not None:
                params = {**params, "access_token": token.value}
            files = None if upload is None else upload.open()
            limit = asyncio.timeout(self._attempt_timeout)
            state.in_flight = True
            started = state.probe.attempt()
            try:
                async with limit:
                    response = await http.request(
                        endpoint.method,
                        f"{self._base_url}/cgi-bin/{path}",
                        params=params,
                        content=content,
                        files=files,
                        headers=_JSON_HEADERS if content is not None else None,
                    )
            except Exception as exc:
                failure = self._failure(path, exc, limit.expired())
            finally:
                if upload is not None:
                    upload.close()
        finally:
            self._semaphore.release()
        # Raised outside the except blocks, so the httpx exception (whose request
        # carries the URL and with it the token) is not chained as __context__.
        if failure is not None:
            state.probe.answered(started, failure)
            raise after_failure(endpoint, failure, state)
        if response is None:  # the client closed under the request
            raise RuntimeError("KfClient is closed")
        try:
            data = decipher_response(
                response.status_code, response.headers, response.content, path=path
            )
        except KfError as exc:
            state.probe.answered(started, exc)
            return self._refused(endpoint, exc, state, token, throttle)
        state.probe.answered(started, None)
        state.in_flight = False
        throttle.on_success()
        return data

    def _refused(
        self,
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
            raise _TokenRefused(exc, token)
        elif isinstance(exc, WeComError):
            if state.ambiguous and exc.errcode in endpoint.already_done:
                logger.info(
                    "%s: errcode %d after a retry: the first try did it", endpoint.path, exc.errcode
                )
                return {"errcode": 0, "errmsg": exc.errmsg, ALREADY_DONE: exc.errcode}
        elif isinstance(exc, TransportError):  # a bad status or body: it may have been done
            raise after_failure(endpoint, exc, state)
        raise exc

    def _report_wait(self, endpoint: Endpoint, since: float) -> None:
        waited = self._monotonic() - since
        if waited > 0:
            self.hooks.emit(RateLimitWaited(path=endpoint.budget_key, seconds=waited))

    def _failure(self, path: str, exc: Exception, timed_out: bool) -> TransportError | None:
        """The library's error for a failed send (``None``: the client closed under it)."""
        if timed_out:
            return RequestTimeoutError(
                f"{path} took longer than {self._attempt_timeout}s as a whole",
                path=path,
                reason="attempt timeout",
            )
        if self.state != "open":
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


def _refresh_reporter(hooks: Hooks) -> Callable[[float, str], None] | None:
    """What the token manager calls after a refresh (``None`` when no hook listens)."""
    if not hooks.wants(TokenRefreshed):
        return None

    def report(duration: float, source: str) -> None:
        hooks.emit(TokenRefreshed(duration=duration, source=source))

    return report
