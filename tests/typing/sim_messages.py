"""Type-checked (never run) examples of the simulator's message log, sync and send knobs."""

from __future__ import annotations

from typing import Any

from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.samples import EVENT_SAMPLES, MESSAGE_SAMPLES
from wecom_kf_async.testing.simulator import ERR_MSGID_DUPLICATE, EventCode, SimSent


class _Text:
    msgtype = "text"

    def body(self) -> dict[str, Any]:
        return {"content": "hi"}


def seeding() -> list[str]:
    sim = WeComSimulator(seed=7)
    kfid = sim.add_account("Support")
    ids = [
        sim.customer_says(kfid, "wmcustomer", _Text()),
        sim.customer_says(kfid, "wmcustomer", {"msgtype": "text", "text": {"content": "hi"}}),
        sim.customer_says(kfid, "wmcustomer", MESSAGE_SAMPLES["location"]),
        sim.servicer_says(kfid, "wmcustomer", "zhangsan", _Text()),
        sim.add_event(kfid, "wmcustomer", "msg_send_fail", fail_msgid="m1", fail_type=4),
        sim.add_event(kfid, None, "servicer_status_change", servicer_userid="zhangsan", status=2),
    ]
    welcome: str | None = sim.customer_enters(
        kfid,
        "wmcustomer",
        scene="ad",
        scene_param="x=1",
        wechat_channels={"nickname": "Shop", "scene": 1},
    )
    ids.append(welcome or "")
    first: int = sim.fill(
        kfid,
        1_000_000,
        kinds=[*MESSAGE_SAMPLES, *EVENT_SAMPLES],
        customers=10,
        send_time=1.7e9,
        spacing=0.5,
    )
    ids.append(str(first))
    return ids


def knobs_and_reading(sim: WeComSimulator, kfid: str) -> int:
    sim.empty_pages = 0.3
    sim.script_pages([0, 5])
    sim.stall_pages = False
    sim.sync_msg_without_token_per_minute = None
    token: str = sim.callback_token(kfid)
    cursor: str = sim.cursor_for(10, kfid)
    items: list[dict[str, Any]] = sim.messages(kfid)
    sent: list[SimSent] = sim.sent
    code: EventCode | None = sim.event_code(token)
    sim.configure({"empty_pages": 0.1, "sync_msg_without_token_per_minute": 30})
    return len(items) + len(sent) + len(cursor) + (code is None) + ERR_MSGID_DUPLICATE
