"""A stream against a misbehaving server: pages that make no progress, answer fields we refuse.

Issue 17, defects 10 and 11. The simulator plays the server over HTTP (in process,
``httpx.ASGITransport``): ``sim.stall_pages`` serves every page empty with
``has_more=1`` and the cursor it was given, and field-replacing faults put a
``next_cursor`` our own checks refuse into an otherwise normal answer.
"""

from __future__ import annotations

import logging

import pytest

from wecom_kf_async import (
    InMemoryCursorStore,
    InvalidResponseError,
    KfError,
    MessageStream,
    RetryPolicy,
    StreamStalledError,
    set_testing,
)
from wecom_kf_async.instrumentation import StreamStalled
from wecom_kf_async.messages import DEFAULT_MAX_STALLED_PAGES
from wecom_kf_async.testing import WeComSimulator

from .conftest import FakeClock, FakeSleep, client_for
from .test_instrumentation import Recorder

SYNC = "kf/sync_msg"
#: What each refused cursor breaks: too long, whitespace, a lone surrogate.
BAD_CURSORS = ["c" * 65, "has space", "\ud800cursor"]


async def drain(stream: MessageStream, into: list[str] | None = None) -> list[str]:
    """The msgids the stream hands out, collected in *into* as they come."""
    taken = [] if into is None else into
    async for message in stream:
        taken.append(message.msgid)
    return taken


@pytest.fixture
def kfid(sim: WeComSimulator) -> str:
    """An account with three messages waiting, the strict tokenless limit off."""
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    sim.fill(kfid, 3)
    return kfid


async def test_a_stream_that_makes_no_progress_backs_off_and_gives_up(
    sim: WeComSimulator, kfid: str, clock: FakeClock, fake_sleep: FakeSleep
) -> None:
    """Empty has_more=1 pages with the same cursor: growing waits, then StreamStalledError."""
    set_testing(False)  # real backoff values, waited on the fake sleep
    sim.stall_pages = True
    hook = Recorder(StreamStalled)
    async with client_for(sim, sleep=fake_sleep, instrumentation=[hook]) as kf:
        taken: list[str] = []
        with pytest.raises(StreamStalledError) as info:
            await drain(kf.messages.stream(kfid), taken)
    assert taken == []
    error = info.value
    assert isinstance(error, KfError)
    assert (error.open_kfid, error.pages) == (kfid, DEFAULT_MAX_STALLED_PAGES)
    assert kfid in str(error)
    assert "no progress" in str(error)
    # The first page moved the cursor (from none to the first); then N pages in place.
    assert sim.stats.calls[SYNC] == 1 + DEFAULT_MAX_STALLED_PAGES
    waits = fake_sleep.waits
    assert len(waits) == DEFAULT_MAX_STALLED_PAGES - 1  # no wait before giving up
    assert all(wait > 0 for wait in waits)
    assert waits[-1] > waits[0]
    assert max(waits) <= 30.0
    assert [(e.open_kfid, e.pages) for e in hook.of(StreamStalled)] == [
        (kfid, DEFAULT_MAX_STALLED_PAGES)
    ]


async def test_the_bound_is_per_stream_and_a_retry_reads_on_once_the_server_recovers(
    sim: WeComSimulator, kfid: str
) -> None:
    """max_stalled_pages=2 gives up after 2 pages in place; a later stream delivers everything."""
    sim.stall_pages = True
    store = InMemoryCursorStore()
    async with client_for(sim) as kf:
        with pytest.raises(StreamStalledError):
            await drain(kf.messages.stream(kfid, cursors=store, max_stalled_pages=2))
        assert sim.stats.calls[SYNC] == 3
        sim.stall_pages = False
        taken = [m.msgid async for m in kf.messages.stream(kfid, cursors=store)]
    assert taken == [item["msgid"] for item in sim.messages(kfid)]


async def test_pages_of_duplicates_at_the_same_cursor_make_no_progress(
    sim: WeComSimulator, kfid: str
) -> None:
    """The same messages at the same cursor over and over: each taken once, then the error."""
    items = sim.messages(kfid)[:2]
    same = {"msg_list": items, "has_more": 1, "next_cursor": sim.cursor_for(0, kfid)}
    sim.set_fault_rate(SYNC, 1.0, [same])
    async with client_for(sim) as kf:
        taken: list[str] = []
        with pytest.raises(StreamStalledError):
            await drain(kf.messages.stream(kfid, max_stalled_pages=3), taken)
    assert taken == [item["msgid"] for item in items]
    assert sim.stats.calls[SYNC] == 1 + 3


async def test_empty_pages_that_move_on_are_no_stall(sim: WeComSimulator, kfid: str) -> None:
    """Runs of empty pages shorter than the bound, between full ones, lose and stop nothing."""
    sim.fill(kfid, 27)  # 30 in all
    sim.script_pages([0, 0, 0, 5] * 6)
    async with client_for(sim) as kf:
        stream = kf.messages.stream(kfid, limit=5, max_stalled_pages=4)
        taken = [m.msgid async for m in stream]
    assert taken == [item["msgid"] for item in sim.messages(kfid)]


async def test_a_bad_max_stalled_pages_is_refused(sim: WeComSimulator, kfid: str) -> None:
    """max_stalled_pages must be a positive int, named in the error."""
    async with client_for(sim) as kf:
        for bad in (0, -1):
            with pytest.raises(ValueError, match="max_stalled_pages"):
                kf.messages.stream(kfid, max_stalled_pages=bad)
        with pytest.raises(TypeError, match="max_stalled_pages"):
            kf.messages.stream(kfid, max_stalled_pages=True)


async def test_the_simulator_plays_a_stalled_server_over_its_control_plane(
    sim: WeComSimulator,
) -> None:
    """POST /__sim__/config takes stall_pages (a bool) for a simulator in another process."""
    sim.configure({"stall_pages": True})
    assert sim.stall_pages is True
    with pytest.raises(ValueError, match="stall_pages"):
        sim.configure({"stall_pages": "yes"})
    sim.configure({"stall_pages": False})
    assert sim.stall_pages is False


# -- defect 11: answer fields are checked before anything is stored ------------------


@pytest.mark.parametrize("bad", BAD_CURSORS, ids=["65 bytes", "space", "surrogate"])
async def test_a_refused_next_cursor_is_retried_and_never_stored(
    sim: WeComSimulator, kfid: str, bad: str
) -> None:
    """One answer with a next_cursor our checks refuse: that attempt is retried, never saved."""
    sim.script(SYNC, [{"next_cursor": bad}])
    store = InMemoryCursorStore()
    async with client_for(sim) as kf:
        taken = [m.msgid async for m in kf.messages.stream(kfid, cursors=store)]
        assert taken == [item["msgid"] for item in sim.messages(kfid)]
        assert sim.stats.calls[SYNC] == 2  # the refused answer, then its retry
        assert await store.get(kfid) == sim.cursor_for(3, kfid)


@pytest.mark.parametrize("bad", BAD_CURSORS, ids=["65 bytes", "space", "surrogate"])
async def test_a_server_that_keeps_sending_a_bad_cursor_fails_the_page_not_the_account(
    sim: WeComSimulator, kfid: str, bad: str
) -> None:
    """Every answer refused: InvalidResponseError after the retries, nothing handed out or saved;
    once the server answers well, the next stream of the account delivers everything."""
    sim.set_fault_rate(SYNC, 1.0, [{"next_cursor": bad}])
    store = InMemoryCursorStore()
    async with client_for(sim, retry=RetryPolicy(attempts=3)) as kf:
        taken: list[str] = []
        with pytest.raises(InvalidResponseError) as info:
            await drain(kf.messages.stream(kfid, cursors=store), taken)
        assert taken == []
        assert "next_cursor" in str(info.value)
        assert bad not in str(info.value)
        assert sim.stats.calls[SYNC] == 3
        assert await store.get(kfid) is None
        sim.set_fault_rate(SYNC, 0.0)
        taken = [m.msgid async for m in kf.messages.stream(kfid, cursors=store)]
    assert taken == [item["msgid"] for item in sim.messages(kfid)]


async def test_sync_refuses_a_bad_next_cursor_as_an_invalid_response(
    sim: WeComSimulator, kfid: str
) -> None:
    """kf.messages.sync: the same check, the same retries, the same error."""
    sim.set_fault_rate(SYNC, 1.0, [{"next_cursor": "c" * 65}])
    async with client_for(sim, retry=RetryPolicy(attempts=2)) as kf:
        with pytest.raises(InvalidResponseError, match="next_cursor"):
            await kf.messages.sync(open_kfid=kfid)
    assert sim.stats.calls[SYNC] == 2


@pytest.mark.parametrize("bad", BAD_CURSORS, ids=["65 bytes", "space", "surrogate"])
async def test_a_malformed_cursor_already_saved_reads_again_from_the_oldest(
    sim: WeComSimulator, kfid: str, bad: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A saved cursor that cannot be sent (saved before this check): logged, read from the start."""
    store = InMemoryCursorStore()
    await store.set(kfid, bad)
    async with client_for(sim) as kf:
        with caplog.at_level(logging.WARNING, logger="wecom_kf_async"):
            taken = [m.msgid async for m in kf.messages.stream(kfid, cursors=store)]
    assert taken == [item["msgid"] for item in sim.messages(kfid)]
    assert await store.get(kfid) == sim.cursor_for(3, kfid)
    assert any("saved cursor" in r.getMessage() and kfid in r.getMessage() for r in caplog.records)
    assert all(bad not in r.getMessage() for r in caplog.records)
