"""``KfClient``: one HTTP client, one token manager, one rate limit, every call."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any, Self

import httpx

from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_FLEET_NAMESPACE,
    DEFAULT_LOCK_TTL,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT,
    LOGGER_NAME,
    MAX_TOKEN_BYTES,
    TOKEN_LIFETIME_RANGE,
)
from ._customers import CustomersAPI
from ._errors import (
    AccessTokenError,
    InvalidResponseError,
    RateLimitedError,
    RequestTimeoutError,
    TransportError,
)
from ._limiter import AdaptiveThrottle, LocalRateLimiter, RateLimiter
from ._redact import install_log_redaction
from ._retry import RetryPolicy, retrying_call
from ._sansio import decipher_response
from ._token import AccessToken, InMemoryTokenStore, TokenManager, TokenStore, token_key
from ._transport import default_transport, describe_failure

__all__ = ["KfClient"]

logger = logging.getLogger(LOGGER_NAME)

_JSON_HEADERS = {"Content-Type": "application/json; charset=utf-8"}

#: Times a request re-reads the current token while waiting for its turn to send
#: (it changed while the request queued); after that it goes with what it has.
_TOKEN_PASSES = 3


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return value


def attempt_limit(timeout: float | httpx.Timeout | None) -> float | None:
    """Seconds one attempt may take as a whole, connect to last byte (``None``: no bound).

    httpx applies its timeouts per phase and per read, so a server that sends a byte
    now and then never trips them; the client bounds the whole attempt by the same
    number (by the largest phase limit of an ``httpx.Timeout``).
    """
    if timeout is None:
        return None
    if isinstance(timeout, httpx.Timeout):
        phases = [t for t in (timeout.connect, timeout.read, timeout.write, timeout.pool) if t]
        return max(phases) if phases else None
    return float(timeout)


def _check_token_answer(data: Mapping[str, Any]) -> tuple[str, float]:
    """The token and its lifetime from a gettoken answer; anything implausible raises.

    A lifetime of zero, a negative one or NaN would have the client fetch a new
    token for every request, for ever; a value that is not a short, printable string
    is no token.
    """
    value = data.get("access_token")
    expires_in = data.get("expires_in", 7200)
    if (
        not isinstance(value, str)
        or not value
        or len(value.encode()) > MAX_TOKEN_BYTES
        or not value.isprintable()
        or any(c.isspace() for c in value)
    ):
        raise InvalidResponseError(
            "gettoken answered without a usable access_token", path="gettoken", reason="bad token"
        )
    low, high = TOKEN_LIFETIME_RANGE
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not math.isfinite(expires_in)
        or not low <= expires_in <= high
    ):
        raise InvalidResponseError(
            f"gettoken answered an implausible expires_in ({expires_in!r}; "
            f"expected {low:.0f} to {high:.0f} seconds)",
            path="gettoken",
            reason="bad expires_in",
        )
    return value, float(expires_in)


class _TokenRefused(Exception):
    """Internal: WeCom refused *token*; carries which token so only that one is dropped."""

    def __init__(self, error: AccessTokenError, token: AccessToken) -> None:
        super().__init__(error.errcode)
        self.error = error
        self.token = token


class KfClient:
    """An asyncio client for WeCom's WeChat Customer Service API.

    Use it as an async context manager::

        async with KfClient(corp_id="ww...", secret="...") as kf:
            result = await kf.customers.batch_get(ids)

    One client shares one ``httpx.AsyncClient``, one access-token manager, one rate
    limiter and one concurrency bound between all its calls.

    Args:
        corp_id: The corp's id (``ww...``).
        secret: The secret of the app that calls the KF API. Never logged or shown.
        base_url: Where the API lives; point it at the simulator in tests.
        max_concurrency: Requests in flight at once.
        rate_limit: Calls per second this client allows itself (``None``: no limit).
        rate_limiter: A limiter shared beyond this process (fleet mode); used
            in addition to ``rate_limit``.
        http_client: An ``httpx.AsyncClient`` you own; the library never closes it,
            and its own timeout and connection limits apply (``timeout`` does not).
        transport: An httpx transport for the client the library creates (for
            example ``httpx.ASGITransport(app=simulator)``). By default that client
            runs over aiohttp (``httpx_aiohttp.AiohttpTransport``), which is much
            faster than httpx's own pool for many concurrent requests.
        timeout: Seconds per HTTP request, or an ``httpx.Timeout``.
        retry: Attempts, backoff and deadline (:class:`RetryPolicy`).
        token_store: Where access tokens are cached (default: in memory).
        clock: Wall clock in epoch seconds, for the tokens' expiry times (what a
            token store shared between processes compares).
        monotonic: A clock that never steps, for every interval the client
            measures itself: retry deadlines, throttling, how long its token stays
            fresh, how long a failed refresh is remembered.
        sleep: The coroutine used to wait between retries and when throttled.
        rng: Random source for backoff and refresh jitter.
    """

    def __init__(
        self,
        *,
        corp_id: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        rate_limiter: RateLimiter | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        token_store: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.corp_id = _check_str("corp_id", corp_id)
        self.__secret = _check_str("secret", secret)
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int):
            raise TypeError(f"max_concurrency must be an int, got {type(max_concurrency).__name__}")
        if max_concurrency < 1:
            raise ValueError(f"max_concurrency must be >= 1, got {max_concurrency}")
        if http_client is not None and transport is not None:
            raise ValueError("pass either http_client or transport, not both")
        if rate_limiter is not None and not isinstance(rate_limiter, RateLimiter):
            raise TypeError("rate_limiter must have an async acquire() method")
        #: The API root, without a trailing slash.
        self.base_url = base_url.rstrip("/")
        #: Requests in flight at once.
        self.max_concurrency = max_concurrency
        #: Calls per second this client allows itself, or ``None``.
        self.rate_limit = None if rate_limit is None else float(rate_limit)
        #: The retry policy.
        self.retry = retry if retry is not None else RetryPolicy()
        self._limiters: tuple[RateLimiter, ...] = tuple(
            x
            for x in (None if rate_limit is None else LocalRateLimiter(rate_limit), rate_limiter)
            if x is not None
        )
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._timeout = timeout
        self._attempt_limit = attempt_limit(timeout if http_client is None else http_client.timeout)
        self._transport = transport
        self._own_http = http_client is None
        self._http: httpx.AsyncClient | None = http_client
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self._throttle = AdaptiveThrottle(clock=monotonic, sleep=sleep)
        self._tokens = TokenManager(
            key=token_key(corp_id, secret),
            fetch=self._fetch_token,
            store=(
                token_store
                if token_store is not None
                else InMemoryTokenStore(clock=clock, monotonic=monotonic)
            ),
            clock=clock,
            monotonic=monotonic,
            rng=self._rng,
        )
        self._state = "new"
        self._closers: list[Callable[[], Awaitable[None]]] = []
        #: ``customer/*`` endpoints, with the batching ``batch_get``.
        self.customers = CustomersAPI(self)

    @classmethod
    def for_fleet(
        cls,
        redis_url: str,
        *,
        corp_id: str,
        secret: str,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        namespace: str = DEFAULT_FLEET_NAMESPACE,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        **options: Any,
    ) -> Self:
        """A client whose token and rate budget are shared on Redis with other processes.

        Every process that calls ``for_fleet`` with the same Redis, corp id and secret
        shares one access token (one ``gettoken`` per expiry for the whole fleet) and
        one budget of ``rate_limit`` calls per second. While Redis is unreachable,
        each process falls back to its own token cache and a ``rate_limit``
        in-process limiter, and goes back to Redis when it answers again. Needs the
        ``redis`` extra (``pip install 'wecom_kf_async[redis]'``).

        Args:
            redis_url: ``redis://[[user]:password@]host[:port][/db]`` (or
                ``rediss://``, ``unix://``); one connection pool serves the store and
                the limiter, and closes with the client.
            corp_id: The corp's id.
            secret: The KF app's secret.
            rate_limit: Calls per second for the whole fleet (``None``: no limit).
            namespace: Prefix of the Redis keys.
            lock_ttl: Seconds a dead refresher can delay the others.
            options: Any other :class:`KfClient` argument (``base_url``, ``timeout``, ...).
        """
        from . import fleet

        _check_str("corp_id", corp_id)
        _check_str("secret", secret)
        if "token_store" in options or "rate_limiter" in options:
            raise TypeError("for_fleet sets token_store and rate_limiter itself")
        redis = fleet.connect(redis_url)
        store = fleet.RedisTokenStore(
            redis,
            namespace=namespace,
            lock_ttl=lock_ttl,
            clock=options.get("clock", time.time),
            monotonic=options.get("monotonic", time.monotonic),
        )
        limiter = (
            None
            if rate_limit is None
            else fleet.RedisRateLimiter(redis, rate_limit, name=corp_id, namespace=namespace)
        )
        client = cls(
            corp_id=corp_id,
            secret=secret,
            rate_limit=None,
            rate_limiter=limiter,
            token_store=store,
            **options,
        )
        client._closers.append(redis.aclose)
        return client

    def __repr__(self) -> str:
        return (
            f"KfClient(corp_id={self.corp_id!r}, base_url={self.base_url!r}, "
            f"max_concurrency={self.max_concurrency}, rate_limit={self.rate_limit!r})"
        )

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._state != "new":
            raise RuntimeError(f"KfClient cannot be entered twice (it is {self._state})")
        install_log_redaction()
        if self._http is None:
            self._http = httpx.AsyncClient(
                transport=self._transport or default_transport(self.max_concurrency),
                timeout=self._timeout,
            )
        self._state = "open"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close what the client owns (not an ``http_client`` you passed in)."""
        if self._state == "closed":
            return
        self._state = "closed"
        try:
            await self._tokens.aclose()
        finally:
            try:
                if self._own_http and self._http is not None:
                    await self._http.aclose()
            finally:
                # A shared store or limiter that owns a connection (fleet mode).
                for part in (self._tokens.store, *self._limiters):
                    closer = getattr(part, "aclose", None)
                    if closer is not None:
                        await closer()
                for close in self._closers:
                    await close()

    @property
    def tokens(self) -> TokenManager:
        """The access-token manager."""
        return self._tokens

    @property
    def throttle(self) -> AdaptiveThrottle:
        """The adaptive slow-down that reacts to WeCom's throttling."""
        return self._throttle

    # -- requests ----------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        if self._state != "open" or self._http is None:
            raise RuntimeError(
                "KfClient is not open: use 'async with KfClient(...) as kf:'"
                if self._state == "new"
                else "KfClient is closed"
            )
        return self._http

    async def _send(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: Mapping[str, Any] | None,
        token: AccessToken | None = None,
    ) -> dict[str, Any]:
        """One HTTP attempt: concurrency bound, rate limit, send, decipher.

        With a *token*, the request carries the newest token known when it is actually
        sent: one that queued while the token was refused waits for the refresh
        (outside the concurrency bound, which the refresh itself needs).
        """
        http = self._client()
        content = (
            None
            if body is None
            else json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        )
        passes = 0
        while True:
            if token is not None and not self._tokens.is_current(token):
                token = await self._tokens.get()
            await self._semaphore.acquire()
            passes += 1
            if token is None or passes >= _TOKEN_PASSES or self._tokens.is_current(token):
                break
            self._semaphore.release()
        try:
            for limiter in self._limiters:
                await limiter.acquire()
            await self._throttle.acquire()
            if self._state != "open":
                raise RuntimeError("KfClient is closed")
            if token is not None:
                params = {**params, "access_token": token.value}
            failure: TransportError | None = None
            response: httpx.Response | None = None
            limit = asyncio.timeout(self._attempt_limit)
            try:
                async with limit:
                    response = await http.request(
                        method,
                        f"{self.base_url}/cgi-bin/{path}",
                        params=params,
                        content=content,
                        headers=_JSON_HEADERS if content is not None else None,
                    )
            except Exception as exc:
                if limit.expired():
                    failure = RequestTimeoutError(
                        f"{path} took longer than {self._attempt_limit}s as a whole",
                        path=path,
                        reason="attempt timeout",
                    )
                elif self._state != "open":
                    failure = None  # closed under it: raised below, unchained
                else:
                    described = describe_failure(exc)
                    if described is None:
                        raise
                    timeout, reason = described
                    failure = (
                        RequestTimeoutError(
                            f"{path} timed out ({reason})", path=path, reason=reason
                        )
                        if timeout
                        else TransportError(f"{path} failed: {reason}", path=path, reason=reason)
                    )
        finally:
            self._semaphore.release()
        # Raised outside the except blocks, so the httpx exception (whose request
        # carries the URL and with it the token) is not chained as __context__.
        if failure is not None:
            raise failure
        if response is None:  # the client closed under the request
            raise RuntimeError("KfClient is closed")
        try:
            data = decipher_response(
                response.status_code, response.headers, response.content, path=path
            )
        except RateLimitedError:
            self._throttle.on_throttle()
            raise
        except AccessTokenError as exc:
            if token is None:
                raise
            refused = _TokenRefused(exc, token)
        else:
            self._throttle.on_success()
            return data
        raise refused

    async def _fetch_token(self) -> tuple[str, float]:
        params = {"corpid": self.corp_id, "corpsecret": self.__secret}

        async def gettoken() -> tuple[str, float]:
            return _check_token_answer(await self._send("GET", "gettoken", params, None))

        return await retrying_call(
            gettoken,
            policy=self.retry,
            path="gettoken",
            clock=self._monotonic,
            sleep=self._sleep,
            rng=self._rng,
        )

    async def _send_authed(
        self, method: str, path: str, params: Mapping[str, str], body: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        """Send with the access token; if WeCom refuses it, refresh once and resend once."""
        token = await self._tokens.get()
        try:
            return await self._send(method, path, params, body, token)
        except _TokenRefused as refused:
            used, errcode = refused.token, refused.error.errcode
        logger.info("%s refused the access token (errcode %d); refreshing", path, errcode)
        await self._tokens.invalidate(used)
        token = await self._tokens.get()
        try:
            return await self._send(method, path, params, body, token)
        except _TokenRefused as refused:
            error = refused.error
        raise error

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call ``/cgi-bin/{path}`` with the access token, retrying as the errcode says.

        Returns the JSON object of the answer; raises a :class:`KfError` subclass.
        """
        self._client()
        query = dict(params or {})
        return await retrying_call(
            lambda: self._send_authed(method, path, query, json),
            policy=self.retry,
            path=path,
            clock=self._monotonic,
            sleep=self._sleep,
            rng=self._rng,
        )
