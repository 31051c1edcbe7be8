"""``KfProvider``: one object that serves many corps, a client per corp on one HTTP pool.

A provider's app is installed in hundreds of corps. :meth:`KfProvider.corp` hands
out that corp's :class:`~wecom_kf_async.KfClient`, made on first use from the
corp's credential (a third-party app's permanent code, or an agency-built app's
secret) and kept while it is used. Every client shares one connection pool; each
has its own token, budgets (WeCom counts per corp and per API) and fleet keys, so
one corp's failures never slow or fail another's. Clients unused for
``idle_timeout`` seconds, and the least recently used ones beyond ``max_clients``,
are closed: memory stays bounded however many corps are served.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Literal, Protocol, Self, runtime_checkable

import attrs

from .._budgets import LimiterFactory
from .._client import KfClient
from .._constants import DEFAULT_BASE_URL, DEFAULT_TIMEOUT, LOGGER_NAME
from .._errors import KfError
from .._sources import AgencyApp, TokenSource
from .._token import InMemoryTokenStore, TokenStore
from .._transport import DirectSender, Sender, default_transport
from .instruction_app import InstructionApp, instruction_app
from .instructions import (
    CancelAuth,
    ChangeAuth,
    CreateAuth,
    Instruction,
    ResetPermanentCode,
    SuiteTicketInstruction,
)
from .suite import AuthorizedCorp, Suite, SuiteClient, ThirdPartyCorp

__all__ = [
    "AppKind",
    "CorpCredentials",
    "CorpNotAuthorizedError",
    "InMemoryCorpCredentials",
    "KfProvider",
]

logger = logging.getLogger(LOGGER_NAME)

#: Which kind of app the provider runs: what it may see differs (batchget page
#: 95149): agency-built and third-party apps get no avatar and gender 0, third-party
#: apps no unionid either.
AppKind = Literal["third_party", "agency"]


class CorpNotAuthorizedError(KfError):
    """The provider holds no credential for this corp: it never installed the app, or
    cancelled the authorisation (``cancel_auth``)."""

    def __init__(self, corp_id: str) -> None:
        super().__init__(
            f"corp {corp_id} has not authorised the app (no permanent code or secret is "
            "kept for it: never installed, or cancelled)"
        )
        #: The corp.
        self.corp_id = corp_id


@runtime_checkable
class CorpCredentials(Protocol):
    """Where the provider keeps each corp's credential: a third-party app's permanent
    code, or an agency-built app's secret. Keep it as carefully as a secret."""

    async def get(self, corp_id: str) -> str | None:
        """The corp's credential, or ``None``."""

    async def set(self, corp_id: str, credential: str) -> None:
        """Keep *credential* for *corp_id*."""

    async def delete(self, corp_id: str) -> None:
        """Forget the corp's credential (its authorisation was cancelled)."""


class InMemoryCorpCredentials:
    """Credentials in this process's memory (tests, one process; a fleet keeps them
    in its own database and passes an object with the same three methods)."""

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        self._credentials = dict(initial or {})

    def __repr__(self) -> str:
        return f"InMemoryCorpCredentials(corps={len(self._credentials)})"

    async def get(self, corp_id: str) -> str | None:
        """The corp's credential, or ``None``."""
        return self._credentials.get(corp_id)

    async def set(self, corp_id: str, credential: str) -> None:
        """Keep *credential* for *corp_id*."""
        self._credentials[corp_id] = credential

    async def delete(self, corp_id: str) -> None:
        """Forget the corp's credential."""
        self._credentials.pop(corp_id, None)


@attrs.define
class _Entry:
    client: KfClient
    users: int = 0
    last_used: float = 0.0


class KfProvider:
    """Serves many corps from one process (see the module).

    Args:
        suite: The third-party app (``app_kind="third_party"``, the default).
        credentials: Each corp's permanent code (third-party) or secret (agency).
        app_kind: ``"third_party"`` or ``"agency"`` (an agency-built app: each corp's
            token from ``gettoken`` with its secret).
        base_url: The API root.
        token_store: Where every token is cached, the suite's included (default: in
            memory; a fleet passes a ``RedisTokenStore`` and budgets via
            ``limiter_factory`` in ``client_options``, or uses :meth:`for_fleet`).
        max_clients: Clients kept open at most; the least recently used idle ones
            beyond it are closed.
        idle_timeout: Seconds a client may go unused before it is closed.
        max_connections: Size of the one HTTP connection pool all clients share.
        client_options: Other :class:`~wecom_kf_async.KfClient` arguments, for every
            corp's client (``rate_limit``, ``retry``, ``instrumentation``, ...).
        on_authorized: Called with each corp that installs the app: keep its
            permanent code there if ``credentials`` is not already durable.
        transport: An httpx transport for the shared pool (tests: the simulator's).
        limiters: The rate limiters of a corp's client, by corp id (a fleet's shared
            budgets: :meth:`for_fleet` sets it).
        monotonic: The clock of idle times.
    """

    def __init__(
        self,
        *,
        suite: Suite | None = None,
        credentials: CorpCredentials | None = None,
        app_kind: AppKind = "third_party",
        base_url: str = DEFAULT_BASE_URL,
        token_store: TokenStore | None = None,
        max_clients: int = 1000,
        idle_timeout: float = 600.0,
        max_connections: int = 200,
        client_options: Mapping[str, Any] | None = None,
        on_authorized: Callable[[AuthorizedCorp], Awaitable[None]] | None = None,
        transport: Any = None,
        limiters: Callable[[str], LimiterFactory] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if app_kind not in ("third_party", "agency"):
            raise ValueError(f"app_kind must be 'third_party' or 'agency', got {app_kind!r}")
        if app_kind == "third_party" and suite is None:
            raise ValueError("a third-party app needs its suite (suite=Suite(...))")
        if isinstance(max_clients, bool) or not isinstance(max_clients, int) or max_clients < 1:
            raise ValueError(f"max_clients must be an int >= 1, got {max_clients!r}")
        if not idle_timeout > 0:
            raise ValueError(f"idle_timeout must be positive, got {idle_timeout!r}")
        options = dict(client_options or {})
        if {"corp_id", "secret", "token_source", "token_store", "http_client"} & set(options):
            raise TypeError("client_options cannot set a client's corp, token or HTTP client")
        self.suite = suite
        self.app_kind: AppKind = app_kind
        self.credentials: CorpCredentials = credentials or InMemoryCorpCredentials()
        self.base_url = base_url
        self.token_store = token_store or InMemoryTokenStore(
            clock=options.get("clock", time.time), monotonic=monotonic
        )
        self.max_clients = max_clients
        self.idle_timeout = float(idle_timeout)
        self._options = options
        self._on_authorized = on_authorized
        self._transport = transport
        self._limiters = limiters
        self._closers: list[Callable[[], Awaitable[None]]] = []
        self._max_connections = max_connections
        self._monotonic = monotonic
        self._sender: Sender | None = None
        self._suite_client: SuiteClient | None = None
        self._clients: OrderedDict[str, _Entry] = OrderedDict()
        self._cancel_hooks: list[Callable[[str], Awaitable[None]]] = []
        self._closed = False

    def __repr__(self) -> str:
        suite = f"suite_id={self.suite.suite_id!r}, " if self.suite is not None else ""
        return f"KfProvider({suite}app_kind={self.app_kind!r}, open_clients={len(self._clients)})"

    @classmethod
    def for_fleet(cls, redis: Any, *, suite_id: str, suite_secret: str, **options: Any) -> Self:
        """A third-party app's provider whose tokens, tickets and budgets a fleet shares
        on Redis (see :func:`wecom_kf_async.providers.fleet.fleet_provider`)."""
        from .fleet import fleet_provider

        return fleet_provider(cls, redis, suite_id=suite_id, suite_secret=suite_secret, **options)

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        transport = self._transport or default_transport(self._max_connections)
        timeout = self._options.get("timeout", DEFAULT_TIMEOUT)
        self._sender = DirectSender(transport, timeout)
        if self.suite is not None:
            # Every corp's token comes through it: slots enough that a few slow corps
            # hold up no other corp's fetch.
            self._suite_client = await self._open(SuiteClient, self.suite, max_concurrency=100)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every corp's client, the suite's, and the shared pool."""
        if self._closed:
            return
        self._closed = True
        entries, self._clients = list(self._clients.values()), OrderedDict()
        for entry in entries:
            await entry.client.aclose()
        if self._suite_client is not None:
            await self._suite_client.aclose()
        if self._sender is not None:
            await self._sender.aclose()
        for close in self._closers:
            await close()

    async def _open(self, cls: type[KfClient], source: TokenSource, **extra: Any) -> Any:
        if self._sender is None or self._closed:
            raise RuntimeError("KfProvider is not open: use 'async with KfProvider(...)'")
        options = {**self._options, **extra}
        if self._limiters is not None:
            options["limiter_factory"] = self._limiters(source.corp_id)
        client = cls(
            token_source=source,
            base_url=self.base_url,
            token_store=self.token_store,
            monotonic=self._monotonic,
            **options,
        )
        client._http, client._own_http = self._sender, False  # the shared pool stays open
        return await client.__aenter__()

    # -- corps -------------------------------------------------------------------------

    @property
    def suite_client(self) -> SuiteClient:
        """The suite's own client (a third-party app's ``service/*`` calls)."""
        if self._suite_client is None:
            raise RuntimeError("no suite: an agency-built app's provider has none, or not open")
        return self._suite_client

    @property
    def open_corps(self) -> list[str]:
        """The corps whose client is open now, least recently used first."""
        return list(self._clients)

    @contextlib.asynccontextmanager
    async def corp(self, corp_id: str) -> AsyncIterator[KfClient]:
        """The corp's client for the block (made on first use; never closed under it).

        Raises :class:`CorpNotAuthorizedError` when no credential is kept for the corp.
        """
        entry = await self._entry(corp_id)
        entry.users += 1
        try:
            yield entry.client
        finally:
            entry.users -= 1
            entry.last_used = self._monotonic()
            await self._trim()

    async def _entry(self, corp_id: str) -> _Entry:
        if self._sender is None or self._closed:
            raise RuntimeError("KfProvider is not open: use 'async with KfProvider(...)'")
        entry = self._clients.get(corp_id)
        if entry is not None and entry.client.state == "open":
            self._clients.move_to_end(corp_id)
            return entry
        credential = await self.credentials.get(corp_id)
        if credential is None:
            raise CorpNotAuthorizedError(corp_id)
        entry = self._clients.get(corp_id)  # another caller may have opened it meanwhile
        if entry is None or entry.client.state != "open":
            source: TokenSource = (
                AgencyApp(corp_id, credential)
                if self.suite is None or self.app_kind == "agency"
                else ThirdPartyCorp(self.suite_client, corp_id, credential)
            )
            entry = _Entry(await self._open(KfClient, source), last_used=self._monotonic())
            self._clients[corp_id] = entry
        self._clients.move_to_end(corp_id)
        return entry

    async def _trim(self) -> None:
        """Close idle clients: unused for ``idle_timeout``, or the oldest beyond the cap."""
        now = self._monotonic()
        excess = len(self._clients) - self.max_clients
        for corp_id, entry in list(self._clients.items()):
            if entry.users:
                continue
            if excess > 0 or now - entry.last_used >= self.idle_timeout:
                excess -= 1
                del self._clients[corp_id]
                await entry.client.aclose()

    async def authorize(self, auth_code: str) -> AuthorizedCorp:
        """Exchange an install's ``auth_code`` for the corp's permanent code, keep it in
        ``credentials`` and tell ``on_authorized``."""
        corp = await self.suite_client.permanent_code(auth_code)
        await self.credentials.set(corp.corp_id, corp.permanent_code)
        if self._on_authorized is not None:
            await self._on_authorized(corp)
        logger.info("corp %s authorised the app", corp.corp_id)
        return corp

    def on_cancel(self, hook: Callable[[str], Awaitable[None]]) -> None:
        """Call ``await hook(corp_id)`` when a corp cancels, before its client closes."""
        self._cancel_hooks.append(hook)

    async def cancel(self, corp_id: str) -> None:
        """The corp cancelled the authorisation: close its client, forget its credential."""
        await self.credentials.delete(corp_id)
        for hook in list(self._cancel_hooks):
            try:
                await hook(corp_id)
            except Exception:
                logger.exception("corp %s: a cancel hook raised", corp_id)
        entry = self._clients.pop(corp_id, None)
        if entry is not None:
            await entry.client.aclose()
        logger.info("corp %s cancelled the authorisation; its client is closed", corp_id)

    # -- the instruction callback ------------------------------------------------------

    async def handle(self, instruction: Instruction) -> None:
        """Act on one instruction: keep a ticket, authorise an install, drop a cancelled
        corp. (:meth:`instruction_app` calls it for each instruction WeCom pushes.)"""
        if isinstance(instruction, SuiteTicketInstruction):
            if self.suite is None or instruction.suite_id != self.suite.suite_id:
                logger.warning(
                    "a suite_ticket for another suite (%s) ignored", instruction.suite_id
                )
                return
            if await self.suite.receive_ticket(instruction.ticket, instruction.timestamp):
                # Calls resume at once, not after a failed refresh's memory runs out.
                self.suite_client.tokens.forget_failure()
                for entry in self._clients.values():
                    entry.client.tokens.forget_failure()
        elif isinstance(instruction, CreateAuth | ResetPermanentCode):
            # A reset (page 97175) hands a new auth code: its permanent code replaces the old.
            await self.authorize(instruction.auth_code)
        elif isinstance(instruction, CancelAuth):
            await self.cancel(instruction.auth_corp_id)
        elif isinstance(instruction, ChangeAuth):
            logger.info("corp %s changed the app's authorisation", instruction.auth_corp_id)
        else:
            logger.info(
                "instruction %s of suite %s: nothing to do",
                instruction.info_type,
                instruction.suite_id,
            )

    def instruction_app(self, *, token: str, encoding_aes_key: str) -> InstructionApp:
        """The ASGI app of the suite's instruction callback URL, acting through :meth:`handle`."""
        if self.suite is None:
            raise RuntimeError(
                "an agency-built app's provider has no suite to take instructions for"
            )
        return instruction_app(
            suite_id=self.suite.suite_id,
            token=token,
            encoding_aes_key=encoding_aes_key,
            handle=self.handle,
            clock=self._options.get("clock", time.time),
        )
