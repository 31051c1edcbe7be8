"""kf.servicers (servicer/add, servicer/del, servicer/list) against the simulator, and the CLI."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from wecom_kf_async import InvalidResponseError, KfClient, KfError, KfStateError, ServicerError
from wecom_kf_async.models import (
    Servicer,
    ServicerResult,
    ServicerResults,
    ServicerStatus,
    StopType,
)
from wecom_kf_async.resources.servicers import MAX_DEPARTMENTS_PER_CALL, MAX_USERIDS_PER_CALL
from wecom_kf_async.testing import WeComSimulator

from .test_accounts import errcode_of, sent

ADD, DEL, LIST = "kf/servicer/add", "kf/servicer/del", "kf/servicer/list"


@pytest.fixture
def account(sim: WeComSimulator) -> str:
    """A KF account with no servicers yet."""
    return sim.add_account("Support")


def ok(
    userid: str | None = None, department_id: int | None = None, errmsg: str = "success"
) -> ServicerResult:
    """The result of an item that succeeded."""
    return ServicerResult(userid=userid, department_id=department_id, errcode=0, errmsg=errmsg)


# ----------------------------------------------------------------------------- add


async def test_add_members_and_departments(sim: WeComSimulator, kf: KfClient, account: str) -> None:
    """add makes members and whole departments servicers; one result each, users first."""
    results = await kf.servicers.add(account, userids=["lisi", "zhangsan"], department_ids=[1])
    assert list(results) == [ok("lisi"), ok("zhangsan"), ok(department_id=1)]
    assert results.ok
    assert results.failed == []
    assert results.raise_for_failures() is results
    state = sim.corp.accounts[account]
    assert state.departments == {1}
    assert set(state.servicers) == sim.corp.departments[1]
    assert sim.stats.calls[ADD] == 1


async def test_add_reports_a_partial_failure_without_raising(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """A userid not in the corp (60111) and an unknown department (60123) fail alone."""
    results = await kf.servicers.add(
        account, userids=["zhangsan", "ghost"], department_ids=[2, 999]
    )
    assert [r.ok for r in results] == [True, False, True, False]
    assert [(r.describe(), r.errcode) for r in results.failed] == [
        ("userid 'ghost'", 60111),
        ("department_id 999", 60123),
    ]
    assert results.succeeded == [ok("zhangsan"), ok(department_id=2)]
    assert not results.ok
    with pytest.raises(ServicerError) as info:
        results.raise_for_failures()
    error = info.value
    assert isinstance(error, KfError)
    assert error.failed == results.failed
    assert error.path == ADD
    assert "2 servicer item(s) failed on kf/servicer/add" in str(error)
    assert "userid 'ghost' (errcode 60111: userid not found)" in str(error)
    assert "department_id 999 (errcode 60123" in str(error)
    assert "ghost" not in sim.corp.accounts[account].servicers


async def test_adding_again_is_ignored_and_ok(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """WeCom answers a repeat with errcode 0 "ignored": it counts as success."""
    await kf.servicers.add(account, userids=["zhangsan"], department_ids=[2])
    again = await kf.servicers.add(account, userids=["zhangsan"], department_ids=[2])
    assert list(again) == [ok("zhangsan", errmsg="ignored"), ok(department_id=2, errmsg="ignored")]
    assert again.ok


async def test_add_drops_duplicates_keeping_the_first(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """Each distinct userid and department is sent and answered once, in first-seen order."""
    results = await kf.servicers.add(
        account, userids=["lisi", "zhangsan", "lisi"], department_ids=[2, 2]
    )
    assert [r.describe() for r in results] == [
        "userid 'lisi'",
        "userid 'zhangsan'",
        "department_id 2",
    ]


@pytest.mark.parametrize("action", ["add", "delete"])
async def test_more_than_100_userids_are_split_in_input_order(
    sim: WeComSimulator, kf: KfClient, account: str, action: str
) -> None:
    """250 userids go in three calls of at most 100; results keep the input order."""
    userids = [f"member{n:03d}" for n in reversed(range(250))]
    for userid in userids:
        sim.add_member(userid)
    if action == "delete":
        for userid in userids:
            sim.add_servicer(account, userid)
    sim.shuffle = True  # WeCom's result_list order is not the request's
    results = await getattr(kf.servicers, action)(account, userids=userids)
    assert [r.userid for r in results] == userids
    assert results.ok
    path = ADD if action == "add" else DEL
    assert sim.stats.calls[path] == 3
    servicers = set(sim.corp.accounts[account].servicers)
    assert servicers == (set(userids) if action == "add" else set())


async def test_userids_and_departments_are_split_alongside(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """150 userids and 120 departments take two calls; users come first, then departments."""
    userids = [f"u{n}" for n in range(150)]
    departments = list(range(100, 220))
    for n, userid in enumerate(userids):
        sim.add_member(userid, department_ids=[departments[n % len(departments)]])
    results = await kf.servicers.add(account, userids=userids, department_ids=departments)
    assert [r.userid for r in results[:150]] == userids
    assert [r.department_id for r in results[150:]] == departments
    assert results.ok
    assert sim.stats.calls[ADD] == 2
    assert MAX_USERIDS_PER_CALL == MAX_DEPARTMENTS_PER_CALL == 100


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({}, ValueError, "at least one"),
        ({"userids": [], "department_ids": []}, ValueError, "at least one"),
        ({"userids": "zhangsan"}, TypeError, "userids"),
        ({"userids": [""]}, ValueError, r"userids\[0\]"),
        ({"userids": ["ok", "a b"]}, ValueError, r"userids\[1\]"),
        ({"userids": ["u" * 65]}, ValueError, r"userids\[0\]"),
        ({"userids": [5]}, TypeError, r"userids\[0\]"),
        ({"department_ids": [0]}, ValueError, r"department_ids\[0\]"),
        ({"department_ids": ["2"]}, TypeError, r"department_ids\[0\]"),
        ({"department_ids": [True]}, TypeError, r"department_ids\[0\]"),
        ({"department_ids": 2}, TypeError, "department_ids"),
    ],
)
@pytest.mark.parametrize("action", ["add", "delete"])
async def test_bad_input_is_refused_before_any_request(
    sim: WeComSimulator,
    kf: KfClient,
    account: str,
    action: str,
    kwargs: dict[str, Any],
    error: type,
    match: str,
) -> None:
    """add and delete check every id, and need at least one; nothing is sent otherwise."""
    with pytest.raises(error, match=match):
        await getattr(kf.servicers, action)(account, **kwargs)
    assert sent(sim) == 0


@pytest.mark.parametrize(("open_kfid", "error"), [("", ValueError), (None, TypeError)])
async def test_a_bad_open_kfid_is_refused_before_any_request(
    sim: WeComSimulator, kf: KfClient, open_kfid: Any, error: type
) -> None:
    """add, delete and list refuse a malformed open_kfid, naming it."""
    with pytest.raises(error, match="open_kfid"):
        await kf.servicers.add(open_kfid, userids=["zhangsan"])
    with pytest.raises(error, match="open_kfid"):
        await kf.servicers.delete(open_kfid, userids=["zhangsan"])
    with pytest.raises(error, match="open_kfid"):
        await kf.servicers.list(open_kfid)
    assert sent(sim) == 0


@pytest.mark.parametrize("action", ["add", "delete"])
async def test_an_unknown_account_raises_95004(
    sim: WeComSimulator, kf: KfClient, action: str
) -> None:
    """An account that does not exist fails the whole call with 95004."""
    with pytest.raises(KfStateError) as info:
        await getattr(kf.servicers, action)("wkNoSuchAccount", userids=["zhangsan"])
    assert info.value.errcode == 95004


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"open_kfid": "wkNoSuchAccount", "userid_list": ["zhangsan"]}, 95004),
        ({"open_kfid": "", "userid_list": ["zhangsan"]}, 95000),
        ({"open_kfid": "KNOWN"}, 40058),
        ({"open_kfid": "KNOWN", "userid_list": [], "department_id_list": []}, 40058),
        ({"open_kfid": "KNOWN", "userid_list": [f"u{n}" for n in range(101)]}, 40058),
        ({"open_kfid": "KNOWN", "department_id_list": list(range(1, 102))}, 40058),
        ({"open_kfid": "KNOWN", "userid_list": "zhangsan"}, 40058),
        ({"open_kfid": "KNOWN", "department_id_list": ["2"]}, 40058),
    ],
)
@pytest.mark.parametrize("path", [ADD, DEL])
async def test_simulator_answers_the_documented_errcodes(
    sim: WeComSimulator,
    kf: KfClient,
    account: str,
    path: str,
    body: dict[str, Any],
    errcode: int,
) -> None:
    """servicer/add and /del: 95000/95004 for the account, 40058 for empty or oversized lists."""
    if body["open_kfid"] == "KNOWN":
        body = {**body, "open_kfid": account}
    assert await errcode_of(kf, path, body) == errcode
    assert not sim.corp.accounts[account].servicers


async def test_an_answer_leaving_an_item_out_raises_invalid_response(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """A result_list without one of the ids is a malformed answer; repeating the call is safe."""
    sim.script(ADD, [{"result_list": [{"userid": "zhangsan", "errcode": 0, "errmsg": "ok"}]}])
    with pytest.raises(InvalidResponseError, match="lisi"):
        await kf.servicers.add(account, userids=["zhangsan", "lisi"])
    results = await kf.servicers.add(account, userids=["zhangsan", "lisi"])
    assert results.ok


async def test_add_is_retried_after_a_cut_answer(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """servicer/add is idempotent: a cut-off answer is followed by a repeat, answered "ignored"."""
    sim.script(ADD, ["drop"])
    results = await kf.servicers.add(account, userids=["zhangsan"])
    assert list(results) == [ok("zhangsan", errmsg="ignored")]
    assert sim.stats.calls[ADD] == 2


# -------------------------------------------------------------------------- delete


async def test_delete_removes_members_and_departments(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """delete removes servicers; one not serving is "ignored", one not in the corp fails."""
    sim.add_servicer(account, "zhangsan")
    await kf.servicers.add(account, department_ids=[2])
    results = await kf.servicers.delete(
        account, userids=["zhangsan", "wangwu", "ghost"], department_ids=[2, 1, 999]
    )
    assert [(r.errcode, r.errmsg) for r in results] == [
        (0, "success"),
        (0, "ignored"),
        (60111, "userid not found"),
        (0, "success"),
        (0, "ignored"),
        (60123, "invalid department"),
    ]
    state = sim.corp.accounts[account]
    assert (state.servicers, state.departments) == ({}, set())


async def test_removing_a_member_a_department_still_brings_in(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """A member removed by userid keeps serving through an added department, until it goes too."""
    await kf.servicers.add(account, userids=["zhangsan"], department_ids=[2])
    await kf.servicers.delete(account, userids=["zhangsan"])
    assert sim.corp.accounts[account].servicers["zhangsan"].department_id == 2
    await kf.servicers.delete(account, department_ids=[2])
    assert sim.corp.accounts[account].servicers == {}


async def test_delete_is_retried_after_a_cut_answer(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """servicer/del is idempotent: retried after a cut-off answer, the servicer ends up gone."""
    sim.add_servicer(account, "zhangsan")
    sim.script(DEL, ["drop"])
    results = await kf.servicers.delete(account, userids=["zhangsan"])
    assert results.ok
    assert sim.stats.calls[DEL] == 2
    assert not sim.corp.accounts[account].servicers


# ---------------------------------------------------------------------------- list


async def test_list_shows_members_with_status_and_departments(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """list (a GET) gives members with status/stop_type as enums, then departments."""
    sim.add_servicer(account, "zhangsan")
    sim.add_servicer(account, "lisi", status=1, stop_type=1)
    await kf.servicers.add(account, department_ids=[2])
    servicers = await kf.servicers.list(account)
    assert servicers == [
        Servicer(userid="zhangsan", status=ServicerStatus.RECEIVING),
        Servicer(userid="lisi", status=ServicerStatus.STOPPED, stop_type=StopType.SUSPENDED),
        Servicer(department_id=2),
    ]
    assert isinstance(servicers[1].stop_type, StopType)
    assert [s.is_department for s in servicers] == [False, False, True]
    assert sim.stats.calls[LIST] == 1


async def test_list_keeps_an_undocumented_status_as_an_int(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """A status WeCom has not documented survives as a plain int."""
    sim.add_servicer(account, "zhangsan", status=7)
    [servicer] = await kf.servicers.list(account)
    assert servicer.status == 7
    assert not isinstance(servicer.status, ServicerStatus)


async def test_list_without_manage_privilege_has_no_status(
    sim: WeComSimulator, kf: KfClient
) -> None:
    """For an account the app may not manage, WeCom leaves status out: it is None."""
    account = sim.add_account("Elsewhere", manage_privilege=False)
    sim.add_servicer(account, "zhangsan")
    assert await kf.servicers.list(account) == [Servicer(userid="zhangsan")]


async def test_list_of_an_unknown_account_raises_95004(sim: WeComSimulator, kf: KfClient) -> None:
    """servicer/list: 95004 for an unknown account, 95000 for a malformed one."""
    with pytest.raises(KfStateError) as info:
        await kf.servicers.list("wkNoSuchAccount")
    assert info.value.errcode == 95004
    assert await errcode_of(kf, LIST, {"open_kfid": ""}, method="GET") == 95000


async def test_list_of_the_wrong_shape_raises_invalid_response(
    sim: WeComSimulator, kf: KfClient, account: str
) -> None:
    """A status that is not an integer is a malformed answer."""
    sim.script(LIST, [{"servicer_list": [{"userid": "zhangsan", "status": "0"}]}])
    with pytest.raises(InvalidResponseError, match="wrong shape"):
        await kf.servicers.list(account)


# --------------------------------------------------------------- results and seeding


def test_results_are_a_sequence() -> None:
    """ServicerResults indexes, slices, iterates and compares like the list of its items."""
    items = [ok("a"), ServicerResult(department_id=3, errcode=60123, errmsg="x")]
    results = ServicerResults(items, path=ADD)
    assert (len(results), results[0], list(results[1:])) == (2, items[0], items[1:])
    assert results == items
    assert results == ServicerResults(items)
    assert results != ServicerResults(items[:1])
    assert results.failed == items[1:]


def test_servicer_error_pickles_with_its_failures() -> None:
    """ServicerError crosses process boundaries (task queues) with its failed items."""
    failed = [ServicerResult(userid="ghost", errcode=60111, errmsg="userid not found")]
    error = pickle.loads(pickle.dumps(ServicerError(failed, path=ADD)))  # noqa: S301 - our own bytes
    assert (error.failed, error.path, str(error)) == (
        failed,
        ADD,
        "1 servicer item(s) failed on kf/servicer/add: userid 'ghost' "
        "(errcode 60111: userid not found)",
    )


def test_servicer_error_lists_at_most_ten_items() -> None:
    """A long list of failures is cut after ten, saying how many more there are."""
    failed = [ServicerResult(userid=f"u{n}", errcode=60111, errmsg="no") for n in range(25)]
    assert str(ServicerError(failed)).endswith("and 15 more")


def test_add_member_in_a_department_that_serves(sim: WeComSimulator, account: str) -> None:
    """A member joining a department added as a whole serves its accounts at once."""
    sim.corp.accounts[account].departments.add(2)
    sim.add_member("newbie", department_ids=[2, 77])
    assert "newbie" in sim.corp.members
    assert sim.corp.departments[77] == {"newbie"}
    assert sim.corp.accounts[account].servicers["newbie"].department_id == 2


def test_add_servicer_needs_an_existing_account(sim: WeComSimulator) -> None:
    """Seeding a servicer of an account that does not exist raises KeyError."""
    with pytest.raises(KeyError):
        sim.add_servicer("wkNoSuchAccount", "zhangsan")
