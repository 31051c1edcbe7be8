"""ASGI plumbing of the simulator: types, reading bodies, answering, config parsing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, Final, Protocol, TypeAlias

__all__ = ["ASGIApp", "Binary", "Receive", "Scope", "Send"]

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
"""Type of an ASGI 3 application callable."""

JSON: Final = b"application/json; charset=utf-8"
TEXT: Final = b"text/plain; charset=utf-8"
HTML: Final = b"text/html"


class Waitable(Protocol):
    """Anything with an awaitable ``wait()``, such as :class:`asyncio.Event`."""

    def wait(self) -> Awaitable[object]: ...


class LatencyTable(dict[str, float]):
    """Per-endpoint latencies (seconds) usable as ``WeComSimulator.latency``."""

    def __call__(self, endpoint: str) -> float:
        return self.get(endpoint, 0.0)


def html_error(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title = f"{status} {phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def dumps(payload: Mapping[str, Any]) -> bytes:
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate (a scripted fault): sent as a JSON escape
        return json.dumps(payload, separators=(",", ":")).encode()


async def read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def respond(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    """Answer with *body* in one piece."""
    await _start(send, status, content_type, len(body))
    await send({"type": "http.response.body", "body": body})


def json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        raise ValueError("body is not valid JSON") from None
    checked: dict[str, Any] = require(value, dict)
    return checked


def require(value: Any, kind: type[Any]) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"expected a non-negative number, got {value!r}")
    return float(value)


def parse_latency(value: Any) -> float | Callable[[str], float]:
    if value is None:
        return 0.0
    if isinstance(value, dict):
        return LatencyTable({str(key): number(seconds) for key, seconds in value.items()})
    return number(value)


def setter(target: object, name: str, value: object) -> Callable[[], None]:
    return lambda: setattr(target, name, value)


async def drip(
    receive: Receive,
    send: Send,
    status: int,
    content_type: bytes,
    payload: bytes,
    interval: float,
    sleep: Callable[[float], Awaitable[object]],
) -> None:
    """Send the headers, then *payload* a byte at a time, until done or disconnected."""
    await _start(send, status, content_type, len(payload))
    watcher = asyncio.ensure_future(wait_disconnect(receive))
    try:
        for index in range(len(payload)):
            if watcher.done():
                return  # the client gave up
            last = index == len(payload) - 1
            await send(
                {
                    "type": "http.response.body",
                    "body": payload[index : index + 1],
                    "more_body": not last,
                }
            )
            if not last:
                await sleep(interval)
    finally:
        watcher.cancel()
        await asyncio.gather(watcher, return_exceptions=True)


async def drop(send: Send, status: int, content_type: bytes, payload: bytes) -> None:
    """Announce *payload*, send half of it, and end: the connection is cut mid-answer."""
    await _start(send, status, content_type, len(payload))
    await send({"type": "http.response.body", "body": payload[: len(payload) // 2]})


@dataclass(frozen=True, slots=True)
class Binary:
    """A raw binary answer (a download): status, extra headers, and its body in pieces.

    ``pieces`` is called when the body is sent, so a large body is produced piece
    by piece and never held whole.
    """

    status: int
    content_type: bytes
    length: int
    headers: tuple[tuple[bytes, bytes], ...]
    pieces: Callable[[], Iterator[bytes]]


async def send_binary(
    send: Send,
    answer: Binary,
    *,
    cut: bool = False,
    interval: float = 0.0,
    sleep: Callable[[float], Awaitable[object]] | None = None,
) -> None:
    """Send *answer*; with *cut*, end after half its body (the connection is cut).

    With an *interval* (the ``"drip"`` fault), wait that long between two pieces.
    """
    await _start(send, answer.status, answer.content_type, answer.length, answer.headers)
    left = answer.length // 2 if cut else answer.length
    if left > 0:
        for piece in answer.pieces():
            piece = piece[:left]
            left -= len(piece)
            if left <= 0:
                break
            await send({"type": "http.response.body", "body": piece, "more_body": True})
            if interval and sleep is not None:
                await sleep(interval)
        else:
            piece = b""
    else:
        piece = b""
    await send({"type": "http.response.body", "body": piece})


async def hang(
    receive: Receive, seconds: float, sleep: Callable[[float], Awaitable[object]]
) -> bool:
    """Sleep *seconds*; return True early if the client disconnects first."""
    sleeper = asyncio.ensure_future(sleep(seconds))
    watcher = asyncio.ensure_future(wait_disconnect(receive))
    try:
        done, _ = await asyncio.wait((sleeper, watcher), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sleeper, watcher):
            task.cancel()
        await asyncio.gather(sleeper, watcher, return_exceptions=True)
    return sleeper not in done


async def _start(
    send: Send,
    status: int,
    content_type: bytes,
    length: int,
    extra: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(length).encode()),
                *extra,
            ],
        }
    )
