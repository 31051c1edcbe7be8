"""The one way down: budget -> token -> retry -> transport -> decipher, for every endpoint."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import httpx

from ._admission import Admitter
from ._budgets import Budgets
from ._calls import (
    ALREADY_DONE,
    Caller,
    Sent,
    TokenRefused,
    Upload,
    Urls,
    refresh_reporter,
    refused_answer,
    send_failure,
)
from ._constants import LOGGER_NAME
from ._endpoints import Endpoint
from ._errors import (
    KfError,
    OutcomeUnknownError,
    TransportError,
)
from ._retry import RetryPolicy, retrying_call
from ._safety import CallState, after_failure, closed_under, outcome_unknown
from ._sansio import decipher_response, encode_json
from ._sources import TokenSource
from ._streamed import answer_error, is_file
from ._token import AccessToken, TokenManager, TokenStore
from ._transport import Sender
from .instrumentation._hooks import Hooks
from .instrumentation._probe import ProbeFactory

__all__ = ["ALREADY_DONE", "Caller", "Pipeline", "Upload"]

logger = logging.getLogger(LOGGER_NAME)

_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}

_T = TypeVar("_T")


class Pipeline:
    """Sends every call: budget, token, retry, transport, decipher.

    It owns no HTTP client: :class:`~wecom_kf_async.KfClient` makes a
    :class:`~wecom_kf_async._transport.Sender` and hands it over with :meth:`open`,
    and closes it after :meth:`close`.
    """

    def __init__(
        self,
        *,
        source: TokenSource,
        base_url: str,
        token_param: str = "access_token",  # noqa: S107 - a parameter's name
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
        self._corp_id = source.corp_id
        self.source = source
        self._base_url = base_url
        self.budgets = budgets
        self.retry = retry
        self._attempt_timeout = attempt_timeout
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng
        self._http: Sender | None = None
        self._urls = Urls(base_url, token_param)
        self.state = "new"
        #: The client's instrumentation hooks.
        self.hooks = hooks
        self._probes = ProbeFactory(hooks, monotonic, self._base_url)
        self.tokens = tokens = TokenManager(
            key=source.cache_key,
            fetch=self._fetch_token,
            store=token_store,
            clock=clock,
            monotonic=monotonic,
            rng=rng,
            on_refresh=refresh_reporter(hooks),
        )
        self._admitter = Admitter(
            asyncio.Semaphore(max_concurrency), tokens, hooks=hooks, monotonic=monotonic
        )

    def __repr__(self) -> str:
        return f"<Pipeline {self._corp_id} {self.state}>"

    # -- lifecycle ---------------------------------------------------------------

    def open(self, http: Sender) -> None:
        """Start sending through *http*."""
        self._http = http
        self.state = "open"

    async def close(self) -> None:
        """Refuse new calls and cancel a token refresh in progress."""
        self.state = "closed"
        await self.tokens.aclose()

    def _client(self) -> Sender:
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
        check: Callable[[dict[str, Any]], object] | None = None,
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
        content = None if body is None else encode_json(body)
        state = CallState(probe=self._probes(endpoint.path, endpoint.method))

        def send(token: AccessToken) -> Awaitable[dict[str, Any]]:
            return self._send(endpoint, query, content, upload, state, token)

        async def attempt() -> dict[str, Any]:
            answer = await self._send_authed(endpoint, send)
            if check is not None:
                check(answer)
            return answer

        return await self._retried(endpoint, state, attempt)

    @contextlib.asynccontextmanager
    async def stream(
        self,
        endpoint: Endpoint,
        *,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Open a download from *endpoint*: its response, the body left to read.

        The same way down as :meth:`call` (token, budget, concurrency, retries of
        the opening, instrumentation); an answer that is no file (JSON, another
        status) raises the error it carries. The concurrency slot is held until the
        block exits, which closes the response. A failure while the body is read
        is the reader's to handle (:func:`~wecom_kf_async._streamed.body_failure`).
        """
        self._client()
        query = dict(params or {})
        state = CallState(probe=self._probes(endpoint.path, endpoint.method))

        def send(token: AccessToken) -> Awaitable[httpx.Response]:
            return self._open(endpoint, query, headers or {}, state, token)

        response = await self._retried(endpoint, state, lambda: self._send_authed(endpoint, send))
        try:
            yield response
        finally:
            try:
                await response.aclose()
            finally:
                self._admitter.release()

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
            if isinstance(exc, RuntimeError) and self.state == "closed":
                # Closed between tries: a state-changing call whose earlier try may
                # have reached WeCom has an unknown outcome, not just a closed client.
                closed = closed_under(endpoint, state)
                if isinstance(closed, OutcomeUnknownError):
                    state.probe.finished(closed)
                    raise closed from None
            state.probe.finished(exc)
            raise
        state.probe.finished(None)
        return result

    async def _send_authed(
        self, endpoint: Endpoint, send: Callable[[AccessToken], Awaitable[_T]]
    ) -> _T:
        """*send* with the access token; if WeCom refuses it, refresh once and resend once."""
        token = await self.tokens.get()
        try:
            return await send(token)
        except TokenRefused as refused:
            used, errcode = refused.token, refused.error.errcode
        logger.info("%s refused the access token (errcode %d); refreshing", endpoint.path, errcode)
        await self.tokens.invalidate(used)
        token = await self.tokens.get()
        try:
            return await send(token)
        except TokenRefused as refused:
            error = refused.error
        raise error

    async def _fetch_token(self) -> tuple[str, float]:
        return await self.source.fetch(self.unauthed)

    async def unauthed(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None,
        check: Callable[[dict[str, Any]], Any],
    ) -> dict[str, Any]:
        """A token source's call: no token, the retries and budget of any call."""
        self._client()
        content = None if body is None else encode_json(body)
        state = CallState(probe=self._probes(endpoint.path, endpoint.method))

        async def attempt() -> dict[str, Any]:
            answer = await self._send(endpoint, params, content, None, state)
            check(answer)
            return answer

        return await self._retried(endpoint, state, attempt)

    async def _send(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        content: bytes | None,
        upload: Upload | None,
        state: CallState,
        token: AccessToken | None = None,
    ) -> dict[str, Any]:
        """One HTTP attempt: budget, concurrency bound, send, decipher."""
        headers = _JSON_HEADERS if content is not None else None
        sent = await self._exchange(endpoint, params, content, upload, headers, state, token)
        response = sent.response
        try:
            data = decipher_response(
                response.status_code, response.headers, response.content, path=endpoint.path
            )
        except KfError as exc:
            state.probe.answered(sent.started, exc)
            return refused_answer(endpoint, exc, state, sent.token, sent.admission.throttle)
        self._succeeded(sent, state)
        return data

    async def _open(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        headers: Mapping[str, str],
        state: CallState,
        token: AccessToken,
    ) -> httpx.Response:
        """One attempt to open a download; on return the slot is held (see :meth:`stream`)."""
        sent = await self._exchange(endpoint, params, None, None, headers, state, token, True)
        response = sent.response
        failure: TransportError | None = None
        error: KfError | None = None
        try:
            if not is_file(response):
                error = await answer_error(response, endpoint.path)
        except Exception as exc:
            failure = send_failure(
                endpoint.path, exc, timed_out=False, limit=None, is_open=self.state == "open"
            )
        finally:
            if failure is not None or error is not None:
                await response.aclose()
                self._admitter.release()
        if failure is not None:
            state.probe.answered(sent.started, failure)
            raise after_failure(endpoint, failure, state)
        if error is not None:
            state.probe.answered(sent.started, error)
            refused_answer(endpoint, error, state, sent.token, sent.admission.throttle)
            raise error
        self._succeeded(sent, state)
        return response

    def _succeeded(self, sent: Sent, state: CallState) -> None:
        state.probe.answered(sent.started, None)
        state.in_flight = False
        sent.admission.throttle.on_success()

    async def _exchange(
        self,
        endpoint: Endpoint,
        params: Mapping[str, str],
        content: bytes | None,
        upload: Upload | None,
        headers: Mapping[str, str] | None,
        state: CallState,
        token: AccessToken | None,
        stream: bool = False,
    ) -> Sent:
        """Admit, send and receive the answer (with *stream*, its head only: the slot
        is then held on return, for the body)."""
        http = self._client()
        path = endpoint.path
        admission = self.budgets.admission(endpoint)
        token = await self._admitter.admit(endpoint, admission, token)
        failure: TransportError | None = None
        response: httpx.Response | None = None
        held = False
        try:
            if self.state != "open":
                raise RuntimeError("KfClient is closed")
            url = self._urls.url(path, params, token)
            files = None if upload is None else upload.open()
            limit = asyncio.timeout(self._attempt_timeout)
            state.in_flight = True
            started = state.probe.attempt()
            try:
                async with limit:
                    response = await http.send(
                        endpoint.method,
                        url,
                        content=content,
                        files=files,
                        headers=headers,
                        stream=stream,
                    )
            except Exception as exc:
                failure = send_failure(
                    path,
                    exc,
                    timed_out=limit.expired(),
                    limit=self._attempt_timeout,
                    is_open=self.state == "open",
                )
            finally:
                if upload is not None:
                    upload.close()
            held = stream and failure is None and response is not None
        finally:
            if not held:
                if stream and response is not None:
                    await response.aclose()
                self._admitter.release()
        # Raised outside the except blocks, so the httpx exception (whose request
        # carries the URL and with it the token) is not chained as __context__.
        if failure is not None:
            state.probe.answered(started, failure)
            raise after_failure(endpoint, failure, state)
        if response is None:  # the client closed under the request
            raise closed_under(endpoint, state)
        return Sent(response, started, admission, token)
