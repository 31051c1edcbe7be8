"""Type-checked (never run) examples of kf.accounts and kf.servicers (mypy --strict)."""

from __future__ import annotations

from wecom_kf_async import (
    Account,
    KfClient,
    KfError,
    OutcomeUnknownError,
    Servicer,
    ServicerError,
    ServicerResult,
    ServicerResults,
    ServicerStatus,
    StopType,
)
from wecom_kf_async.testing import WeComSimulator


async def accounts(kf: KfClient, media_id: str) -> list[str]:
    try:
        open_kfid: str = await kf.accounts.add(name="Support", media_id=media_id)
    except OutcomeUnknownError as err:
        check: str = err.check
        return [check]
    await kf.accounts.update(open_kfid, name="Help desk")
    await kf.accounts.update(open_kfid, media_id=media_id)
    await kf.accounts.update(open_kfid, name="Sales", media_id=media_id)
    listed: list[Account] = await kf.accounts.list()
    names = [account.name for account in listed]
    privileged: list[bool | None] = [account.manage_privilege for account in listed]
    avatars: list[str | None] = [account.avatar for account in listed]
    url: str = await kf.accounts.contact_url(open_kfid, scene="spring_sale")
    plain: str = await kf.accounts.contact_url(open_kfid)
    tagged: str = kf.accounts.with_scene_param(url, "campaign=42&src=qr")
    await kf.accounts.delete(open_kfid)
    names.extend([plain, tagged, repr(privileged), repr(avatars)])
    return names


async def servicers(kf: KfClient, open_kfid: str) -> list[str]:
    results: ServicerResults = await kf.servicers.add(
        open_kfid, userids=["zhangsan"], department_ids=[2]
    )
    first: ServicerResult = results[0]
    failed: list[ServicerResult] = results.failed
    lines = [f"{r.describe()}: {r.errcode} {r.errmsg} {r.ok}" for r in results]
    lines.append(f"{first.userid} {first.department_id} {len(failed)} {results.ok}")
    try:
        same: ServicerResults = results.raise_for_failures()
        lines.append(str(len(same)))
    except ServicerError as err:
        lines.extend(item.describe() for item in err.failed)
    removed = await kf.servicers.delete(open_kfid, userids=["zhangsan"])
    lines.extend(str(r.ok) for r in removed.succeeded)
    members: list[Servicer] = await kf.servicers.list(open_kfid)
    for servicer in members:
        status: ServicerStatus | int | None = servicer.status
        stop_type: StopType | int | None = servicer.stop_type
        if status == ServicerStatus.STOPPED and stop_type == StopType.SUSPENDED:
            lines.append(servicer.userid or "")
        if servicer.is_department:
            lines.append(str(servicer.department_id))
    try:
        await kf.servicers.add(open_kfid, userids=(f"u{n}" for n in range(250)))
    except KfError as err:
        lines.append(str(err))
    return lines


def seeding() -> str:
    sim = WeComSimulator()
    media_id: str = sim.add_media()
    open_kfid: str = sim.add_account("Support", manage_privilege=False, media_id=media_id)
    sim.add_member("newbie", department_ids=[2])
    sim.add_servicer(open_kfid, "newbie", status=1, stop_type=1)
    sim.seed_demo()
    return open_kfid
