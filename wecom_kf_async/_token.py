"""Access tokens: a store protocol, an in-memory store, and the manager that refreshes."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import attrs

from ._constants import (
    DEFAULT_TOKEN_REFRESH_JITTER,
    DEFAULT_TOKEN_REFRESH_SKEW,
    LOGGER_NAME,
)
from ._errors import KfError

__all__ = [
    "AccessToken",
    "FetchAccessToken",
    "InMemoryTokenStore",
    "SharedTokenStore",
    "TokenManager",
    "TokenStore",
    "token_key",
]

logger = logging.getLogger(LOGGER_NAME)

#: Seconds a failed refresh is remembered, so waiting callers don't hammer gettoken.
REFRESH_FAILURE_MEMORY = 1.0

#: A wall-clock step larger than this many seconds (an NTP correction, a suspended
#: VM waking up) makes the in-memory store move its tokens' times by the step.
WALL_STEP_TOLERANCE = 1.0


@attrs.frozen(kw_only=True)
class AccessToken:
    """An access token with the times that matter, on the wall clock (epoch seconds).

    Its ``repr`` never shows the token itself.
    """

    value: str = attrs.field(repr=False)
    #: When WeCom said the token expires.
    expires_at: float
    #: When the client should fetch a fresh one (before ``expires_at``).
    refresh_at: float

    def __repr__(self) -> str:
        return f"AccessToken(value='***', expires_at={self.expires_at!r})"

    def fresh(self, now: float) -> bool:
        """Whether the token can be used without refreshing first."""
        return now < self.refresh_at


def token_key(corp_id: str, secret: str) -> str:
    """The cache key for one (corp_id, secret) pair; the secret only as a hash."""
    digest = hashlib.sha256(f"{corp_id}\x00{secret}".encode()).hexdigest()[:32]
    return f"{corp_id}:{digest}"


@runtime_checkable
class TokenStore(Protocol):
    """Where tokens are cached; the in-memory store, or a shared one for a fleet."""

    async def get(self, key: str) -> AccessToken | None:
        """Return the cached token for *key*, or ``None``."""

    async def set(self, key: str, token: AccessToken) -> None:
        """Cache *token*, unless the cache holds one that expires later."""

    async def invalidate(self, key: str, value: str) -> bool:
        """Drop the cached token only if it is still *value*; return whether it was."""


#: Fetches a new token from WeCom (one gettoken), ready to cache.
FetchAccessToken = Callable[[], Awaitable[AccessToken]]


@runtime_checkable
class SharedTokenStore(TokenStore, Protocol):
    """A store shared by many processes, which also coordinates their refreshes.

    The token manager keeps refreshes single-flight within one process; a shared
    store makes them single-flight across every process that shares it.
    """

    async def refresh(self, key: str, fetch: FetchAccessToken) -> AccessToken:
        """Return a fresh token for *key*: one another process just stored, or else
        the one *fetch* returns, called by at most one process at a time.
        """


class InMemoryTokenStore:
    """A per-process token cache (the default).

    It lives in one process, so it measures a token's age on the monotonic clock: if
    the wall clock steps (an NTP correction) while a token is cached, the token it
    hands back has its wall-clock times moved by the same step, and stays fresh for
    exactly as long as it would have without the step.

    Args:
        clock: The wall clock the tokens' times are on (the client's ``clock``).
        monotonic: A clock that never steps (the client's ``monotonic``).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._monotonic = monotonic
        # key -> (token, wall time minus monotonic time when it was stored)
        self._tokens: dict[str, tuple[AccessToken, float]] = {}

    def _offset(self) -> float:
        return self._clock() - self._monotonic()

    async def get(self, key: str) -> AccessToken | None:
        """Return the cached token for *key*, or ``None``."""
        entry = self._tokens.get(key)
        if entry is None:
            return None
        token, offset = entry
        step = self._offset() - offset
        if abs(step) <= WALL_STEP_TOLERANCE:
            return token
        return AccessToken(
            value=token.value,
            expires_at=token.expires_at + step,
            refresh_at=token.refresh_at + step,
        )

    async def set(self, key: str, token: AccessToken) -> None:
        """Cache *token*, unless the cache holds one that expires later."""
        current = await self.get(key)
        if current is None or token.expires_at >= current.expires_at:
            self._tokens[key] = (token, self._offset())

    async def invalidate(self, key: str, value: str) -> bool:
        """Drop the cached token only if it is still *value*."""
        entry = self._tokens.get(key)
        if entry is not None and entry[0].value == value:
            del self._tokens[key]
            return True
        return False

    def __repr__(self) -> str:
        return f"InMemoryTokenStore(<{len(self._tokens)} token(s)>)"


#: Calls gettoken; returns (access_token, expires_in seconds).
FetchToken = Callable[[], Awaitable[tuple[str, float]]]


def _own_copy(exc: BaseException) -> BaseException:
    """A fresh instance of *exc* for one caller, chained to the shared original.

    Many callers share one refresh, and so one exception. Raising that one instance
    in every caller would append each caller's frames to its traceback (which then
    grows with every waiter and keeps their locals alive); each caller raises a copy
    instead, with a traceback of its own and the original as ``__cause__``.
    """
    try:
        clone = copy.copy(exc)
    except Exception:  # an exception type that cannot be copied: wrap it
        clone = RuntimeError(f"token refresh failed: {type(exc).__name__}")
    clone.__cause__ = exc
    clone.__traceback__ = None
    return clone


class TokenManager:
    """Hands out a valid token, refreshing it ahead of expiry, one refresh at a time.

    Concurrent callers who find no fresh token share one refresh; if it fails, each
    gets its own copy of its exception, and callers in the next
    :data:`REFRESH_FAILURE_MEMORY` seconds get one too without a new gettoken.

    Tokens carry wall-clock times (``clock``), which is what a store shared between
    processes can compare; what this process measures for itself (how long its
    current token stays fresh, how long a failure is remembered) runs on
    ``monotonic``, so a step of the wall clock changes neither.
    """

    def __init__(
        self,
        *,
        key: str,
        fetch: FetchToken,
        store: TokenStore,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        skew: float = DEFAULT_TOKEN_REFRESH_SKEW,
        jitter: float = DEFAULT_TOKEN_REFRESH_JITTER,
        rng: random.Random | None = None,
        on_refresh: Callable[[float, str], None] | None = None,
    ) -> None:
        self._key = key
        self._on_refresh = on_refresh
        self._fetch = fetch
        self._store = store
        self._clock = clock
        self._monotonic = monotonic
        self._skew = skew
        self._jitter = jitter
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._refresh: asyncio.Task[AccessToken] | None = None
        # (monotonic time until which it is remembered, the exception)
        self._failure: tuple[float, BaseException] | None = None
        self._latest: AccessToken | None = None
        # Monotonic time at which ``_latest`` is due for a refresh.
        self._latest_due = -math.inf
        self._closed = False
        #: How many gettoken refreshes this manager started (for tests and metrics).
        self.refresh_count = 0

    @property
    def store(self) -> TokenStore:
        """The store tokens are cached in."""
        return self._store

    def latest(self) -> AccessToken | None:
        """The newest fresh token this process has seen, without any I/O (or ``None``)."""
        if self._latest is not None and self._monotonic() < self._latest_due:
            return self._latest
        return None

    def is_current(self, token: AccessToken) -> bool:
        """Whether *token* is still the newest fresh token this process knows."""
        return self._latest is token and self._monotonic() < self._latest_due

    def _adopt(self, token: AccessToken) -> AccessToken:
        """Make *token* the current one; it stays fresh until its refresh_at."""
        self._latest = token
        self._latest_due = self._monotonic() + (token.refresh_at - self._clock())
        return token

    async def get(self) -> AccessToken:
        """Return a fresh token, fetching one if needed."""
        token = self.latest()
        if token is not None:
            return token
        started = self._monotonic()
        token = await self._store.get(self._key)
        # The store's copy of a token this process saw go stale (by the monotonic
        # clock) is stale too, whatever the wall clock says.
        if token is not None and token.fresh(self._clock()) and token is not self._latest:
            if self._on_refresh is not None:  # another client or process refreshed it
                self._on_refresh(self._monotonic() - started, "shared")
            return self._adopt(token)
        return await self._join_refresh()

    async def _join_refresh(self) -> AccessToken:
        if self._closed:
            raise RuntimeError("KfClient is closed")
        task = self._refresh
        if task is None:
            failure = self._failure
            if failure is not None and self._monotonic() < failure[0]:
                raise _own_copy(failure[1])
            task = self._refresh = asyncio.create_task(self._do_refresh())
            task.add_done_callback(self._refresh_done)
        # asyncio.wait neither cancels the shared refresh when this caller is
        # cancelled nor hands this caller the refresh's own cancellation.
        await asyncio.wait((task,))
        if task.cancelled():
            raise RuntimeError("KfClient is closed")
        exc = task.exception()
        if exc is not None:
            raise _own_copy(exc)
        return task.result()

    def _refresh_done(self, task: asyncio.Task[AccessToken]) -> None:
        if self._refresh is task:
            self._refresh = None
        if task.cancelled():
            return
        exc = task.exception()
        if isinstance(exc, KfError):
            self._failure = (self._monotonic() + REFRESH_FAILURE_MEMORY, exc)

    async def _do_refresh(self) -> AccessToken:
        store = self._store
        started, fetched = self._monotonic(), self.refresh_count
        if isinstance(store, SharedTokenStore):
            token = await store.refresh(self._key, self._fetch_new)
        else:
            # Another caller may have refreshed already.
            current = await store.get(self._key)
            if current is not None and current.fresh(self._clock()) and current is not self._latest:
                token = current
            else:
                token = await self._fetch_new()
                await store.set(self._key, token)
        self._failure = None
        if self._on_refresh is not None:
            source = "gettoken" if self.refresh_count > fetched else "shared"
            self._on_refresh(self._monotonic() - started, source)
        return self._adopt(token)

    async def _fetch_new(self) -> AccessToken:
        self.refresh_count += 1
        logger.debug("fetching an access token (gettoken)")
        value, expires_in = await self._fetch()
        now = self._clock()
        lead = min(self._skew + self._rng.uniform(0.0, self._jitter), expires_in / 2)
        logger.info("access token refreshed; valid for %.0fs", expires_in)
        return AccessToken(
            value=value, expires_at=now + expires_in, refresh_at=now + expires_in - lead
        )

    def forget_failure(self) -> None:
        """Let the next caller try a refresh at once, though the last one failed
        (what it lacked, a suite ticket say, has arrived)."""
        self._failure = None

    async def invalidate(self, failed: AccessToken) -> None:
        """WeCom refused *failed*: drop it, unless the cache already moved on."""
        if self._latest is not None and self._latest.value == failed.value:
            self._latest = None
        dropped = await self._store.invalidate(self._key, failed.value)
        logger.info(
            "WeCom refused the access token; %s",
            "dropped it" if dropped else "the cache already holds another",
        )

    async def aclose(self) -> None:
        """Cancel a refresh in progress (when the client closes).

        Callers waiting for it get ``RuntimeError("KfClient is closed")``, as a call
        does whose HTTP request the closing client interrupts.
        """
        self._closed = True
        task = self._refresh
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
