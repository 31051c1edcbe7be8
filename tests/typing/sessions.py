"""Type-checked (never run) examples of sessions and the upgrade service (mypy --strict)."""

from __future__ import annotations

from wecom_kf_async import (
    KfClient,
    KfStateError,
    OutcomeUnknownError,
    ServiceState,
    SessionState,
    UpgradeGroupChat,
    UpgradeMember,
    UpgradeServiceConfig,
)
from wecom_kf_async.models import ALLOWED_TRANSFERS, transfer_allowed
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator._state import SimSession


async def move_to_servicer(kf: KfClient, open_kfid: str, external_userid: str) -> str | None:
    state: SessionState = await kf.sessions.get_state(open_kfid, external_userid)
    code: ServiceState | int = state.state
    servicer: str | None = state.servicer_userid
    if code == ServiceState.SERVICER and servicer is not None:
        return None
    try:
        msg_code: str | None = await kf.sessions.transfer(
            open_kfid,
            external_userid,
            ServiceState.SERVICER,
            servicer_userid="zhangsan",
            current=state,
        )
    except OutcomeUnknownError as err:
        check: str = err.check
        print(check)
        return None
    except KfStateError as err:
        errcode: int = err.errcode
        print(errcode)
        return None
    return msg_code


async def end_and_queue(kf: KfClient, open_kfid: str, external_userid: str) -> list[str | None]:
    codes: list[str | None] = [
        await kf.sessions.transfer(open_kfid, external_userid, ServiceState.QUEUED),
        await kf.sessions.transfer(open_kfid, external_userid, 4, current=ServiceState.SERVICER),
    ]
    allowed: frozenset[ServiceState] = ALLOWED_TRANSFERS[ServiceState.NEW]
    verdict: bool | None = transfer_allowed(ServiceState.BOT, ServiceState.ENDED)
    codes.append(str(len(allowed)) if verdict is None else None)
    return codes


async def upgrade(kf: KfClient, open_kfid: str, external_userid: str) -> list[str]:
    config: UpgradeServiceConfig = await kf.customers.upgrade_service_config()
    userids: list[str] = config.member_range.userid_list
    departments: list[int] = config.member_range.department_id_list
    chats: list[str] = config.groupchat_range.chat_id_list
    await kf.customers.upgrade_service(
        open_kfid, external_userid, member=UpgradeMember("zhangsan", wording="Your advisor")
    )
    await kf.customers.upgrade_service(
        open_kfid, external_userid, groupchat=UpgradeGroupChat(chats[0], wording="Join us")
    )
    await kf.customers.upgrade_service(open_kfid, external_userid, member=UpgradeMember("lisi"))
    await kf.customers.cancel_upgrade_service(open_kfid, external_userid)
    return [*userids, *map(str, departments)]


def seed(sim: WeComSimulator, open_kfid: str, external_userid: str) -> SimSession:
    session: SimSession = sim.session(open_kfid, external_userid)
    session.state = ServiceState.SERVICER
    session.servicer_userid = "zhangsan"
    codes: list[str] = session.msg_codes
    print(codes, sim.upgrade_of(open_kfid, external_userid))
    return sim.set_session(open_kfid, external_userid, ServiceState.BOT)
