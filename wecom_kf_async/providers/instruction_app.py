"""The ASGI app of a provider's instruction callback URL: verify, answer ``success``, then handle.

- ``GET`` (URL verification): verify the signature, decrypt ``echostr`` (its
  receiveid must be the suite_id), answer the bare plaintext.
- ``POST``: verify, decrypt (receiveid = suite_id), check the timestamp against
  the replay window, parse, and answer ``success`` at once: WeCom wants the answer
  within 1000 ms (page 90642). The provider's ``handle`` then runs in a background
  task the app tracks; an exception it raises is logged (``logger.exception``),
  never lost and never fatal to the app.
- An exact repeat (same ``InfoType``, ``SuiteId``, ``TimeStamp`` and main field)
  seen in the last 10 minutes is answered ``success`` and not handled again:
  WeCom repeats an instruction it thinks was missed.
- Statuses as the KF callback app's: a bad signature or a timestamp outside the
  window 403, a malformed request (a foreign receiveid included) 400, a body over
  ``MAX_CALLBACK_BODY_BYTES`` 413, a POST while closing 503 (WeCom repeats it).
- The ASGI lifespan's shutdown (or :meth:`InstructionApp.aclose`) waits a bounded
  time for the handlers still running, then cancels the rest.

No log line shows a ticket or an auth code.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Final, TypeAlias

from .._constants import LOGGER_NAME
from ..callback import _http
from ..callback._http import Receive, Scope, Send, TooLarge, answer, lifespan, query, read_capped
from ..callback.asgi import DEFAULT_REPLAY_WINDOW, check_timestamp
from ..callback.crypto import CallbackCrypto
from ..callback.errors import CallbackError, SignatureError, TimestampError
from ..callback.events import MAX_CALLBACK_BODY_BYTES
from .instructions import (
    CancelAuth,
    ChangeAuth,
    CreateAuth,
    Instruction,
    ResetPermanentCode,
    SuiteTicketInstruction,
    parse_instruction,
)

__all__ = [
    "DEDUP_SIZE",
    "DEDUP_WINDOW",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "InstructionApp",
    "InstructionHandler",
    "instruction_app",
]

logger = logging.getLogger(LOGGER_NAME)

#: The provider's dispatcher: called once per instruction, in a background task.
InstructionHandler: TypeAlias = Callable[[Instruction], Awaitable[None]]

#: Seconds an instruction is remembered to drop WeCom's repeats of it.
DEDUP_WINDOW: Final = 600.0
#: Instructions remembered at most (the oldest forgotten first).
DEDUP_SIZE: Final = 10_000
#: Seconds shutdown waits for the handlers still running before cancelling them.
DEFAULT_SHUTDOWN_TIMEOUT: Final = 5.0

_BODIES: Final = {403: b"forbidden", 413: b"too large", 503: b"unavailable"}


def _repeat_key(instruction: Instruction) -> bytes:
    """A digest of what makes *instruction* itself (no ticket or code kept in memory)."""
    if isinstance(instruction, SuiteTicketInstruction):
        main: tuple[object, ...] = (instruction.ticket,)
    elif isinstance(instruction, CreateAuth):
        main = (instruction.auth_code, instruction.state, instruction.open_kfids)
    elif isinstance(instruction, ChangeAuth):
        main = (instruction.auth_corp_id, instruction.state, instruction.open_kfids)
    elif isinstance(instruction, CancelAuth):
        main = (instruction.auth_corp_id,)
    elif isinstance(instruction, ResetPermanentCode):
        main = (instruction.auth_code,)
    else:
        main = tuple(sorted(instruction.raw.items()))
    whole = (instruction.info_type, instruction.suite_id, instruction.timestamp, *main)
    return hashlib.sha256(repr(whole).encode("utf-8", "surrogatepass")).digest()


class _Recent:
    """Keys seen in the last *window* seconds, at most *size* of them."""

    def __init__(self, window: float, size: int, clock: Callable[[], float]) -> None:
        self._window = window
        self._size = size
        self._clock = clock
        self._seen: OrderedDict[bytes, float] = OrderedDict()  # oldest first

    def first(self, key: bytes) -> bool:
        """Remember *key*; whether it was not seen in the window."""
        now = self._clock()
        seen = self._seen
        while seen and (len(seen) >= self._size or next(iter(seen.values())) <= now - self._window):
            seen.popitem(last=False)
        if key in seen:
            return False
        seen[key] = now
        return True

    def __len__(self) -> int:
        return len(self._seen)


def _describe(instruction: Instruction) -> str:
    """The instruction for a log line: its kind, suite and corp, never a ticket or code."""
    corp = getattr(instruction, "auth_corp_id", None)
    where = f", corp {corp}" if corp else ""
    return f"{instruction.info_type} of suite {instruction.suite_id}{where}"


class InstructionApp:
    """The instruction callback's ASGI app (build it with :func:`instruction_app`).

    Call it as an ASGI 3 app; ``await app.aclose()`` (or the ASGI lifespan's
    shutdown) stops taking instructions, waits up to *shutdown_timeout* seconds
    for the handlers still running, then cancels the rest.
    """

    def __init__(
        self,
        crypto: CallbackCrypto,
        handle: InstructionHandler,
        *,
        replay_window: float | None,
        shutdown_timeout: float,
        clock: Callable[[], float],
        monotonic: Callable[[], float],
    ) -> None:
        self._crypto = crypto
        self._handle = handle
        self._replay_window = replay_window
        self._shutdown_timeout = shutdown_timeout
        self._clock = clock
        self._recent = _Recent(DEDUP_WINDOW, DEDUP_SIZE, monotonic)
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False

    def __repr__(self) -> str:
        return (
            f"InstructionApp(suite_id={self._crypto.receive_id!r}, "
            f"running={len(self._tasks)}, closing={self._closing})"
        )

    @property
    def running(self) -> int:
        """How many handler tasks are running now."""
        return len(self._tasks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        method = scope["method"]
        if method == "GET":
            await self._verify(scope, send)
        elif method == "POST":
            await self._deliver(scope, receive, send)
        else:
            await answer(send, 405, b"method not allowed")

    async def aclose(self) -> None:
        """Stop taking instructions; wait (bounded) for the handlers, cancel the rest."""
        self._closing = True
        tasks = set(self._tasks)
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=self._shutdown_timeout)
        if pending:
            logger.warning(
                "instruction app closing: %d handler(s) still running after %g s, cancelled",
                len(pending),
                self._shutdown_timeout,
            )
            for task in pending:
                task.cancel()
            await asyncio.wait(pending)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await lifespan(receive, send, self.aclose)

    @staticmethod
    def _signed(query: dict[str, str]) -> tuple[str, str, str] | None:
        found = query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", "")
        return found if all(found) else None

    async def _verify(self, scope: Scope, send: Send) -> None:
        params = _http.query(scope)
        found, echostr = self._signed(params), params.get("echostr", "")
        if found is None or not echostr:
            logger.warning("instruction GET without msg_signature/timestamp/nonce/echostr: 400")
            await answer(send, 400, b"bad request")
            return
        try:
            plaintext = self._crypto.verify_url(*found, echostr)
        except CallbackError as exc:
            await self._refuse(send, exc, "GET")
            return
        await answer(send, 200, plaintext.encode())

    async def _deliver(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self._signed(query(scope))
        try:
            body = await read_capped(scope, receive)
        except TooLarge:
            logger.warning("instruction POST over %d bytes: 413", MAX_CALLBACK_BODY_BYTES)
            await answer(send, 413, _BODIES[413])
            return
        if found is None:
            logger.warning("instruction POST without msg_signature/timestamp/nonce: 400")
            await answer(send, 400, b"bad request")
            return
        try:
            instruction = parse_instruction(self._crypto.decrypt(*found, body))
            if self._replay_window is not None:
                check_timestamp(found[1], self._clock(), self._replay_window)
        except CallbackError as exc:
            await self._refuse(send, exc, "POST")
            return
        if self._closing:
            logger.warning("instruction POST while the app is closing: 503 (WeCom repeats it)")
            await answer(send, 503, _BODIES[503])
            return
        if not self._recent.first(_repeat_key(instruction)):
            logger.debug("instruction repeated (%s): dropped", _describe(instruction))
        else:
            task = asyncio.create_task(self._run(instruction))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        await answer(send, 200, b"success")

    async def _run(self, instruction: Instruction) -> None:
        try:
            await self._handle(instruction)
        except Exception:
            logger.exception("instruction handler failed on %s", _describe(instruction))

    async def _refuse(self, send: Send, exc: CallbackError, method: str) -> None:
        status = 403 if isinstance(exc, SignatureError | TimestampError) else 400
        # The exceptions' texts name a field or a check, never a ticket or a code.
        logger.warning(
            "instruction %s refused (%s, code %d: %s): %d",
            method,
            type(exc).__name__,
            exc.code,
            exc,
            status,
        )
        await answer(send, status, _BODIES.get(status, b"bad request"))


def instruction_app(
    *,
    suite_id: str,
    token: str,
    encoding_aes_key: str,
    handle: InstructionHandler,
    replay_window: float | None = DEFAULT_REPLAY_WINDOW,
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
    clock: Callable[[], float] = time.time,
    monotonic: Callable[[], float] = time.monotonic,
) -> InstructionApp:
    """The ASGI app of a suite's instruction callback URL.

    Args:
        suite_id: The suite's ``SuiteId``: the receiveid of its instructions.
        token: The instruction callback's Token.
        encoding_aes_key: The instruction callback's EncodingAESKey (43 characters).
        handle: The provider's dispatcher, awaited once per instruction (repeats
            dropped) in a background task, after ``success`` was answered.
        replay_window: Seconds a POST's signed ``timestamp`` may be from *clock*,
            either way (``None``: not checked).
        shutdown_timeout: Seconds :meth:`InstructionApp.aclose` waits for the
            handlers still running before cancelling them.
        clock: Wall-clock seconds, for the replay window.
        monotonic: Monotonic seconds, for the 10 minutes repeats are remembered.

    Returns:
        An :class:`InstructionApp`: an ASGI 3 app with ``aclose()``.

    Raises:
        AesKeyError: *encoding_aes_key* is not 43 letters and digits.
        ValueError: *token* is not 1 to 32 letters and digits; *suite_id* is empty.
    """
    crypto = CallbackCrypto(token, encoding_aes_key, receive_id=suite_id)
    return InstructionApp(
        crypto,
        handle,
        replay_window=replay_window,
        shutdown_timeout=shutdown_timeout,
        clock=clock,
        monotonic=monotonic,
    )
