"""The upgrade service (``kf.customers``): config, recommend, cancel, against the simulator."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from tests.conftest import client_for
from tests.test_sessions import KFID, UID, add_account, sent
from wecom_kf_async import (
    InvalidRequestError,
    InvalidResponseError,
    KfClient,
    KfStateError,
    WeComError,
)
from wecom_kf_async.models import (
    UpgradeGroupChat,
    UpgradeGroupChatRange,
    UpgradeMember,
    UpgradeMemberRange,
    UpgradeServiceConfig,
)
from wecom_kf_async.testing import WeComSimulator, serve
from wecom_kf_async.testing.simulator._state import SimAccount
from wecom_kf_async.testing.simulator.upgrade import (
    CANCEL_UPGRADE_SERVICE,
    ERR_NOT_IN_UPGRADE_RANGE,
    GET_UPGRADE_SERVICE_CONFIG,
    UPGRADE_SERVICE,
)


@pytest.fixture
def account(sim: WeComSimulator) -> SimAccount:
    """The test account, in the simulator's corp."""
    return add_account(sim)


# --------------------------------------------------------------------------- config


async def test_config_reads_the_corp_ranges(sim: WeComSimulator, kf: KfClient) -> None:
    """The config lists the corp's upgrade members, departments and group chats."""
    sim.corp.upgrade_members = ["wangwu"]
    sim.corp.upgrade_departments = [1, 2]
    sim.corp.upgrade_groupchats = ["wrA", "wrB"]
    config = await kf.customers.upgrade_service_config()
    assert config == UpgradeServiceConfig(
        member_range=UpgradeMemberRange(userid_list=["wangwu"], department_id_list=[1, 2]),
        groupchat_range=UpgradeGroupChatRange(chat_id_list=["wrA", "wrB"]),
    )
    assert sim.stats.calls[GET_UPGRADE_SERVICE_CONFIG] == 1


@pytest.mark.parametrize(
    "fields",
    [{"member_range": None, "groupchat_range": {}}, {"member_range": {}, "groupchat_range": None}],
    ids=["no-members", "no-groupchats"],
)
async def test_config_range_left_out_is_empty(
    sim: WeComSimulator, kf: KfClient, fields: dict[str, Any]
) -> None:
    """A range WeCom leaves empty or null reads as an empty range."""
    sim.script(GET_UPGRADE_SERVICE_CONFIG, [fields])
    config = await kf.customers.upgrade_service_config()
    empty = {"member_range": UpgradeMemberRange(), "groupchat_range": UpgradeGroupChatRange()}
    for name in fields:
        assert getattr(config, name) == empty[name]


@pytest.mark.parametrize(
    "fields",
    [
        {"member_range": {"userid_list": "zhangsan"}},
        {"member_range": {"department_id_list": ["2"]}},
        {"groupchat_range": {"chat_id_list": [1]}},
        {"groupchat_range": "wrA"},
    ],
    ids=["userids-as-string", "department-as-string", "chat-id-as-int", "range-as-string"],
)
async def test_config_of_the_wrong_shape_is_invalid_response(
    sim: WeComSimulator, kf: KfClient, fields: dict[str, Any]
) -> None:
    """A config whose lists have the wrong JSON types raises InvalidResponseError."""
    sim.script(GET_UPGRADE_SERVICE_CONFIG, [fields] * 5)
    with pytest.raises(InvalidResponseError):
        await kf.customers.upgrade_service_config()


# ------------------------------------------------------------------- round trip


async def test_recommend_a_member_then_cancel(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A member recommended to a customer is recorded on the session, then withdrawn."""
    config = await kf.customers.upgrade_service_config()
    userid = config.member_range.userid_list[0]
    await kf.customers.upgrade_service(
        KFID, UID, member=UpgradeMember(userid, wording="Your own advisor")
    )
    assert sim.upgrade_of(KFID, UID) == {
        "type": 1,
        "member": {"userid": userid, "wording": "Your own advisor"},
    }
    await kf.customers.cancel_upgrade_service(KFID, UID)
    assert sim.upgrade_of(KFID, UID) is None


async def test_recommend_a_group_chat(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A group chat in range is recommended with type 2; no wording is sent when none given."""
    config = await kf.customers.upgrade_service_config()
    chat_id = config.groupchat_range.chat_id_list[0]
    await kf.customers.upgrade_service(KFID, UID, groupchat=UpgradeGroupChat(chat_id))
    assert sim.upgrade_of(KFID, UID) == {"type": 2, "groupchat": {"chat_id": chat_id}}


async def test_member_in_range_through_a_department(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A member of a department in the range may be recommended."""
    sim.corp.upgrade_members = []
    sim.corp.upgrade_departments = [2]
    await kf.customers.upgrade_service(KFID, UID, member=UpgradeMember("zhangsan"))
    assert sim.upgrade_of(KFID, UID) == {"type": 1, "member": {"userid": "zhangsan"}}


async def test_new_recommendation_replaces_the_last(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A second recommendation replaces the first on the same session."""
    await kf.customers.upgrade_service(KFID, UID, member=UpgradeMember("zhangsan"))
    await kf.customers.upgrade_service(
        KFID, UID, groupchat=UpgradeGroupChat("wrsimgroupchat01", wording="Join us")
    )
    assert sim.upgrade_of(KFID, UID) == {
        "type": 2,
        "groupchat": {"chat_id": "wrsimgroupchat01", "wording": "Join us"},
    }


async def test_cancel_without_a_recommendation_is_fine(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """Cancelling when nothing was recommended succeeds and leaves nothing."""
    await kf.customers.cancel_upgrade_service(KFID, UID)
    assert sim.upgrade_of(KFID, UID) is None
    assert sim.stats.calls[CANCEL_UPGRADE_SERVICE] == 1


async def test_recommendation_is_retried_after_a_lost_answer(
    sim: WeComSimulator, account: SimAccount
) -> None:
    """upgrade_service is safe to repeat: a cut-off answer is retried, the result is the same."""
    sim.script(UPGRADE_SERVICE, ["drop"])
    async with client_for(sim, timeout=0.2) as kf:
        await kf.customers.upgrade_service(KFID, UID, member=UpgradeMember("lisi"))
    assert sim.stats.calls[UPGRADE_SERVICE] == 2
    assert sim.upgrade_of(KFID, UID) == {"type": 1, "member": {"userid": "lisi"}}


async def test_round_trip_over_loopback_http(sim: WeComSimulator, account: SimAccount) -> None:
    """Config, recommend and cancel work against the simulator on a loopback port."""
    async with (
        serve(sim) as base_url,
        KfClient(
            corp_id=sim.corp_id, secret="sim-secret", base_url=base_url, rate_limit=None
        ) as kf,
    ):
        config = await kf.customers.upgrade_service_config()
        await kf.customers.upgrade_service(
            KFID, UID, groupchat=UpgradeGroupChat(config.groupchat_range.chat_id_list[0])
        )
        recommended = sim.upgrade_of(KFID, UID)
        await kf.customers.cancel_upgrade_service(KFID, UID)
    assert recommended is not None
    assert recommended["type"] == 2
    assert sim.upgrade_of(KFID, UID) is None


# -------------------------------------------------------------- simulator errcodes


@pytest.mark.parametrize(
    "recommendation",
    [
        {"member": UpgradeMember("wangwu")},
        {"groupchat": UpgradeGroupChat("wrnotconfigured")},
    ],
    ids=["member", "groupchat"],
)
async def test_out_of_range_is_95021(
    sim: WeComSimulator, kf: KfClient, account: SimAccount, recommendation: dict[str, Any]
) -> None:
    """A member or group chat outside the configured range answers 95021; nothing is kept."""
    with pytest.raises(KfStateError) as raised:
        await kf.customers.upgrade_service(KFID, UID, **recommendation)
    assert raised.value.errcode == ERR_NOT_IN_UPGRADE_RANGE
    assert sim.upgrade_of(KFID, UID) is None


async def test_unknown_account_and_customer(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """An unknown account answers 95004 and an unknown customer 40096, on both calls."""
    member = UpgradeMember("zhangsan")
    calls: tuple[tuple[Any, type[WeComError], int], ...] = (
        (kf.customers.upgrade_service("wknosuch", UID, member=member), KfStateError, 95004),
        (kf.customers.cancel_upgrade_service("wknosuch", UID), KfStateError, 95004),
        (kf.customers.upgrade_service(KFID, "nosuch", member=member), InvalidRequestError, 40096),
        (kf.customers.cancel_upgrade_service(KFID, "nosuch"), InvalidRequestError, 40096),
    )
    for call, error, errcode in calls:
        with pytest.raises(error) as raised:
            await call
        assert raised.value.errcode == errcode


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"type": 3, "member": {"userid": "zhangsan"}}, 40058),
        ({"type": 1}, 40058),
        ({"type": 2, "groupchat": {"chat_id": ""}}, 40058),
        ({"type": 1, "member": {"userid": "zhangsan", "wording": "x" * 2049}}, 40058),
        ({"type": 1, "member": {"userid": "zhangsan", "wording": 5}}, 40058),
        ({"open_kfid": 5, "type": 1, "member": {"userid": "zhangsan"}}, 95000),
    ],
    ids=["bad-type", "member-missing", "empty-chat-id", "long-wording", "wording-int", "kfid"],
)
async def test_malformed_recommendation(
    sim: WeComSimulator, kf: KfClient, account: SimAccount, body: dict[str, Any], errcode: int
) -> None:
    """Requests sent raw with a bad type, object, wording or open_kfid get WeCom's errcode."""
    request = {"open_kfid": KFID, "external_userid": UID, **body}
    with pytest.raises(WeComError) as raised:
        await kf.request("POST", UPGRADE_SERVICE, json=request)
    assert raised.value.errcode == errcode


# -------------------------------------------------------------- bad input, no requests


def test_recommendations_take_the_id_positionally_and_are_frozen() -> None:
    """UpgradeMember("zhangsan", wording=...) and UpgradeGroupChat("wr...") are frozen."""
    member = UpgradeMember("zhangsan", wording="hello")
    chat = UpgradeGroupChat("wrxxx")
    assert (member.userid, member.wording) == ("zhangsan", "hello")
    assert (chat.chat_id, chat.wording) == ("wrxxx", None)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        member.userid = "lisi"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("make", "error", "names"),
    [
        (lambda: UpgradeMember(5), TypeError, "userid"),  # type: ignore[arg-type]
        (lambda: UpgradeMember(""), ValueError, "userid"),
        (lambda: UpgradeMember("x" * 65), ValueError, "userid"),
        (lambda: UpgradeMember("zhangsan", wording=5), TypeError, "wording"),  # type: ignore[arg-type]
        (lambda: UpgradeMember("zhangsan", wording="字" * 683), ValueError, "wording"),
        (lambda: UpgradeGroupChat(None), TypeError, "chat_id"),  # type: ignore[arg-type]
        (lambda: UpgradeGroupChat("wr x"), ValueError, "chat_id"),
        (lambda: UpgradeGroupChat("w" * 257), ValueError, "chat_id"),
    ],
)
def test_bad_recommendation_is_refused_when_made(
    make: Any, error: type[Exception], names: str
) -> None:
    """A recommendation with a bad id or wording cannot be made (nothing to send)."""
    with pytest.raises(error, match=names):
        make()


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({}, ValueError, "exactly one"),
        (
            {"member": UpgradeMember("zhangsan"), "groupchat": UpgradeGroupChat("wrA")},
            ValueError,
            "exactly one",
        ),
        ({"member": "zhangsan"}, TypeError, "member"),
        ({"groupchat": {"chat_id": "wrA"}}, TypeError, "groupchat"),
        ({"member": UpgradeMember("zhangsan"), "open_kfid": "k" * 65}, ValueError, "open_kfid"),
        (
            {"member": UpgradeMember("zhangsan"), "external_userid": "w" * 10_000},
            ValueError,
            "external_userid",
        ),
    ],
)
async def test_bad_upgrade_input_sends_nothing(
    sim: WeComSimulator, kf: KfClient, kwargs: dict[str, Any], error: type[Exception], names: str
) -> None:
    """Bad upgrade_service arguments raise, naming the argument, with zero requests sent."""
    arguments: dict[str, Any] = {"open_kfid": KFID, "external_userid": UID, **kwargs}
    with pytest.raises(error, match=names):
        await kf.customers.upgrade_service(**arguments)
    assert sent(sim) == 0


@pytest.mark.parametrize(
    ("open_kfid", "external_userid", "error"),
    [(None, UID, TypeError), (KFID, "", ValueError), (KFID, "wm\nx", ValueError)],
)
async def test_bad_cancel_input_sends_nothing(
    sim: WeComSimulator, kf: KfClient, open_kfid: Any, external_userid: Any, error: type[Exception]
) -> None:
    """Bad cancel_upgrade_service arguments raise with zero requests sent."""
    with pytest.raises(error):
        await kf.customers.cancel_upgrade_service(open_kfid, external_userid)
    assert sent(sim) == 0
