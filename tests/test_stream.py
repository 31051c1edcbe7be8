"""kf.messages.sync and .stream: every message at least once, cursor saved after each page."""

from __future__ import annotations

import pytest

from wecom_kf_async import (
    EnterSessionEvent,
    InMemoryCursorStore,
    InvalidSyncTokenError,
    KfClient,
    SyncCursorError,
    TextMessage,
    UnknownMessage,
)
from wecom_kf_async.testing import WeComSimulator

SYNC = "kf/sync_msg"


@pytest.fixture
def kfid(sim: WeComSimulator) -> str:
    """A KF account of the simulator, with the strict tokenless limit off."""
    sim.sync_msg_without_token_per_minute = None
    return sim.add_account("Support")


async def test_sync_is_one_call_returning_typed_messages(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """One page: typed messages in order, the next cursor, has_more."""
    sim.customer_enters(kfid, "wmAlice", scene="qr")
    sim.customer_says(kfid, "wmAlice", {"msgtype": "text", "text": {"content": "你好"}})
    page = await kf.messages.sync(open_kfid=kfid, limit=1000)
    assert sim.stats.calls[SYNC] == 1
    assert page.has_more is False
    assert page.next_cursor
    enter, text = page.messages
    assert isinstance(enter, EnterSessionEvent)
    assert enter.scene == "qr"
    assert isinstance(text, TextMessage)
    assert text.text.content == "你好"
    assert text.send_time.tzinfo is not None


async def test_stream_pages_to_has_more_zero_through_empty_pages_exactly_once(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """25 pages, empty has_more=1 pages among them: every message once, in order."""
    sim.fill(kfid, 100)
    sizes = []
    for n in range(25):
        sizes.append(0 if n % 3 == 1 else 6)  # empty pages between full ones
    sim.script_pages(sizes)
    store = InMemoryCursorStore()
    stream = kf.messages.stream(kfid, cursors=store, limit=6)
    seen = [message.msgid async for message in stream]
    assert sim.stats.calls[SYNC] >= 25
    assert stream.pages == sim.stats.calls[SYNC]
    expected = [item["msgid"] for item in sim.messages(kfid)]
    assert seen == expected
    assert len(set(seen)) == 100
    assert await store.get(kfid) is not None


async def test_the_cursor_is_saved_only_after_a_whole_page_was_taken(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """Stopping mid-page saves nothing of that page: the next stream reads it again."""
    sim.fill(kfid, 30)
    store = InMemoryCursorStore()
    first = kf.messages.stream(kfid, cursors=store, limit=10)
    taken = []
    async for message in first:
        taken.append(message.msgid)
        if len(taken) == 15:  # in the middle of the second page
            break
    await first.aclose()
    saved = await store.get(kfid)
    assert saved == sim.cursor_for(10, kfid)  # the first page's, not the second's

    again = [m.msgid async for m in kf.messages.stream(kfid, cursors=store, limit=10)]
    everything = [item["msgid"] for item in sim.messages(kfid)]
    assert again == everything[10:]  # page 2 again (at least once), nothing skipped


async def test_ack_saves_a_finished_page_at_once_and_never_a_partial_one(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """ack() after a page's last message saves its cursor; in the middle it does nothing."""
    sim.fill(kfid, 20)
    store = InMemoryCursorStore()
    stream = kf.messages.stream(kfid, cursors=store, limit=10)
    count = 0
    async for _ in stream:
        count += 1
        if count == 5:
            assert await stream.ack() is False
            assert await store.get(kfid) is None
        if count == 10:
            assert await stream.ack() is True
            break
    assert await store.get(kfid) == sim.cursor_for(10, kfid)


async def test_a_message_served_again_within_a_stream_is_handed_out_once(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """WeCom serving messages 4 and 5 again on the next page: dropped by msgid."""
    sim.fill(kfid, 10)
    items = sim.messages(kfid)
    sim.script(SYNC, [0, {"msg_list": items[3:10]}])  # page 2 repeats two of page 1
    stream = kf.messages.stream(kfid, limit=5)
    got = [m.msgid async for m in stream]
    assert got == [item["msgid"] for item in items]
    assert stream.duplicates == 2


async def test_a_spent_token_is_dropped_and_the_stream_goes_on_without_it(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """95007 on the token: the page is asked for again without it, never with it."""
    sim.fill(kfid, 5)
    token = sim.callback_token(kfid)
    first = await kf.messages.sync(token=token, open_kfid=kfid)
    assert len(first.messages) == 5
    with pytest.raises(InvalidSyncTokenError):
        await kf.messages.sync(token=token, open_kfid=kfid)
    calls = sim.stats.calls[SYNC]
    got = [m.msgid async for m in kf.messages.stream(kfid, token=token)]
    assert len(got) == 5
    assert sim.stats.calls[SYNC] == calls + 2  # the refused try, then one without token


async def test_an_expired_cursor_restarts_from_the_oldest_message(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """A cursor the simulator no longer knows: the stream reads from the start again."""
    sim.fill(kfid, 4)
    store = InMemoryCursorStore()
    await store.set(kfid, "not-a-cursor-of-this-simulator")
    with pytest.raises(SyncCursorError):
        await kf.messages.sync(cursor="not-a-cursor-of-this-simulator", open_kfid=kfid)
    got = [m.msgid async for m in kf.messages.stream(kfid, cursors=store)]
    assert len(got) == 4


async def test_a_malformed_message_survives_as_unknown_without_sinking_its_page(
    kf: KfClient, sim: WeComSimulator, kfid: str
) -> None:
    """A text whose content is a number comes as UnknownMessage with .raw; the rest as usual."""
    sim.customer_says(kfid, "wmA", {"msgtype": "text", "text": {"content": "one"}})
    sim.customer_says(kfid, "wmA", {"msgtype": "text", "text": {"content": 2}})
    sim.customer_says(kfid, "wmA", {"msgtype": "text", "text": {"content": "three"}})
    page = await kf.messages.sync(open_kfid=kfid)
    kinds = [type(m) for m in page.messages]
    assert kinds == [TextMessage, UnknownMessage, TextMessage]
    unknown = page.messages[1]
    assert isinstance(unknown, UnknownMessage)
    assert unknown.raw["text"] == {"content": 2}


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"limit": 0}, ValueError, "limit"),
        ({"limit": 1001}, ValueError, "limit"),
        ({"cursor": "c" * 65}, ValueError, "cursor is 65 bytes"),
        ({"token": "t" * 129}, ValueError, "token is 129 bytes"),
        ({"open_kfid": 5}, TypeError, "open_kfid"),
        ({"voice_format": 2}, ValueError, "voice_format"),
    ],
)
async def test_bad_sync_arguments_send_nothing(
    kf: KfClient, sim: WeComSimulator, kwargs: dict[str, object], error: type[Exception], match: str
) -> None:
    """Every argument is checked before the request."""
    with pytest.raises(error, match=match):
        await kf.messages.sync(**kwargs)  # type: ignore[arg-type]
    assert sim.stats.calls[SYNC] == 0


async def test_without_a_token_the_strict_budget_applies(sim: WeComSimulator) -> None:
    """sync_msg without a token waits on its own budget (1/s by default); with one it does not."""
    from wecom_kf_async.testing import simulated_client

    strict = KfClient(corp_id="ww", secret="s")
    assert strict.rate_for("kf/sync_msg:no_token") == 1.0
    assert strict.rate_for("kf/sync_msg") == 150.0
    assert strict.limiters_for("kf/sync_msg:no_token") != strict.limiters_for("kf/sync_msg")
    assert simulated_client(sim).rate_for("kf/sync_msg:no_token") is None
