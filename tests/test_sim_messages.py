"""The simulator's message log and ``kf/sync_msg``: paging, cursors, tokens, limits, types."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.samples import EVENT_SAMPLES, MESSAGE_SAMPLES
from wecom_kf_async.testing.simulator import ERR_CURSOR_INVALID, ERR_SYNC_TOKEN_INVALID

from .conftest import FakeClock
from .sim_messages_helpers import raw_api

DAY = 86400.0
UID = "wmsimcustomer01"


@pytest.fixture
def fsim(clock: FakeClock) -> WeComSimulator:
    """A simulator on a fake clock, without the strict limit unless a test sets it."""
    sim = WeComSimulator(clock=clock)
    sim.sync_msg_without_token_per_minute = None
    return sim


@pytest.fixture
def kfid(fsim: WeComSimulator) -> str:
    """An account of ``fsim``."""
    return fsim.add_account("Support")


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["msgid"] for item in items]


# ---------------------------------------------------------------------- paging


async def test_pages_follow_has_more_to_the_end(fsim: WeComSimulator, kfid: str) -> None:
    """25 messages at limit 10 come as 10, 10, 5 with has_more 1, 1, 0, in log order."""
    fsim.fill(kfid, 25)
    async with raw_api(fsim) as api:
        sizes, more, cursor, seen = [], [], None, []
        while True:
            page = await api.sync(
                open_kfid=kfid, limit=10, **({"cursor": cursor} if cursor else {})
            )
            sizes.append(len(page["msg_list"]))
            more.append(page["has_more"])
            seen += page["msg_list"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
    assert (sizes, more) == ([10, 10, 5], [1, 1, 0])
    assert _ids(seen) == _ids(fsim.messages(kfid))


async def test_default_limit_is_1000_and_larger_is_refused(fsim: WeComSimulator, kfid: str) -> None:
    """Without a limit a page holds 1000 messages; 0, 1001 and a string answer 40058."""
    fsim.fill(kfid, 1500)
    async with raw_api(fsim) as api:
        page = await api.sync(open_kfid=kfid)
        assert (len(page["msg_list"]), page["has_more"]) == (1000, 1)
        for bad in (0, 1001, "10", True):
            assert (await api.sync(open_kfid=kfid, limit=bad))["errcode"] == 40058
        assert (await api.sync(open_kfid=kfid, voice_format=2))["errcode"] == 40058
        assert (await api.sync(open_kfid=kfid, voice_format=1, limit=1))["errcode"] == 0


async def test_empty_pages_with_has_more_lose_nothing(fsim: WeComSimulator, kfid: str) -> None:
    """With empty_pages set, empty has_more=1 pages come, and every message still comes once."""
    fsim.fill(kfid, 40, kinds=["text", "image", "enter_session"])
    fsim.empty_pages = 0.5
    async with raw_api(fsim) as api:
        empties, seen, cursor = 0, [], None
        while True:
            page = await api.sync(open_kfid=kfid, limit=3, **({"cursor": cursor} if cursor else {}))
            if not page["msg_list"]:
                empties += 1
                assert page["has_more"] == 1
                assert page["next_cursor"] == (cursor or page["next_cursor"])
            seen += page["msg_list"]
            cursor = page["next_cursor"]
            if not page["has_more"]:
                break
    assert empties >= 3
    assert _ids(seen) == _ids(fsim.messages(kfid))


async def test_empty_pages_follow_the_seed(clock: FakeClock) -> None:
    """Two simulators with one seed serve the same pattern of empty pages; another seed differs."""

    async def pattern(seed: int) -> list[int]:
        sim = WeComSimulator(clock=clock, seed=seed)
        sim.sync_msg_without_token_per_minute = None
        kfid = sim.add_account("Support", open_kfid="wkseeded")
        sim.fill(kfid, 30)
        sim.empty_pages = 0.5
        async with raw_api(sim) as api:
            sizes, cursor = [], None
            while True:
                page = await api.sync(limit=2, **({"cursor": cursor} if cursor else {}))
                sizes.append(len(page["msg_list"]))
                cursor = page["next_cursor"]
                if not page["has_more"]:
                    return sizes

    first = await pattern(1)
    assert first == await pattern(1)
    assert first != await pattern(2)


async def test_scripted_pages_even_empty_at_the_end(fsim: WeComSimulator, kfid: str) -> None:
    """script_pages caps each page; a 0 at the end still says has_more=1, then 0 follows."""
    fsim.fill(kfid, 5)
    fsim.script_pages([2, 0, 10, 0])
    async with raw_api(fsim) as api:
        pages = []
        cursor = None
        for _ in range(5):
            page = await api.sync(open_kfid=kfid, **({"cursor": cursor} if cursor else {}))
            pages.append((len(page["msg_list"]), page["has_more"]))
            cursor = page["next_cursor"]
    assert pages == [(2, 1), (0, 1), (3, 0), (0, 1), (0, 0)]
    with pytest.raises(ValueError, match=">= 0"):
        fsim.script_pages([-1])


async def test_sync_without_open_kfid_reads_every_account(fsim: WeComSimulator) -> None:
    """Without open_kfid the log of every account comes in one order; with it, one account's."""
    first, second = fsim.add_account("A"), fsim.add_account("B")
    a1 = fsim.customer_says(first, UID, {"msgtype": "text", "text": {"content": "1"}})
    b1 = fsim.customer_says(second, UID, {"msgtype": "text", "text": {"content": "2"}})
    a2 = fsim.customer_says(first, UID, {"msgtype": "text", "text": {"content": "3"}})
    async with raw_api(fsim) as api:
        assert _ids(await api.drain(limit=1)) == [a1, b1, a2]
        assert _ids(await api.drain(first, limit=1)) == [a1, a2]
        assert (await api.sync(open_kfid="wknotanaccount"))["errcode"] == 95004
        assert (await api.sync(open_kfid="has space"))["errcode"] == 95000


# --------------------------------------------------------------------- cursors


async def test_cursor_is_opaque_stable_and_short(fsim: WeComSimulator, kfid: str) -> None:
    """The same position gives the same cursor, at most 64 bytes, no plain offset in it."""
    fsim.fill(kfid, 30)
    async with raw_api(fsim) as api:
        first = await api.sync(open_kfid=kfid, limit=10)
        again = await api.sync(open_kfid=kfid, limit=10)
        later = await api.sync(open_kfid=kfid, limit=10, cursor=first["next_cursor"])
    cursors = {first["next_cursor"], later["next_cursor"]}
    assert first["next_cursor"] == again["next_cursor"] == fsim.cursor_for(10, kfid)
    assert later["next_cursor"] == fsim.cursor_for(20, kfid)
    assert len(cursors) == 2
    for cursor in cursors:
        assert len(cursor.encode()) <= 64
        assert "10" not in cursor
        assert "20" not in cursor
        assert not cursor.isdigit()


async def test_cursor_from_the_middle_reads_on(fsim: WeComSimulator, kfid: str) -> None:
    """A cursor handed out earlier still reads from its position after more messages came."""
    fsim.fill(kfid, 3)
    async with raw_api(fsim) as api:
        cursor = (await api.sync(open_kfid=kfid))["next_cursor"]
        new = fsim.customer_says(kfid, UID, {"msgtype": "text", "text": {"content": "again"}})
        page = await api.sync(open_kfid=kfid, cursor=cursor)
    assert (_ids(page["msg_list"]), page["has_more"]) == ([new], 0)


async def test_forged_or_foreign_cursor_is_refused(fsim: WeComSimulator, kfid: str) -> None:
    """A made-up cursor, a changed one and another account's answer the invalid-cursor errcode."""
    other = fsim.add_account("Other")
    fsim.fill(kfid, 5)
    good = fsim.cursor_for(2, kfid)
    tampered = good[:-2] + ("AA" if good[-2:] != "AA" else "BB")
    async with raw_api(fsim) as api:
        for cursor, scope in [("10", kfid), ("!!", kfid), (tampered, kfid), (good, other)]:
            answer = await api.sync(open_kfid=scope, cursor=cursor)
            assert answer["errcode"] == ERR_CURSOR_INVALID, cursor
        assert (await api.sync(cursor=good))["errcode"] == ERR_CURSOR_INVALID
        assert (await api.sync(open_kfid=kfid, cursor="x" * 65))["errcode"] == 40058
        assert (await api.sync(open_kfid=kfid, cursor=good))["errcode"] == 0


async def test_cursor_expires_three_days_after_last_handed_out(
    fsim: WeComSimulator, kfid: str, clock: FakeClock
) -> None:
    """A cursor used again within 3 days stays valid; one left alone for longer is refused."""
    fsim.fill(kfid, 2)
    async with raw_api(fsim) as api:
        cursor = (await api.sync(open_kfid=kfid))["next_cursor"]
        clock.advance(2.5 * DAY)
        again = await api.sync(open_kfid=kfid, cursor=cursor)
        assert (again["errcode"], again["next_cursor"]) == (0, cursor)
        clock.advance(2.5 * DAY)
        assert (await api.sync(open_kfid=kfid, cursor=cursor))["errcode"] == 0
        clock.advance(3 * DAY + 1)
        expired = await api.sync(open_kfid=kfid, cursor=cursor)
    assert expired["errcode"] == ERR_CURSOR_INVALID
    assert "expired" in expired["errmsg"]


async def test_only_the_last_three_days_are_served(
    fsim: WeComSimulator, kfid: str, clock: FakeClock
) -> None:
    """Without a cursor the answer starts at the oldest message of the last 3 days."""
    old = fsim.customer_says(kfid, UID, {"msgtype": "text", "text": {"content": "old"}})
    fsim.fill(kfid, 3, spacing=DAY)  # at 0, 1 and 2 days
    clock.advance(2 * DAY)
    recent = fsim.customer_says(kfid, UID, {"msgtype": "text", "text": {"content": "new"}})
    clock.advance(1.5 * DAY)
    async with raw_api(fsim) as api:
        items = await api.drain(kfid, limit=2)
    generated = _ids(fsim.messages(kfid))[1:4]
    assert old not in _ids(items)
    assert _ids(items) == [*generated[1:], recent]


# ---------------------------------------------------------------- tokens, limit


async def test_token_is_good_for_one_call(fsim: WeComSimulator, kfid: str) -> None:
    """A callback token works once; the same token again answers 95007."""
    fsim.fill(kfid, 3)
    token = fsim.callback_token(kfid)
    assert len(token.encode()) <= 128
    async with raw_api(fsim) as api:
        assert (await api.sync(open_kfid=kfid, token=token))["errcode"] == 0
        assert (await api.sync(open_kfid=kfid, token=token))["errcode"] == ERR_SYNC_TOKEN_INVALID


async def test_token_lives_ten_minutes(fsim: WeComSimulator, kfid: str, clock: FakeClock) -> None:
    """A token used within 10 minutes works; one used after answers 95007."""
    early, late = fsim.callback_token(kfid), fsim.callback_token(kfid)
    clock.advance(599)
    async with raw_api(fsim) as api:
        assert (await api.sync(token=early))["errcode"] == 0
        clock.advance(2)
        assert (await api.sync(token=late))["errcode"] == ERR_SYNC_TOKEN_INVALID


async def test_unknown_or_foreign_token_is_refused(fsim: WeComSimulator, kfid: str) -> None:
    """A made-up token, and one used with another account's open_kfid, answer 95007."""
    other = fsim.add_account("Other")
    token = fsim.callback_token(kfid)
    async with raw_api(fsim) as api:
        assert (await api.sync(token="ENCmadeup"))["errcode"] == ERR_SYNC_TOKEN_INVALID
        assert (await api.sync(open_kfid=other, token=token))["errcode"] == ERR_SYNC_TOKEN_INVALID


async def test_strict_limit_without_token(
    fsim: WeComSimulator, kfid: str, clock: FakeClock
) -> None:
    """Beyond the per-minute limit a call without token answers 45009; with a token it passes."""
    fsim.sync_msg_without_token_per_minute = 3
    clock.now = 1_700_000_080.0  # 20 s before a minute boundary
    async with raw_api(fsim) as api:
        answers = [(await api.sync(open_kfid=kfid))["errcode"] for _ in range(4)]
        with_token = await api.sync(open_kfid=kfid, token=fsim.callback_token(kfid))
        clock.advance(20)
        next_minute = await api.sync(open_kfid=kfid)
        fsim.sync_msg_without_token_per_minute = None
        unlimited = [(await api.sync(open_kfid=kfid))["errcode"] for _ in range(10)]
    assert answers == [0, 0, 0, 45009]
    assert (with_token["errcode"], next_minute["errcode"]) == (0, 0)
    assert set(unlimited) == {0}


def test_strict_limit_has_a_default() -> None:
    """A new simulator limits calls without a token (60 a minute)."""
    assert WeComSimulator().sync_msg_without_token_per_minute == 60


# ------------------------------------------------------------------- contents


async def test_every_documented_msgtype_and_event_is_served(
    fsim: WeComSimulator, kfid: str
) -> None:
    """Each sample msgtype and event type is logged and served with its body."""
    for sample in MESSAGE_SAMPLES.values():
        fsim.customer_says(kfid, UID, sample)
    for event_type, sample in EVENT_SAMPLES.items():
        fields = {k: v for k, v in sample["event"].items() if k not in ("event_type", "open_kfid")}
        uid = UID if fields.pop("external_userid", None) else None
        fsim.add_event(kfid, uid, event_type, **fields)
    async with raw_api(fsim) as api:
        items = await api.drain(kfid)
    messages = {item["msgtype"]: item for item in items if item["msgtype"] != "event"}
    events = {item["event"]["event_type"]: item for item in items if item["msgtype"] == "event"}
    assert set(messages) == set(MESSAGE_SAMPLES)
    assert set(events) == set(EVENT_SAMPLES)
    for msgtype, item in messages.items():
        assert item[msgtype] == MESSAGE_SAMPLES[msgtype][msgtype]
        assert (item["origin"], item["open_kfid"], item["external_userid"]) == (3, kfid, UID)
    for event_type, item in events.items():
        assert item["origin"] == 4
        expected = {**EVENT_SAMPLES[event_type]["event"], "open_kfid": kfid}
        if "external_userid" in expected:
            expected["external_userid"] = UID
        assert item["event"] == expected


async def test_fill_serves_every_kind(fsim: WeComSimulator, kfid: str) -> None:
    """A generated block cycles through every sample kind, customers and times."""
    kinds = [*MESSAGE_SAMPLES, *EVENT_SAMPLES]
    fsim.fill(kfid, 2 * len(kinds), kinds=kinds, customers=["wmA", "wmB"], spacing=1)
    async with raw_api(fsim) as api:
        items = await api.drain(kfid)
    assert len(items) == 2 * len(kinds)
    served = [
        item["event"]["event_type"] if item["msgtype"] == "event" else item["msgtype"]
        for item in items
    ]
    assert served == kinds * 2
    assert items[-1]["send_time"] - items[0]["send_time"] == len(items) - 1
    assert len(set(_ids(items))) == len(items)
    with pytest.raises(ValueError, match="unknown kinds"):
        fsim.fill(kfid, 1, kinds=["hologram"])


async def test_servicer_and_customer_messages(fsim: WeComSimulator, kfid: str) -> None:
    """A servicer's message has origin 5 and its servicer; builders and unknown types pass."""

    class Builder:
        msgtype = "text"

        def body(self) -> dict[str, Any]:
            return {"content": "from a builder"}

    fsim.servicer_says(kfid, UID, "zhangsan", {"msgtype": "text", "text": {"content": "hello"}})
    fsim.customer_says(kfid, UID, Builder())
    fsim.customer_says(kfid, UID, {"msgtype": "hologram", "hologram": {"x": 1}})
    async with raw_api(fsim) as api:
        servicer, built, unknown = await api.drain(kfid)
    assert (servicer["origin"], servicer["servicer_userid"]) == (5, "zhangsan")
    assert (built["origin"], built["text"]) == (3, {"content": "from a builder"})
    assert unknown["hologram"] == {"x": 1}
    with pytest.raises(TypeError):
        fsim.customer_says(kfid, UID, 42)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="add_account"):
        fsim.customer_says("wkmissing", UID, {"msgtype": "text", "text": {"content": "x"}})
    with pytest.raises(ValueError, match="add_account"):
        fsim.fill("wkmissing", 1)


async def test_what_the_app_sent_never_comes_back(fsim: WeComSimulator, kfid: str) -> None:
    """sync_msg serves the customer's message, not the answer send_msg sent."""
    said = fsim.customer_says(kfid, UID, {"msgtype": "text", "text": {"content": "hi"}})
    async with raw_api(fsim) as api:
        assert (await api.send(kfid, UID))["errcode"] == 0
        items = await api.drain(kfid)
    assert _ids(items) == [said]
    assert len(fsim.sent) == 1


def test_a_million_generated_messages_cost_no_memory_per_message(clock: FakeClock) -> None:
    """fill keeps one recipe, and a cursor reads its last page without the rest."""
    sim = WeComSimulator(clock=clock)
    kfid = sim.add_account("Big")
    sim.fill(kfid, 1_000_000)
    log = sim.corp.messages
    assert log.count(kfid) == 1_000_000
    items, after = log.page(kfid, 999_998, 1000, 0)
    assert [item["text"]["content"] for item in items] == ["message 999998", "message 999999"]
    assert after == 1_000_000
    again = WeComSimulator(clock=clock)
    again.add_account("Big", open_kfid=kfid)
    again.fill(kfid, 1_000_000)
    assert again.corp.messages.page(kfid, 999_998, 1, 0)[0] == items[:1]


# --------------------------------------------------------------- control plane


async def test_control_plane_seeds_and_configures(fsim: WeComSimulator, kfid: str) -> None:
    """POST /__sim__/messages fills, logs and hands out tokens; configure sets the knobs."""
    async with raw_api(fsim) as api:
        control = api.client

        async def op(**body: Any) -> httpx.Response:
            return await control.post("/__sim__/messages", json=body)

        assert (await op(op="fill", open_kfid=kfid, count=4)).json()["first_seq"] == 0
        said = (
            await op(
                op="customer_says",
                open_kfid=kfid,
                external_userid=UID,
                message={"msgtype": "text", "text": {"content": "hi"}},
            )
        ).json()
        token = (await op(op="callback_token", open_kfid=kfid)).json()["token"]
        assert (await op(op="count", open_kfid=kfid)).json()["count"] == 5
        assert (await op(op="nope")).status_code == 400
        assert (await op(op="fill", open_kfid=kfid, count=-1)).status_code == 400
        page = await api.sync(open_kfid=kfid, token=token)
        config = await control.post(
            "/__sim__/config", json={"empty_pages": 0.25, "sync_msg_without_token_per_minute": 7}
        )
        bad = await control.post("/__sim__/config", json={"empty_pages": 1.0})
    assert said["msgid"] == page["msg_list"][-1]["msgid"]
    assert config.status_code == 200
    assert bad.status_code == 400
    assert (fsim.empty_pages, fsim.sync_msg_without_token_per_minute) == (0.25, 7)


def test_demo_has_a_conversation() -> None:
    """seed_demo leaves messages on the demo account's log."""
    sim = WeComSimulator()
    sim.seed_demo()
    kfid = next(iter(sim.corp.accounts))
    kinds = [item["msgtype"] for item in sim.messages(kfid)]
    assert kinds == ["event", "text", "text"]
