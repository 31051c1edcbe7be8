"""FileCursorStore when a save is cancelled while its write runs (issue 17, defect 14).

The write runs in a thread (``asyncio.to_thread``); cancelling the task that awaits
it does not stop the thread, so the file gets the new cursor. Each test pauses the
real write on a ``threading.Event`` so that the cancellation lands mid-write, then
lets it finish: the file and the store's memory must never go back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from wecom_kf_async import FileCursorStore
from wecom_kf_async.messages import cursors as cursors_module

#: Longest a test waits on the writer thread (a deadline, not a pause).
DEADLINE = 10.0


class PausedWrites:
    """Wraps the store's real atomic write: the next write signals, waits, then runs."""

    def __init__(self) -> None:
        self.real = cursors_module._write_atomically
        self.started = threading.Event()
        self.release = threading.Event()
        self.finished = threading.Event()
        self.armed = False

    def __call__(self, path: Path, cursors: dict[str, str]) -> None:
        if not self.armed:
            self.real(path, cursors)
            return
        self.armed = False
        self.started.set()
        if not self.release.wait(DEADLINE):
            raise AssertionError("the test never released the write")
        try:
            self.real(path, cursors)
        finally:
            self.finished.set()


@pytest.fixture
def paused(monkeypatch: pytest.MonkeyPatch) -> Iterator[PausedWrites]:
    """The store's writes, the next one paused once armed."""
    writes = PausedWrites()
    monkeypatch.setattr(cursors_module, "_write_atomically", writes)
    yield writes
    writes.release.set()


async def _page2_left_running(path: Path, paused: PausedWrites) -> FileCursorStore:
    """A store at *path* that saved wkA=page1, then a save of wkA=page2 cancelled mid-write.

    The write of page2 stays paused until :func:`_finish_write`.
    """
    store = FileCursorStore(path)
    await store.set("wkA", "page1")
    paused.armed = True
    task = asyncio.create_task(store.set("wkA", "page2"))
    assert await asyncio.to_thread(paused.started.wait, DEADLINE)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return store


async def _finish_write(paused: PausedWrites) -> None:
    """Let the paused write run, and wait until it is over."""
    paused.release.set()
    assert await asyncio.to_thread(paused.finished.wait, DEADLINE)


def _on_disk(path: Path) -> dict[str, str]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


async def test_a_save_for_another_account_never_writes_the_old_cursor_back(
    tmp_path: Path, paused: PausedWrites
) -> None:
    """page2 reached the disk under a cancelled save: the next save keeps it."""
    path = tmp_path / "cursors.json"
    store = await _page2_left_running(path, paused)
    await _finish_write(paused)
    assert _on_disk(path) == {"wkA": "page2"}
    await store.set("wkB", "b1")
    assert _on_disk(path) == {"wkA": "page2", "wkB": "b1"}


async def test_a_read_after_a_cancelled_save_sees_what_is_on_disk(
    tmp_path: Path, paused: PausedWrites
) -> None:
    """get() answers the cursor the cancelled save wrote, as a fresh store reading the file does."""
    path = tmp_path / "cursors.json"
    store = await _page2_left_running(path, paused)
    await _finish_write(paused)
    assert await store.get("wkA") == "page2"
    assert await FileCursorStore(path).get("wkA") == "page2"


async def test_a_save_waits_for_the_write_a_cancelled_save_left_running(
    tmp_path: Path, paused: PausedWrites
) -> None:
    """While the cancelled write still runs, the next save waits for it rather than racing it."""
    path = tmp_path / "cursors.json"
    store = await _page2_left_running(path, paused)
    second = asyncio.create_task(store.set("wkB", "b1"))
    for _ in range(50):  # let the second save run as far as it can while the write is paused
        await asyncio.sleep(0)
    assert not second.done()
    assert _on_disk(path) == {"wkA": "page1"}
    paused.release.set()
    async with asyncio.timeout(DEADLINE):
        await second
    assert _on_disk(path) == {"wkA": "page2", "wkB": "b1"}
    assert (await store.get("wkA"), await store.get("wkB")) == ("page2", "b1")


async def test_a_cancelled_save_whose_write_fails_leaves_memory_to_the_file(
    tmp_path: Path, paused: PausedWrites, caplog: pytest.LogCaptureFixture
) -> None:
    """The write fails after its save was cancelled: logged, and the file is read again."""
    folder = tmp_path / "cursors"
    folder.mkdir()
    path = folder / "cursors.json"
    store = await _page2_left_running(path, paused)
    shutil.rmtree(folder)  # the write that goes on finds no directory
    await _finish_write(paused)
    folder.mkdir()
    path.write_text(json.dumps({"wkA": "on-disk"}), encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="wecom_kf_async"):
        await store.set("wkB", "b1")
    assert _on_disk(path) == {"wkA": "on-disk", "wkB": "b1"}
    assert any("cancelled save" in record.getMessage() for record in caplog.records)
