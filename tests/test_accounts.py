"""kf.accounts (account/add, /update, /del, /list) against the simulator, and its seeding."""

from __future__ import annotations

from typing import Any

import pytest

from wecom_kf_async import (
    InvalidRequestError,
    InvalidResponseError,
    KfClient,
    KfStateError,
    OutcomeUnknownError,
)
from wecom_kf_async.models import Account
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET, WeComSimulator, serve
from wecom_kf_async.testing.simulator._state import SimMedia, SimSession

from .conftest import client_for

ADD, DEL, UPDATE, LIST = "kf/account/add", "kf/account/del", "kf/account/update", "kf/account/list"


def seed_media(sim: WeComSimulator, media_id: str = "3media_avatar_1") -> str:
    """Put an uploaded image into the simulated corp, as media/upload would."""
    sim.corp.media[media_id] = SimMedia(
        media_id=media_id, type="image", filename="logo.png", size=4096, created_at=0
    )
    return media_id


def sent(sim: WeComSimulator) -> int:
    """Requests the simulator received, token requests included."""
    return sum(sim.stats.calls.values())


async def errcode_of(kf: KfClient, path: str, body: dict[str, Any], method: str = "POST") -> int:
    """Send *body* as is (no client-side checks) and return the errcode WeCom-sim answers."""
    try:
        if method == "GET":
            await kf.request("GET", path, params=body)
        else:
            await kf.request("POST", path, json=body)
    except InvalidRequestError as exc:
        return exc.errcode
    except KfStateError as exc:
        return exc.errcode
    return 0


# ----------------------------------------------------------------------------- add


async def test_add_creates_an_account_with_the_uploaded_avatar(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """account/add returns a new wk... open_kfid; the corp holds the account with its avatar."""
    media_id = seed_media(sim)
    open_kfid = await kf.accounts.add(name="Support", media_id=media_id)
    assert open_kfid.startswith("wk")
    assert len(open_kfid) == 32
    account = sim.corp.accounts[open_kfid]
    assert (account.name, account.media_id) == ("Support", media_id)
    assert sim.stats.calls[ADD] == 1


async def test_add_takes_sixteen_characters_of_any_script(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """The name limit counts characters, not bytes: 16 CJK characters pass both sides."""
    name = "客服" * 8
    open_kfid = await kf.accounts.add(name=name, media_id=sim.add_media())
    assert sim.corp.accounts[open_kfid].name == name


@pytest.mark.parametrize(
    ("name", "media_id", "error", "argument"),
    [
        ("x" * 17, "m", ValueError, "name"),
        ("客" * 17, "m", ValueError, "name"),
        ("", "m", ValueError, "name"),
        ("   ", "m", ValueError, "name"),
        (5, "m", TypeError, "name"),
        ("ok", "", ValueError, "media_id"),
        ("ok", "has space", ValueError, "media_id"),
        ("ok", "m" * 129, ValueError, "media_id"),
        ("ok", None, TypeError, "media_id"),
    ],
)
async def test_add_refuses_bad_input_before_any_request(
    sim: WeComSimulator, kf: KfClient, name: Any, media_id: Any, error: type, argument: str
) -> None:
    """A bad name or media_id raises naming the argument, and nothing is sent."""
    with pytest.raises(error, match=argument):
        await kf.accounts.add(name=name, media_id=media_id)
    assert sent(sim) == 0
    assert not sim.corp.accounts


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"name": "x" * 17, "media_id": "M"}, 40058),
        ({"name": "", "media_id": "M"}, 40058),
        ({"media_id": "M"}, 40058),
        ({"name": "ok", "media_id": "never-uploaded"}, 40007),
        ({"name": "ok"}, 40007),
    ],
)
async def test_simulator_add_answers_the_documented_errcodes(
    sim: WeComSimulator, kf: KfClient, body: dict[str, Any], errcode: int
) -> None:
    """The simulator refuses a bad name (40058) and an unknown media_id (40007); no account."""
    seed_media(sim, "M")
    assert await errcode_of(kf, ADD, body) == errcode
    assert not sim.corp.accounts


async def test_unknown_media_id_raises_invalid_request(sim: WeComSimulator, kf: KfClient) -> None:
    """An avatar media_id the corp never uploaded raises InvalidRequestError 40007."""
    with pytest.raises(InvalidRequestError) as info:
        await kf.accounts.add(name="Support", media_id="never-uploaded")
    assert info.value.errcode == 40007


@pytest.mark.parametrize("fault", ["lost", "drop"])
async def test_add_with_an_unknown_outcome_creates_exactly_one_account(
    sim: WeComSimulator, fault: str
) -> None:
    """The account is made, the answer lost or cut: OutcomeUnknownError, exactly one account."""
    media_id = seed_media(sim)
    sim.script(ADD, [fault])
    async with client_for(sim, timeout=0.2) as kf:
        with pytest.raises(OutcomeUnknownError) as info:
            await kf.accounts.add(name="Support", media_id=media_id)
        assert "kf.accounts.list()" in info.value.check
        assert info.value.path == ADD
        assert sim.stats.calls[ADD] == 1
        assert len(sim.corp.accounts) == 1
        # What the error says to check finds the account.
        assert [a.name for a in await kf.accounts.list()] == ["Support"]


async def test_add_after_a_proxy_502_is_not_retried(sim: WeComSimulator, kf: KfClient) -> None:
    """A 502 may come after the work was done: add raises OutcomeUnknown and does not resend."""
    sim.script(ADD, ["http502"])
    with pytest.raises(OutcomeUnknownError):
        await kf.accounts.add(name="Support", media_id=sim.add_media())
    assert sim.stats.calls[ADD] == 1


async def test_add_is_retried_after_an_errcode_that_did_nothing(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """WeCom answering -1 (busy) did nothing, so add is retried and creates one account."""
    sim.script(ADD, [-1])
    await kf.accounts.add(name="Support", media_id=sim.add_media())
    assert sim.stats.calls[ADD] == 2
    assert len(sim.corp.accounts) == 1


async def test_add_over_loopback_http_with_a_lost_answer(sim: WeComSimulator) -> None:
    """Over a real socket too, a lost answer to account/add leaves exactly one account."""
    media_id = seed_media(sim)
    sim.script(ADD, ["lost"])
    async with (
        serve(sim) as base_url,
        KfClient(
            corp_id=SIM_CORP_ID, secret=SIM_SECRET, base_url=base_url, timeout=0.3, rate_limit=None
        ) as kf,
    ):
        with pytest.raises(OutcomeUnknownError):
            await kf.accounts.add(name="Support", media_id=media_id)
        accounts = await kf.accounts.list()
    assert [a.name for a in accounts] == ["Support"]
    assert len(sim.corp.accounts) == 1


# -------------------------------------------------------------------------- update


async def test_update_renames_and_changes_the_avatar(sim: WeComSimulator, kf: KfClient) -> None:
    """update sends only what is given: the name, the avatar, or both."""
    open_kfid = sim.add_account("Support")
    before = sim.corp.accounts[open_kfid].avatar
    await kf.accounts.update(open_kfid, name="Help desk")
    assert sim.corp.accounts[open_kfid].name == "Help desk"
    assert sim.corp.accounts[open_kfid].avatar == before
    await kf.accounts.update(open_kfid, media_id=seed_media(sim, "new-logo"))
    account = sim.corp.accounts[open_kfid]
    assert (account.name, account.media_id) == ("Help desk", "new-logo")
    assert account.avatar != before
    await kf.accounts.update(open_kfid, name="Sales", media_id=seed_media(sim, "other"))
    assert (account.name, account.media_id) == ("Sales", "other")


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        (("wkA",), {}, ValueError, "name or media_id"),
        (("wkA",), {"name": "x" * 17}, ValueError, "name"),
        (("wkA",), {"media_id": ""}, ValueError, "media_id"),
        (("",), {"name": "ok"}, ValueError, "open_kfid"),
        (("w" * 65,), {"name": "ok"}, ValueError, "open_kfid"),
        ((7,), {"name": "ok"}, TypeError, "open_kfid"),
    ],
)
async def test_update_refuses_bad_input_before_any_request(
    sim: WeComSimulator,
    kf: KfClient,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    error: type,
    match: str,
) -> None:
    """update needs a name or a media_id and checks each; nothing is sent otherwise."""
    with pytest.raises(error, match=match):
        await kf.accounts.update(*args, **kwargs)
    assert sent(sim) == 0


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"open_kfid": "wkUnknown", "name": "x"}, 95004),
        ({"open_kfid": "", "name": "x"}, 95000),
        ({"open_kfid": 5, "name": "x"}, 95000),
        ({"name": "x"}, 95000),
        ({"open_kfid": "KNOWN", "name": "x" * 17}, 40058),
        ({"open_kfid": "KNOWN", "media_id": "never-uploaded"}, 40007),
        ({"open_kfid": "KNOWN"}, 40058),
    ],
)
async def test_simulator_update_answers_the_documented_errcodes(
    sim: WeComSimulator, kf: KfClient, body: dict[str, Any], errcode: int
) -> None:
    """account/update: 95000 malformed, 95004 unknown, 40058 bad or no name, 40007 bad avatar."""
    open_kfid = sim.add_account("Support")
    if body.get("open_kfid") == "KNOWN":
        body = {**body, "open_kfid": open_kfid}
    assert await errcode_of(kf, UPDATE, body) == errcode
    assert sim.corp.accounts[open_kfid].name == "Support"


# -------------------------------------------------------------------------- delete


async def test_delete_removes_the_account_and_its_sessions(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """delete removes the account (and its sessions); deleting it again raises 95004."""
    open_kfid = sim.add_account("Support")
    keep = sim.add_account("Sales")
    sim.corp.sessions[(open_kfid, "wmA")] = SimSession(open_kfid=open_kfid, external_userid="wmA")
    assert await kf.accounts.delete(open_kfid) is None
    assert list(sim.corp.accounts) == [keep]
    assert not any(key[0] == open_kfid for key in sim.corp.sessions)
    with pytest.raises(KfStateError) as info:
        await kf.accounts.delete(open_kfid)
    assert info.value.errcode == 95004


async def test_delete_retried_after_a_cut_answer_counts_95004_as_done(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """The first delete is done but its answer cut off; the retry's 95004 means it was done."""
    open_kfid = sim.add_account("Support")
    sim.script(DEL, ["drop"])
    await kf.accounts.delete(open_kfid)
    assert sim.stats.calls[DEL] == 2
    assert sim.stats.errors[95004] == 1
    assert not sim.corp.accounts


@pytest.mark.parametrize(
    ("open_kfid", "error"), [("", ValueError), ("a b", ValueError), (None, TypeError)]
)
async def test_delete_refuses_bad_input_before_any_request(
    sim: WeComSimulator, kf: KfClient, open_kfid: Any, error: type
) -> None:
    """A malformed open_kfid raises naming it, and nothing is sent."""
    with pytest.raises(error, match="open_kfid"):
        await kf.accounts.delete(open_kfid)
    assert sent(sim) == 0


@pytest.mark.parametrize(
    ("body", "errcode"),
    [({"open_kfid": "wkUnknown"}, 95004), ({"open_kfid": "x" * 65}, 95000), ({}, 95000)],
)
async def test_simulator_delete_answers_the_documented_errcodes(
    sim: WeComSimulator, kf: KfClient, body: dict[str, Any], errcode: int
) -> None:
    """account/del: 95000 for a malformed open_kfid, 95004 for an unknown one."""
    sim.add_account("Support")
    assert await errcode_of(kf, DEL, body) == errcode
    assert len(sim.corp.accounts) == 1


# ---------------------------------------------------------------------------- list


@pytest.mark.parametrize(("count", "calls"), [(0, 1), (3, 1), (100, 2), (205, 3)])
async def test_list_reads_every_page(
    sim: WeComSimulator, kf: KfClient, count: int, calls: int
) -> None:
    """list pages 100 at a time until a short page, returning every account in order."""
    ids = [sim.add_account(f"Account {n}") for n in range(count)]
    accounts = await kf.accounts.list()
    assert [a.open_kfid for a in accounts] == ids
    assert sim.stats.calls[LIST] == calls


async def test_list_reports_every_field(sim: WeComSimulator, kf: KfClient) -> None:
    """Each Account carries open_kfid, name, avatar and manage_privilege."""
    mine = sim.add_account("Support")
    theirs = sim.add_account("Elsewhere", open_kfid="wkTheirs", manage_privilege=False)
    by_id = {a.open_kfid: a for a in await kf.accounts.list()}
    assert by_id[mine].manage_privilege is True
    assert by_id[mine].avatar == sim.corp.accounts[mine].avatar
    assert by_id[theirs] == Account(
        open_kfid="wkTheirs",
        name="Elsewhere",
        avatar=sim.corp.accounts["wkTheirs"].avatar,
        manage_privilege=False,
    )


async def test_list_tolerates_left_out_and_unknown_fields(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """An entry without avatar or manage_privilege, with a new field, still structures."""
    sim.script(LIST, [{"account_list": [{"open_kfid": "wkA", "name": "A", "new": 1}]}])
    assert await kf.accounts.list() == [Account(open_kfid="wkA", name="A")]


async def test_list_of_the_wrong_shape_raises_invalid_response(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """An open_kfid that is not a string is a malformed answer, not a crash."""
    sim.script(LIST, [{"account_list": [{"open_kfid": 5, "name": "A"}]}])
    with pytest.raises(InvalidResponseError, match="wrong shape"):
        await kf.accounts.list()


@pytest.mark.parametrize(
    "body",
    [{"limit": 0}, {"limit": 101}, {"limit": "5"}, {"offset": -1}, {"offset": True}],
)
async def test_simulator_list_refuses_bad_paging(
    sim: WeComSimulator, kf: KfClient, body: dict[str, Any]
) -> None:
    """account/list takes offset >= 0 and limit 1 to 100, else 40058."""
    assert await errcode_of(kf, LIST, body) == 40058


async def test_simulator_list_pages_by_offset_and_limit(sim: WeComSimulator, kf: KfClient) -> None:
    """offset and limit select a window of the accounts in creation order."""
    ids = [sim.add_account(f"A{n}") for n in range(5)]
    answer = await kf.request("POST", LIST, json={"offset": 1, "limit": 2})
    assert [a["open_kfid"] for a in answer["account_list"]] == ids[1:3]


# ------------------------------------------------------------------------- seeding


def test_seeded_ids_follow_the_seed() -> None:
    """Account ids look random but are the same for the same seed, and differ across seeds."""
    first = [WeComSimulator(seed=1).add_account("A") for _ in range(2)]
    again = WeComSimulator(seed=1).add_account("A")
    other = WeComSimulator(seed=2).add_account("A")
    assert first[0] == first[1] == again
    assert other != again


def test_add_account_refuses_a_taken_or_malformed_id(sim: WeComSimulator) -> None:
    """Seeding an id twice, or one the endpoints would call malformed, raises ValueError."""
    sim.add_account("A", open_kfid="wkFixed")
    with pytest.raises(ValueError, match="exists"):
        sim.add_account("B", open_kfid="wkFixed")
    with pytest.raises(ValueError, match="64 bytes"):
        sim.add_account("B", open_kfid="x" * 65)
    assert sim.corp.accounts["wkFixed"].media_id in sim.corp.media


def test_seed_demo_adds_one_account_with_two_servicers(sim: WeComSimulator) -> None:
    """The demo corp has 'Demo support', served by zhangsan (receiving) and lisi (stopped)."""
    sim.seed_demo()
    demo = [a for a in sim.corp.accounts.values() if a.name == "Demo support"]
    assert len(demo) == 1
    servicers = demo[0].servicers
    assert (servicers["zhangsan"].status, servicers["lisi"].status) == (0, 1)
