"""Sessions: the simulator's errcodes, bad input, lost answers, seeding."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import client_for
from tests.test_sessions import KFID, UID, add_account, sent
from wecom_kf_async import (
    InvalidRequestError,
    KfClient,
    KfStateError,
    OutcomeUnknownError,
    WeComError,
)
from wecom_kf_async.models import ServiceState, SessionState
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator._state import SimAccount
from wecom_kf_async.testing.simulator.sessions import (
    DEMO_CUSTOMER,
    ERR_NOT_RECEIVING,
    ERR_NOT_SERVICER,
    SERVICE_STATE_GET,
    SERVICE_STATE_TRANS,
)


@pytest.fixture
def account(sim: WeComSimulator) -> SimAccount:
    """The test account, in the simulator's corp."""
    return add_account(sim)


# ---------------------------------------------------------------- simulator errcodes


async def test_unknown_account_is_95004(sim: WeComSimulator, kf: KfClient) -> None:
    """An open_kfid the corp does not have answers 95004 on both endpoints."""
    for call in (
        kf.sessions.get_state("wknosuchaccount", UID),
        kf.sessions.transfer("wknosuchaccount", UID, ServiceState.QUEUED),
    ):
        with pytest.raises(KfStateError) as raised:
            await call
        assert raised.value.errcode == 95004


@pytest.mark.parametrize("path", [SERVICE_STATE_GET, SERVICE_STATE_TRANS])
async def test_malformed_open_kfid_is_95000(
    sim: WeComSimulator, kf: KfClient, account: SimAccount, path: str
) -> None:
    """An open_kfid that is not a string (sent raw) answers 95000."""
    with pytest.raises(KfStateError) as raised:
        await kf.request("POST", path, json={"open_kfid": 5, "external_userid": UID})
    assert raised.value.errcode == 95000


async def test_unknown_customer_is_40096(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A customer WeCom does not know, or one forgotten after 48 hours, answers 40096."""
    with pytest.raises(InvalidRequestError) as raised:
        await kf.sessions.get_state(KFID, "nosuchcustomer")
    assert raised.value.errcode == 40096
    sim.set_session(KFID, UID, 1)
    sim.forget(UID)
    with pytest.raises(InvalidRequestError) as raised:
        await kf.sessions.transfer(KFID, UID, ServiceState.QUEUED)
    assert raised.value.errcode == 40096


async def test_servicer_of_another_account_is_95014(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A servicer_userid that does not serve the account answers 95014; nothing moves."""
    with pytest.raises(KfStateError) as raised:
        await kf.sessions.transfer(KFID, UID, ServiceState.SERVICER, servicer_userid="wangwu")
    assert raised.value.errcode == ERR_NOT_SERVICER
    assert sim.corp.sessions == {}


async def test_stopped_servicer_is_95019(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A servicer who stopped receiving answers 95019; nothing moves."""
    sim.set_session(KFID, UID, 1)
    with pytest.raises(KfStateError) as raised:
        await kf.sessions.transfer(KFID, UID, ServiceState.SERVICER, servicer_userid="lisi")
    assert raised.value.errcode == ERR_NOT_RECEIVING
    assert sim.session(KFID, UID).state == 1


@pytest.mark.parametrize(
    "body",
    [
        {"service_state": 3},
        {"service_state": "2"},
        {"service_state": True},
    ],
    ids=["servicer-missing", "state-as-string", "state-as-bool"],
)
async def test_malformed_move_is_40058(
    sim: WeComSimulator, kf: KfClient, account: SimAccount, body: dict[str, Any]
) -> None:
    """A move sent raw without a servicer for 3, or with a non-integer state, answers 40058."""
    with pytest.raises(WeComError) as raised:
        await kf.request(
            "POST", SERVICE_STATE_TRANS, json={"open_kfid": KFID, "external_userid": UID, **body}
        )
    assert raised.value.errcode == 40058


# -------------------------------------------------------------- bad input, no requests


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"service_state": ServiceState.SERVICER}, ValueError, "servicer_userid"),
        ({"service_state": 2, "servicer_userid": "zhangsan"}, ValueError, "servicer_userid"),
        ({"service_state": 4, "servicer_userid": "zhangsan"}, ValueError, "servicer_userid"),
        ({"service_state": 7}, ValueError, "service_state"),
        ({"service_state": "3"}, ValueError, "service_state"),
        ({"service_state": True}, TypeError, "service_state"),
        ({"service_state": 3, "servicer_userid": 5}, TypeError, "servicer_userid"),
        ({"service_state": 3, "servicer_userid": "a b"}, ValueError, "servicer_userid"),
        ({"service_state": 3, "servicer_userid": "x" * 65}, ValueError, "servicer_userid"),
        ({"service_state": 2, "current": "queued"}, TypeError, "current"),
        ({"service_state": 2, "current": True}, TypeError, "current"),
        ({"service_state": 2, "open_kfid": "k" * 65}, ValueError, "open_kfid"),
        ({"service_state": 2, "external_userid": "w" * 10_000}, ValueError, "external_userid"),
        ({"service_state": 2, "external_userid": None}, TypeError, "external_userid"),
    ],
)
async def test_bad_transfer_input_sends_nothing(
    sim: WeComSimulator,
    kf: KfClient,
    kwargs: dict[str, Any],
    error: type[Exception],
    names: str,
) -> None:
    """Bad transfer arguments raise, naming the argument, with zero requests sent."""
    arguments: dict[str, Any] = {"open_kfid": KFID, "external_userid": UID, **kwargs}
    with pytest.raises(error, match=names):
        await kf.sessions.transfer(**arguments)
    assert sent(sim) == 0


@pytest.mark.parametrize(
    ("open_kfid", "external_userid", "error", "names"),
    [
        (5, UID, TypeError, "open_kfid"),
        ("", UID, ValueError, "open_kfid"),
        (KFID, "w" * 257, ValueError, "external_userid"),
        (KFID, "wm x", ValueError, "external_userid"),
    ],
)
async def test_bad_get_state_input_sends_nothing(
    sim: WeComSimulator,
    kf: KfClient,
    open_kfid: Any,
    external_userid: Any,
    error: type[Exception],
    names: str,
) -> None:
    """Bad get_state arguments raise, naming the argument, with zero requests sent."""
    with pytest.raises(error, match=names):
        await kf.sessions.get_state(open_kfid, external_userid)
    assert sent(sim) == 0


# ------------------------------------------------------------------ outcome unknown


@pytest.mark.parametrize("fault", ["lost", "drop"])
async def test_lost_answer_is_outcome_unknown_and_moves_once(
    sim: WeComSimulator, account: SimAccount, fault: str
) -> None:
    """A move whose answer is lost is done exactly once and raises OutcomeUnknownError."""
    sim.hang_seconds = 5.0
    sim.set_session(KFID, UID, ServiceState.BOT)
    sim.script(SERVICE_STATE_TRANS, [fault])
    async with client_for(sim, timeout=0.2) as kf:
        with pytest.raises(OutcomeUnknownError) as raised:
            await kf.sessions.transfer(KFID, UID, ServiceState.SERVICER, servicer_userid="zhangsan")
        assert "get_state" in raised.value.check
        session = sim.session(KFID, UID)
        assert (session.state, session.servicer_userid) == (3, "zhangsan")
        assert len(session.msg_codes) == 1
        assert sim.stats.calls[SERVICE_STATE_TRANS] == 1
        state = await kf.sessions.get_state(KFID, UID)
    assert state == SessionState(ServiceState.SERVICER, "zhangsan")


async def test_get_state_is_retried_after_a_lost_answer(
    sim: WeComSimulator, account: SimAccount
) -> None:
    """A read whose answer was cut off is retried and answers."""
    sim.script(SERVICE_STATE_GET, ["drop"])
    async with client_for(sim, timeout=0.2) as kf:
        state = await kf.sessions.get_state(KFID, UID)
    assert state.state is ServiceState.NEW
    assert sim.stats.calls[SERVICE_STATE_GET] == 2


# ------------------------------------------------------------- seeding, inspection


def test_session_creates_a_new_session_and_a_known_customer(sim: WeComSimulator) -> None:
    """sim.session() makes a state-0 session once and makes its customer known."""
    first = sim.session(KFID, "customer-without-prefix")
    assert (first.state, first.servicer_userid, first.msg_codes) == (0, None, [])
    assert sim.session(KFID, "customer-without-prefix") is first
    assert sim.is_known("customer-without-prefix")


def test_set_session_seeds_any_state(sim: WeComSimulator) -> None:
    """sim.set_session() puts a session in a state, with no state-machine check."""
    session = sim.set_session(KFID, UID, 3, "zhangsan")
    assert sim.corp.sessions[(KFID, UID)] is session
    assert (session.state, session.servicer_userid) == (3, "zhangsan")
    assert sim.set_session(KFID, UID, 0).servicer_userid is None


def test_seed_demo_adds_a_bot_session_on_the_demo_account(sim: WeComSimulator) -> None:
    """seed_demo() puts a BOT session on the "Demo support" account, once."""
    add_account(sim, "wkother", "Other")
    add_account(sim, "wkdemo", "Demo support")
    sim.seed_demo()
    sim.seed_demo()
    demo = [key for key in sim.corp.sessions if key[1] == DEMO_CUSTOMER]
    assert demo == [("wkdemo", DEMO_CUSTOMER)]
    assert sim.session("wkdemo", DEMO_CUSTOMER).state == ServiceState.BOT
