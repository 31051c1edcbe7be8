"""Where a stream keeps each account's ``sync_msg`` cursor: the protocol and two stores.

A cursor is saved only after every message of its page has been handed to the
consumer, so a crash re-reads at most the page in hand and never skips one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol, runtime_checkable

from .._constants import LOGGER_NAME

__all__ = [
    "CursorLease",
    "CursorStore",
    "ExclusiveCursorStore",
    "FileCursorStore",
    "InMemoryCursorStore",
]

logger = logging.getLogger(LOGGER_NAME)


@runtime_checkable
class CursorStore(Protocol):
    """Keeps the ``sync_msg`` cursor of each KF account (``open_kfid``)."""

    async def get(self, open_kfid: str) -> str | None:
        """The saved cursor of *open_kfid*, or ``None`` (read from the oldest message)."""

    async def set(self, open_kfid: str, cursor: str) -> None:
        """Save *cursor* as where *open_kfid*'s stream goes on from."""


@runtime_checkable
class CursorLease(Protocol):
    """The right to consume one account's messages, held by one consumer of a fleet."""

    async def get(self) -> str | None:
        """The account's saved cursor."""

    async def set(self, cursor: str) -> None:
        """Save the cursor; raises :class:`~wecom_kf_async.LeaseLostError` if the lease was lost."""

    async def again(self) -> tuple[bool, str | None]:
        """Whether another consumer was woken meanwhile, and with which callback token.

        If so, the lease is kept and the holder pulls once more: ``(True, token or
        None)``; if not, the lease is released: ``(False, None)``. One atomic step,
        so a wake-up is never lost between the check and the release.
        """

    def ensure_held(self) -> None:
        """Raise :class:`~wecom_kf_async.LeaseLostError` if the lease is known lost, or
        may have run out (not renewed for its TTL); no I/O. The stream calls it before
        each message it hands out."""


@runtime_checkable
class ExclusiveCursorStore(CursorStore, Protocol):
    """A cursor store shared by processes, that lets one of them consume an account at a time.

    ``RedisCursorStore`` (``wecom_kf_async.fleet``) is one.
    """

    def consume(
        self, open_kfid: str, token: str | None = None
    ) -> AbstractAsyncContextManager[CursorLease | None]:
        """Hold the account's lease while the block runs, or ``None`` if another holds it.

        A consumer that finds the lease taken leaves a note (with its callback
        *token*), so that the holder pulls once more before it lets go: the wake-up
        is not lost.
        """

    def add_waker(self, wake: Callable[[str], object]) -> Callable[[], None]:
        """Have ``wake(open_kfid)`` called when a note this store left has no holder any
        more (it let go without pulling, or its lease expired); returns its remover."""


class InMemoryCursorStore:
    """Cursors in this process's memory: lost when it exits (for tests and short jobs)."""

    def __init__(self) -> None:
        self._cursors: dict[str, str] = {}

    async def get(self, open_kfid: str) -> str | None:
        """The saved cursor of *open_kfid*, or ``None``."""
        return self._cursors.get(open_kfid)

    async def set(self, open_kfid: str, cursor: str) -> None:
        """Save *cursor* for *open_kfid*."""
        self._cursors[open_kfid] = cursor

    def __repr__(self) -> str:
        return f"InMemoryCursorStore(<{len(self._cursors)} account(s)>)"


class FileCursorStore:
    """Cursors in one JSON file, replaced atomically on every save.

    Each save writes a temporary file beside the target, flushes and ``fsync``\\s it,
    renames it over the target (``os.replace`` is atomic) and ``fsync``\\s the
    directory: a process killed at any moment (``kill -9``, a power cut after the
    rename) leaves either the old file or the new one, never a torn one. Saves
    within the process are serialised; use one store per file per process (for many
    processes, use ``RedisCursorStore``).

    A save cancelled while its write runs (the write is in a thread, which a
    cancellation does not stop) leaves the write to finish; the next save or read
    waits for it and takes what it wrote, so neither the file nor the memory ever
    goes back to an older cursor. A write that fails leaves the memory to be read
    again from the file.

    Args:
        path: The file; its directory must exist. It is created on the first save.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = asyncio.Lock()
        self._cursors: dict[str, str] | None = None
        # The write in flight and what it writes (left running by a cancelled save).
        self._writing: tuple[asyncio.Future[None], dict[str, str]] | None = None

    def __repr__(self) -> str:
        return f"FileCursorStore({str(self.path)!r})"

    def _load(self) -> dict[str, str]:
        if self._cursors is None:
            try:
                raw = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                self._cursors = {}
            else:
                data = json.loads(raw)
                if not isinstance(data, dict) or not all(
                    isinstance(k, str) and isinstance(v, str) for k, v in data.items()
                ):
                    raise ValueError(f"{self.path} is not a cursor file (a JSON object of strings)")
                self._cursors = dict(data)
        return self._cursors

    async def get(self, open_kfid: str) -> str | None:
        """The saved cursor of *open_kfid*, or ``None``."""
        async with self._lock:
            await self._settle()
            return self._load().get(open_kfid)

    async def set(self, open_kfid: str, cursor: str) -> None:
        """Save *cursor* for *open_kfid* (durably, before returning)."""
        async with self._lock:
            await self._settle()
            cursors = {**self._load(), open_kfid: cursor}
            write = asyncio.ensure_future(asyncio.to_thread(_write_atomically, self.path, cursors))
            self._writing = (write, cursors)
            try:
                # Shielded: cancelled, this call returns at once and the write goes on.
                await asyncio.shield(write)
            finally:
                if write.done():
                    self._written(write, cursors)

    async def _settle(self) -> None:
        """Wait for the write a cancelled save left running, and take in what it wrote."""
        if self._writing is None:
            return
        write, cursors = self._writing
        await asyncio.wait([write])
        failure = self._written(write, cursors)
        if failure is not None:
            logger.warning(
                "%s: the write of a cancelled save failed (%s); cursors are read again from it",
                self.path,
                failure,
            )

    def _written(self, write: asyncio.Future[None], cursors: dict[str, str]) -> str | None:
        """The write is over: memory is what it wrote, or (it failed) is read again.

        Returns how it failed (the exception's class name), ``None`` if it did not.
        """
        self._writing = None
        failure = "CancelledError" if write.cancelled() else write.exception()
        self._cursors = cursors if failure is None else None
        return failure if failure is None or isinstance(failure, str) else type(failure).__name__


def _write_atomically(path: Path, cursors: dict[str, str]) -> None:
    data = json.dumps(cursors, ensure_ascii=False, sort_keys=True).encode()
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
