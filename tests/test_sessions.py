"""Sessions (``kf.sessions``): state reads, the state machine on both sides, the CLI."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from wecom_kf_async import (
    InvalidResponseError,
    KfClient,
    KfStateError,
)
from wecom_kf_async.models import (
    ALLOWED_TRANSFERS,
    ServiceState,
    SessionState,
    transfer_allowed,
)
from wecom_kf_async.testing import WeComSimulator, serve
from wecom_kf_async.testing.simulator._state import SimAccount, SimServicer
from wecom_kf_async.testing.simulator.sessions import (
    ERR_TRANSFER_NOT_ALLOWED,
    SERVICE_STATE_GET,
    SERVICE_STATE_TRANS,
)

KFID = "wksimtestaccount01"
UID = "wmsimcustomer0001"
STATES = list(ServiceState)
PAIRS = list(itertools.product(STATES, STATES))
ALLOWED = [(a, b) for a, b in PAIRS if b in ALLOWED_TRANSFERS[a]]
FORBIDDEN = [(a, b) for a, b in PAIRS if b not in ALLOWED_TRANSFERS[a]]


def add_account(sim: WeComSimulator, open_kfid: str = KFID, name: str = "Test") -> SimAccount:
    """Put an account served by zhangsan (receiving) and lisi (stopped) in the corp."""
    account = SimAccount(
        open_kfid=open_kfid,
        name=name,
        media_id="simmedia",
        avatar="https://wework.sim.invalid/avatar",
        servicers={
            "zhangsan": SimServicer("zhangsan"),
            "lisi": SimServicer("lisi", status=1),
        },
    )
    sim.corp.accounts[open_kfid] = account
    return account


@pytest.fixture
def account(sim: WeComSimulator) -> SimAccount:
    """The test account, in the simulator's corp."""
    return add_account(sim)


def sent(sim: WeComSimulator) -> int:
    """Requests the simulator received, token calls included."""
    return sum(sim.stats.calls.values())


def servicer_for(target: ServiceState) -> str | None:
    """The servicer a move to *target* needs."""
    return "zhangsan" if target is ServiceState.SERVICER else None


# ----------------------------------------------------------------------- the table


def test_table_is_the_reference_state_machine() -> None:
    """The table says what section 3 says: 0/1 to 2/3, 2 to 3, 3 to 3/4, nothing from 4."""
    s = ServiceState
    assert {k: set(v) for k, v in ALLOWED_TRANSFERS.items()} == {
        s.NEW: {s.QUEUED, s.SERVICER},
        s.BOT: {s.QUEUED, s.SERVICER},
        s.QUEUED: {s.SERVICER},
        s.SERVICER: {s.SERVICER, s.ENDED},
        s.ENDED: set(),
    }
    assert [int(x) for x in ServiceState] == [0, 1, 2, 3, 4]


def test_transfer_allowed_leaves_unknown_states_to_wecom() -> None:
    """An undocumented current state is neither allowed nor forbidden: None."""
    assert transfer_allowed(7, ServiceState.ENDED) is None
    assert transfer_allowed(2, 3) is True
    assert transfer_allowed(ServiceState.ENDED, ServiceState.QUEUED) is False


# ------------------------------------------------------------------------ get_state


async def test_get_state_of_a_new_customer_is_new(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A known customer with no session yet is in state NEW; the read creates nothing."""
    state = await kf.sessions.get_state(KFID, UID)
    assert state == SessionState(ServiceState.NEW, None)
    assert state.state is ServiceState.NEW
    assert sim.corp.sessions == {}


async def test_get_state_names_the_servicer(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A session in state SERVICER comes back with its servicer_userid."""
    sim.set_session(KFID, UID, 3, "zhangsan")
    state = await kf.sessions.get_state(KFID, UID)
    assert state == SessionState(state=ServiceState.SERVICER, servicer_userid="zhangsan")


async def test_unknown_state_code_is_kept_as_int(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """A service_state WeCom has not documented (7) is kept as the plain int 7."""
    sim.script(SERVICE_STATE_GET, [{"service_state": 7}])
    state = await kf.sessions.get_state(KFID, UID)
    assert state.state == 7
    assert type(state.state) is int


async def test_empty_servicer_userid_reads_as_none(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """An empty servicer_userid (outside state 3) is read as None."""
    sim.script(SERVICE_STATE_GET, [{"service_state": 1, "servicer_userid": ""}])
    assert await kf.sessions.get_state(KFID, UID) == SessionState(ServiceState.BOT)


@pytest.mark.parametrize(
    "fields",
    [{"service_state": "3"}, {"service_state": None}, {"servicer_userid": 5}],
    ids=["state-as-string", "state-null", "servicer-as-int"],
)
async def test_bad_state_answer_is_invalid_response(
    sim: WeComSimulator, kf: KfClient, account: SimAccount, fields: dict[str, Any]
) -> None:
    """An answer whose fields have the wrong JSON type raises InvalidResponseError."""
    sim.script(SERVICE_STATE_GET, [fields] * 5)
    with pytest.raises(InvalidResponseError):
        await kf.sessions.get_state(KFID, UID)


async def test_session_state_is_frozen_and_positional() -> None:
    """SessionState takes (state, servicer_userid) and cannot be changed."""
    state = SessionState(ServiceState.SERVICER, "zhangsan")
    assert (state.state, state.servicer_userid) == (ServiceState.SERVICER, "zhangsan")
    with pytest.raises(AttributeError):
        state.state = ServiceState.ENDED  # type: ignore[misc]


# ------------------------------------------------------- the state machine, both sides


@pytest.mark.parametrize(("start", "target"), ALLOWED, ids=str)
async def test_allowed_move_happens(
    sim: WeComSimulator,
    kf: KfClient,
    account: SimAccount,
    start: ServiceState,
    target: ServiceState,
) -> None:
    """Every move the table allows is made by the simulator."""
    sim.set_session(KFID, UID, start, servicer_for(start))
    await kf.sessions.transfer(KFID, UID, target, servicer_userid=servicer_for(target))
    session = sim.session(KFID, UID)
    assert (session.state, session.servicer_userid) == (target, servicer_for(target))


@pytest.mark.parametrize(("start", "target"), FORBIDDEN, ids=str)
async def test_forbidden_move_is_refused_by_the_server(
    sim: WeComSimulator,
    kf: KfClient,
    account: SimAccount,
    start: ServiceState,
    target: ServiceState,
) -> None:
    """Without current=, a forbidden move is sent and answered 95016; nothing moves."""
    sim.set_session(KFID, UID, start, servicer_for(start))
    with pytest.raises(KfStateError) as raised:
        await kf.sessions.transfer(KFID, UID, target, servicer_userid=servicer_for(target))
    assert raised.value.errcode == ERR_TRANSFER_NOT_ALLOWED
    assert sim.stats.calls[SERVICE_STATE_TRANS] == 1
    assert sim.session(KFID, UID).state == start


@pytest.mark.parametrize(("start", "target"), FORBIDDEN, ids=str)
@pytest.mark.parametrize("form", ["enum", "int", "model"])
async def test_forbidden_move_is_refused_before_sending(
    sim: WeComSimulator,
    kf: KfClient,
    account: SimAccount,
    start: ServiceState,
    target: ServiceState,
    form: str,
) -> None:
    """With current= (a state, its code or a SessionState), a forbidden move sends nothing."""
    current: Any = {"enum": start, "int": int(start), "model": SessionState(start)}[form]
    with pytest.raises(ValueError, match="service_state") as raised:
        await kf.sessions.transfer(
            KFID, UID, target, servicer_userid=servicer_for(target), current=current
        )
    assert start.name in str(raised.value)
    assert sent(sim) == 0


@pytest.mark.parametrize(("start", "target"), ALLOWED, ids=str)
async def test_allowed_move_with_current_is_sent(
    sim: WeComSimulator,
    kf: KfClient,
    account: SimAccount,
    start: ServiceState,
    target: ServiceState,
) -> None:
    """With current= naming the real state, an allowed move is sent once and happens."""
    sim.set_session(KFID, UID, start, servicer_for(start))
    current = await kf.sessions.get_state(KFID, UID)
    await kf.sessions.transfer(
        KFID, UID, target, servicer_userid=servicer_for(target), current=current
    )
    assert sim.stats.calls[SERVICE_STATE_TRANS] == 1
    assert sim.session(KFID, UID).state == target


async def test_unknown_current_state_is_left_to_wecom(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """current= with an undocumented code (7) refuses nothing: WeCom judges the move."""
    sim.set_session(KFID, UID, 7)
    with pytest.raises(KfStateError) as raised:
        await kf.sessions.transfer(KFID, UID, ServiceState.ENDED, current=SessionState(7))
    assert raised.value.errcode == ERR_TRANSFER_NOT_ALLOWED
    assert sim.stats.calls[SERVICE_STATE_TRANS] == 1


async def test_read_then_move_pattern(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """The documented pattern: read the state, pass it as current=, move."""
    sim.set_session(KFID, UID, ServiceState.BOT)
    state = await kf.sessions.get_state(KFID, UID)
    code = await kf.sessions.transfer(KFID, UID, ServiceState.QUEUED, current=state)
    assert code is not None
    state = await kf.sessions.get_state(KFID, UID)
    assert state.state is ServiceState.QUEUED
    with pytest.raises(ValueError, match="QUEUED"):
        await kf.sessions.transfer(KFID, UID, ServiceState.ENDED, current=state)


# --------------------------------------------------------------------- msg_code


@pytest.mark.parametrize(
    ("start", "target"),
    [(0, 2), (1, 3), (2, 3), (3, 4)],
    ids=["new-queued", "bot-servicer", "queued-servicer", "servicer-ended"],
)
async def test_move_returns_a_msg_code(
    sim: WeComSimulator, kf: KfClient, account: SimAccount, start: int, target: int
) -> None:
    """A move to QUEUED, SERVICER or ENDED returns the msg_code the simulator recorded."""
    start_state, target_state = ServiceState(start), ServiceState(target)
    sim.set_session(KFID, UID, start, servicer_for(start_state))
    code = await kf.sessions.transfer(KFID, UID, target, servicer_userid=servicer_for(target_state))
    assert isinstance(code, str)
    assert code
    assert sim.session(KFID, UID).msg_codes == [code]


async def test_servicer_to_servicer_has_no_msg_code(
    sim: WeComSimulator, kf: KfClient, account: SimAccount
) -> None:
    """Handing a session to another servicer returns None (only a first move gets a code)."""
    account.servicers["wangwu"] = SimServicer("wangwu")
    sim.set_session(KFID, UID, 3, "zhangsan")
    code = await kf.sessions.transfer(KFID, UID, ServiceState.SERVICER, servicer_userid="wangwu")
    assert code is None
    assert sim.session(KFID, UID).servicer_userid == "wangwu"
    assert sim.session(KFID, UID).msg_codes == []


# ---------------------------------------------------------------- loopback HTTP


async def test_get_and_transfer_over_loopback_http(
    sim: WeComSimulator, account: SimAccount
) -> None:
    """Both endpoints work against the simulator served on a loopback port."""
    async with (
        serve(sim) as base_url,
        KfClient(
            corp_id=sim.corp_id, secret="sim-secret", base_url=base_url, rate_limit=None
        ) as kf,
    ):
        code = await kf.sessions.transfer(
            KFID, UID, ServiceState.SERVICER, servicer_userid="zhangsan"
        )
        state = await kf.sessions.get_state(KFID, UID)
    assert code == sim.session(KFID, UID).msg_codes[0]
    assert state == SessionState(ServiceState.SERVICER, "zhangsan")
