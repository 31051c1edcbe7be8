"""``KfClient``: options, lifecycle, and the resource groups as attributes."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self

import attrs
import httpx

from . import _checks
from ._budgets import Budgets, LimiterFactory, check_rate, check_rate_limits
from ._constants import (
    DEFAULT_BASE_URL,
    DEFAULT_FLEET_NAMESPACE,
    DEFAULT_LOCK_TTL,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT,
)
from ._endpoints import EXTRA_BUDGETS, Endpoint, endpoint_for
from ._limiter import AdaptiveThrottle, LocalRateLimiter, RateLimiter
from ._pipeline import Pipeline
from ._redact import install_log_redaction
from ._retry import RetryPolicy
from ._sources import SelfBuiltApp, TokenSource
from ._token import InMemoryTokenStore, TokenManager, TokenStore
from ._transport import ClientSender, DirectSender, Sender, attempt_limit, default_transport
from .instrumentation._hooks import Hook, Hooks, get_default_instrumentation
from .models import CorpQualification
from .resources import (
    AccountsAPI,
    CorpAPI,
    CustomersAPI,
    KnowledgeAPI,
    MediaAPI,
    MessagesAPI,
    ServicersAPI,
    SessionsAPI,
    StatisticsAPI,
)
from .resources.ids import IdsAPI

__all__ = ["KfClient"]

_BATCHGET = "kf/customer/batchget"


def _check_str(name: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string")
    return _checks.text(name, value)  # UTF-8 must hold it (the token cache key hashes it)


def _budget_row(name: str) -> Endpoint:
    return EXTRA_BUDGETS.get(name) or endpoint_for(name)


def _local_limiter(_path: str, rate: float) -> RateLimiter:
    return LocalRateLimiter(rate)


class KfClient:
    """An asyncio client for WeCom's WeChat Customer Service API.

    Use it as an async context manager::

        async with KfClient(corp_id="ww0123456789abcdef", secret="...") as kf:
            result = await kf.customers.batch_get(ids)

    One client shares one ``httpx.AsyncClient``, one access-token manager, one
    concurrency bound and one rate budget per endpoint between all its calls. The
    endpoints are grouped as attributes: :attr:`customers`, :attr:`accounts`,
    :attr:`servicers`, :attr:`sessions`, :attr:`statistics`, :attr:`media` and
    :attr:`messages`.
    The KF bot's knowledge base is :attr:`knowledge`.

    Args:
        corp_id: The corp's id (``ww...``).
        secret: The secret of the app that calls the KF API. Never logged or shown.
        token_source: Instead of ``corp_id`` and ``secret``: where the corp's token
            comes from (an :class:`~wecom_kf_async.AgencyApp`, a third-party app's
            :class:`~wecom_kf_async.providers.ThirdPartyCorp`, ...).
        base_url: Where the API lives; point it at the simulator in tests.
        max_concurrency: Requests in flight at once.
        rate_limit: Calls per second this client allows itself on each endpoint
            (``None``: no limit). WeCom counts its limits per API, so a burst on one
            endpoint does not use another's budget.
        rate_limits: Per-endpoint overrides of ``rate_limit``, by path, e.g.
            ``{"kf/sync_msg": 20}`` (``None`` as a value: no limit on that path).
        rate_limiter: A limiter every call waits on, whatever its endpoint, in
            addition to its endpoint's budget.
        limiter_factory: Makes the limiter of one endpoint's budget from ``(path,
            calls per second)``: by default an in-process
            :class:`LocalRateLimiter`; :meth:`for_fleet` makes a
            ``RedisRateLimiter`` per path, shared by every process.
        http_client: An ``httpx.AsyncClient`` you own; the library never closes it,
            and its own timeout and connection limits apply (``timeout`` does not).
        transport: An httpx transport for the client the library creates (for
            example ``httpx.ASGITransport(app=simulator)``). By default that client
            runs over aiohttp (``httpx_aiohttp.AiohttpTransport``), which is much
            faster than httpx's own pool for many concurrent requests.
        timeout: Seconds one attempt may take as a whole, connect to last byte, or
            an ``httpx.Timeout`` (the attempt is then bounded by its largest phase).
        retry: Attempts, backoff and deadline (:class:`RetryPolicy`); the deadline
            bounds the whole call.
        token_store: Where access tokens are cached (default: in memory).
        clock: Wall clock in epoch seconds, for the tokens' expiry times (what a
            token store shared between processes compares).
        monotonic: A clock that never steps, for every interval the client
            measures itself: retry deadlines, throttling, how long its token stays
            fresh, how long a failed refresh is remembered.
        sleep: The coroutine used to wait between retries and when throttled.
        rng: Random source for backoff and refresh jitter.
        instrumentation: Hooks that receive the client's events (calls, attempts,
            retries, refreshes, waits; see :mod:`wecom_kf_async.instrumentation`).
            Default: :func:`~wecom_kf_async.instrumentation.set_default_instrumentation`'s,
            else ``[LoggingInstrumentation()]``; ``[]`` for none.
    """

    #: The query parameter that carries the token.
    _TOKEN_PARAM = "access_token"  # noqa: S105 - a parameter's name

    def __init__(
        self,
        *,
        corp_id: str | None = None,
        secret: str | None = None,
        token_source: TokenSource | None = None,
        base_url: str = DEFAULT_BASE_URL,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        rate_limits: Mapping[str, float | None] | None = None,
        rate_limiter: RateLimiter | None = None,
        limiter_factory: LimiterFactory | None = None,
        http_client: httpx.AsyncClient | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        token_store: TokenStore | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: random.Random | None = None,
        instrumentation: Sequence[Hook] | None = None,
    ) -> None:
        if token_source is None:
            token_source = SelfBuiltApp(
                _check_str("corp_id", corp_id), _check_str("secret", secret)
            )
        elif corp_id is not None or secret is not None:
            raise ValueError("pass either corp_id and secret, or token_source, not both")
        elif not isinstance(token_source, TokenSource):
            raise TypeError("token_source must have corp_id, cache_key and an async fetch()")
        #: The corp's id.
        self.corp_id = token_source.corp_id
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
        if limiter_factory is not None and not callable(limiter_factory):
            raise TypeError("limiter_factory must be a callable of (path, rate)")
        #: The API root, without a trailing slash.
        self.base_url = base_url.rstrip("/")
        #: Requests in flight at once.
        self.max_concurrency = max_concurrency
        #: Calls per second this client allows itself on each endpoint, or ``None``.
        self.rate_limit = check_rate("rate_limit", rate_limit)
        #: The retry policy.
        self.retry = retry if retry is not None else RetryPolicy()
        self._timeout = timeout
        self._transport = transport
        self._own_http = http_client is None
        self._http: Sender | None = None if http_client is None else ClientSender(http_client)
        self._closers: list[Callable[[], Awaitable[None]]] = []
        rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        #: The instrumentation hooks every call reports to.
        self.instrumentation = Hooks(
            get_default_instrumentation() if instrumentation is None else instrumentation
        )
        self._pipeline = Pipeline(
            source=token_source,
            base_url=self.base_url,
            token_param=self._TOKEN_PARAM,
            max_concurrency=max_concurrency,
            budgets=Budgets(
                rate_limit=self.rate_limit,
                rate_limits=check_rate_limits(rate_limits),
                factory=limiter_factory or _local_limiter,
                shared=rate_limiter,
                monotonic=monotonic,
                sleep=sleep,
                hooks=self.instrumentation,
            ),
            retry=self.retry,
            token_store=(
                token_store
                if token_store is not None
                else InMemoryTokenStore(clock=clock, monotonic=monotonic)
            ),
            attempt_timeout=attempt_limit(timeout if http_client is None else http_client.timeout),
            clock=clock,
            monotonic=monotonic,
            sleep=sleep,
            rng=rng,
            hooks=self.instrumentation,
        )
        pipeline = self._pipeline
        #: ``customer/*``: the batching ``batch_get`` and the upgrade service.
        self.customers = CustomersAPI(pipeline, window=2 * max_concurrency)
        #: ``account/*`` and contact links.
        self.accounts = AccountsAPI(pipeline)
        #: ``servicer/*``: who serves an account.
        self.servicers = ServicersAPI(pipeline)
        #: ``service_state/*``: where a session is, and moving it.
        self.sessions = SessionsAPI(pipeline)
        #: ``get_corp_statistic`` and ``get_servicer_statistic``.
        self.statistics = StatisticsAPI(pipeline, clock=clock)
        #: ``media/upload``.
        self.media = MediaAPI(pipeline)
        #: ``sync_msg`` (``sync``, ``stream``), ``send_msg`` and ``send_msg_on_event``.
        self.messages = MessagesAPI(pipeline, self.instrumentation, sleep=sleep, rng=rng)
        #: ``knowledge/*``: the KF bot's knowledge base (groups and intents).
        self.knowledge = KnowledgeAPI(pipeline)
        #: ``idconvert/*``: a provider's id conversions.
        self.ids = IdsAPI(pipeline)
        self._corp = CorpAPI(pipeline)

    @classmethod
    def for_fleet(
        cls,
        redis: str | Any,
        *,
        corp_id: str,
        secret: str,
        rate_limit: float | None = DEFAULT_RATE_LIMIT,
        rate_limits: Mapping[str, float | None] | None = None,
        namespace: str = DEFAULT_FLEET_NAMESPACE,
        lock_ttl: float = DEFAULT_LOCK_TTL,
        **options: Any,
    ) -> Self:
        """A client whose token and rate budgets are shared on Redis with other processes.

        Every process that calls ``for_fleet`` with the same Redis, corp id and secret
        shares one access token (one ``gettoken`` per expiry for the whole fleet) and,
        for each endpoint, one budget of ``rate_limit`` calls per second (one Redis
        key per path; ``rate_limits`` overrides paths as for :class:`KfClient`).
        While Redis is unreachable, each process falls back to its own token cache
        and in-process limiters, and goes back to Redis when it answers again.
        Needs the ``redis`` extra (``pip install 'wecom_kf_async[redis]'``).

        Args:
            redis: A URL of one server (``redis://``), a cluster (``redis+cluster://``)
                or a Sentinel-watched primary (``redis+sentinel://``; the forms:
                :func:`wecom_kf_async.fleet.connect`), whose client closes with this
                one; or a client that stays yours: a ``redis.asyncio.Redis``, a
                ``RedisCluster`` or a Sentinel's ``master_for(service)``.
            corp_id: The corp's id.
            secret: The KF app's secret.
            rate_limit: Calls per second per endpoint for the whole fleet
                (``None``: no limit).
            rate_limits: Per-endpoint overrides, by path.
            namespace: Prefix of the Redis keys.
            lock_ttl: Seconds a dead refresher can delay the others.
            options: Any other :class:`KfClient` argument (``base_url``, ``timeout``, ...).
        """
        from .fleet._client import fleet_client

        return fleet_client(
            cls,
            redis,
            corp_id=_check_str("corp_id", corp_id),
            secret=_check_str("secret", secret),
            rate_limit=rate_limit,
            rate_limits=rate_limits,
            namespace=namespace,
            lock_ttl=lock_ttl,
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"KfClient(corp_id={self.corp_id!r}, base_url={self.base_url!r}, "
            f"max_concurrency={self.max_concurrency}, rate_limit={self.rate_limit!r})"
        )

    # -- lifecycle ---------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._pipeline.state != "new":
            raise RuntimeError(f"KfClient cannot be entered twice (it is {self._pipeline.state})")
        install_log_redaction()
        if self._http is None:
            self._http = DirectSender(
                self._transport or default_transport(self.max_concurrency), self._timeout
            )
        self._pipeline.open(self._http)
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
        if self._pipeline.state == "closed":
            return
        try:
            await self._pipeline.close()
        finally:
            try:
                if self._own_http and self._http is not None:
                    await self._http.aclose()
            finally:
                # A shared store or limiters that own a connection (fleet mode).
                for part in (self.tokens.store, *self._pipeline.budgets.made()):
                    closer = getattr(part, "aclose", None)
                    if closer is not None:
                        await closer()
                for close in self._closers:
                    await close()

    @property
    def state(self) -> str:
        """``"new"`` (not opened yet), ``"open"`` or ``"closed"``."""
        return self._pipeline.state

    @property
    def tokens(self) -> TokenManager:
        """The access-token manager."""
        return self._pipeline.tokens

    @property
    def rate_limits(self) -> Mapping[str, float | None]:
        """The per-endpoint overrides of ``rate_limit``, by path."""
        return self._pipeline.budgets.rate_limits

    def rate_for(self, path: str) -> float | None:
        """Calls per second this client allows itself on *path* (``None``: no limit).

        *path* is an endpoint path, or the name of a budget of its own such as
        ``"kf/sync_msg:no_token"``.
        """
        return self._pipeline.budgets.rate_for(_budget_row(path))

    def limiters_for(self, path: str) -> tuple[RateLimiter, ...]:
        """What a call to *path* waits on before it is sent: its budget, then ``rate_limiter``."""
        return self._pipeline.budgets.limiters(_budget_row(path))

    @property
    def throttle(self) -> AdaptiveThrottle:
        """The adaptive slow-down of ``customer/batchget`` (see :meth:`throttle_for`)."""
        return self.throttle_for(_BATCHGET)

    def throttle_for(self, path: str) -> AdaptiveThrottle:
        """The adaptive slow-down of one endpoint, engaged by WeCom's 45009/45033 on it."""
        return self._pipeline.budgets.throttle(path)

    # -- calls -------------------------------------------------------------------

    async def corp_qualification(self) -> CorpQualification:
        """The corp's KF qualification (``kf/get_corp_qualification``)."""
        return await self._corp.qualification()

    async def request(
        self,
        method: Literal["GET", "POST"],
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Call ``/cgi-bin/{path}`` with the access token, retrying as the errcode says.

        For endpoints the resource groups do not cover. A path of the endpoint table
        keeps its row's retry safety; any other path is retried like a read.
        Returns the JSON object of the answer; raises a :class:`KfError` subclass.
        """
        if method not in ("GET", "POST"):
            raise ValueError(f"method must be 'GET' or 'POST', got {method!r}")
        endpoint = endpoint_for(path, method)
        if endpoint.method != method:
            endpoint = attrs.evolve(endpoint, method=method)
        return await self._pipeline.call(endpoint, json, params=params)
