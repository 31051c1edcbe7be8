"""How a request leaves: httpx's requests and transports, over aiohttp's connection handling.

Measured on the bundled simulator (benchmarks/throughput.py), httpx's own connection
pool costs about 1.4-1.6x the wall time of bare aiohttp for a 100-chunk batch, while
httpx over ``httpx_aiohttp.AiohttpTransport`` runs at the aiohttp floor. The library
keeps httpx's API (and accepts any httpx client or transport you pass in) and uses the
aiohttp transport only for the requests it sends itself.

Those it sends itself go straight to the transport (:class:`DirectSender`): the
``httpx.AsyncClient`` layer (URL merging, cookies, auth, redirects, event hooks) did
nothing a WeCom call needs and cost about 0.4 ms of CPU per call, as much as aiohttp
itself (0.094 s against 0.071 s of client CPU for 100 chunks in one measurement). An
``http_client`` you pass in is used as a client (:class:`ClientSender`), with
everything you configured on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from ._constants import USER_AGENT

__all__ = [
    "ClientSender",
    "DirectSender",
    "Sender",
    "attempt_limit",
    "default_transport",
    "describe_failure",
]


class Sender(Protocol):
    """Sends one request and returns its response, body read (or for streaming)."""

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        content: bytes | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send; with ``stream`` the body is left to read (the caller closes the response)."""

    async def aclose(self) -> None:
        """Close what the sender owns."""


class DirectSender:
    """Sends through a transport the library owns, without an ``httpx.AsyncClient``."""

    def __init__(self, transport: httpx.AsyncBaseTransport, timeout: Any) -> None:
        self._transport = transport
        self._extensions = {"timeout": httpx.Timeout(timeout).as_dict()}

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        content: bytes | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        request = httpx.Request(
            method,
            url,
            content=content,
            files=files,
            headers={"User-Agent": USER_AGENT, **(headers or {})},
            extensions=self._extensions,
        )
        response = await self._transport.handle_async_request(request)
        if stream:
            return response
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


class ClientSender:
    """Sends through an ``httpx.AsyncClient`` you own (never closed by the library)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def send(
        self,
        method: str,
        url: httpx.URL,
        *,
        content: bytes | None = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        request = self.client.build_request(
            method, url, content=content, files=files, headers=headers
        )
        return await self.client.send(request, stream=stream)

    async def aclose(self) -> None:
        """Nothing: the client is yours."""


def default_transport(max_connections: int) -> httpx.AsyncBaseTransport:
    """The transport for a client the library creates: aiohttp under httpx."""
    return AiohttpTransport(
        limits=httpx.Limits(
            max_connections=max_connections, max_keepalive_connections=max_connections
        )
    )


#: Failures that happen before a request can have left this process.
_NOT_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    aiohttp.ClientConnectorError,
    ConnectionRefusedError,
)


def describe_failure(exc: Exception) -> tuple[bool, str, bool] | None:
    """``(is_timeout, reason, may_have_been_sent)`` for a transport failure, else ``None``.

    httpx_aiohttp re-raises aiohttp's errors as httpx ones, not always of the
    matching kind (a refused connection arrives as ``ConnectTimeout``), with the
    original as ``__cause__``; the original decides. Some timeouts arrive unmapped.
    """
    if not isinstance(exc, httpx.HTTPError | aiohttp.ClientError | asyncio.TimeoutError | OSError):
        return None
    root: BaseException = exc
    if isinstance(exc, httpx.HTTPError) and isinstance(
        exc.__cause__, aiohttp.ClientError | asyncio.TimeoutError | OSError
    ):
        root = exc.__cause__
    timeout = isinstance(root, httpx.TimeoutException | asyncio.TimeoutError)
    return timeout, type(root).__name__, not isinstance(root, _NOT_SENT)


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
