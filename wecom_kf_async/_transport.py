"""The default HTTP transport: httpx's API over aiohttp's connection handling.

Measured on the bundled simulator (benchmarks/throughput.py), httpx's own connection
pool costs about 1.4-1.6x the wall time of bare aiohttp for a 100-chunk batch, while
httpx over ``httpx_aiohttp.AiohttpTransport`` runs at the aiohttp floor. The library
keeps httpx's API (and accepts any httpx client or transport you pass in) and uses the
aiohttp transport only for the client it creates itself.
"""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

__all__ = ["attempt_limit", "default_transport", "describe_failure"]


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
