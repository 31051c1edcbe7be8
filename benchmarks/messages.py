"""CPU cost of decoding and structuring 100,000 ``sync_msg`` messages of mixed types.

The messages are built from the documented samples (``wecom_kf_async.testing.samples``,
every msgtype and event type) with varied ids, send times and texts (Chinese and
Latin, 2 to 120 characters), in pages of 1,000 as ``sync_msg`` returns them. Two
mixes: a bot's traffic (mostly customer text, then media and events; the weights
are :data:`BOT_MIX`), and every type equally often (which over-weights the rare,
heavier types such as ``msgmenu``). Baseline: ``json.loads`` of the same page bytes.
Subject: ``json.loads`` then ``structure_messages(data["msg_list"])`` (what the
stream does with every page). No network, no event loop. Target: subject <= 2.5x
the baseline for both mixes.
"""

from __future__ import annotations

import copy
import json
import random
import sys
from collections.abc import Callable
from typing import Any

from wecom_kf_async.models import UnknownEvent, UnknownMessage, structure_messages
from wecom_kf_async.testing.samples import EVENT_SAMPLES, MESSAGE_SAMPLES

from ._common import (
    Settings,
    median,
    parse_subjects,
    print_header,
    print_table,
    ratio,
    time_interleaved,
    verdict,
)

MESSAGES = 100_000
PAGE = 1_000
TARGET = 2.5

#: Relative frequency of each msgtype (events by ``event/<event_type>``) in a bot's traffic.
BOT_MIX: dict[str, int] = {
    "text": 50,
    "image": 10,
    "voice": 6,
    "video": 2,
    "file": 2,
    "location": 1,
    "link": 2,
    "business_card": 1,
    "miniprogram": 1,
    "msgmenu": 1,
    "channels_shop_product": 1,
    "channels_shop_order": 1,
    "merged_msg": 1,
    "channels": 1,
    "note": 1,
    "event/enter_session": 10,
    "event/msg_send_fail": 2,
    "event/servicer_status_change": 1,
    "event/session_status_change": 4,
    "event/user_recall_msg": 1,
    "event/servicer_recall_msg": 1,
    "event/reject_customer_msg_switch_change": 1,
}

_WORDS = [
    "你好",
    "请问",
    "这个",
    "多少钱",
    "有货吗",
    "谢谢",
    "hello",
    "order",
    "price",
    "退货",
    "发货",
    "OK",
]


def _sample(kind: str) -> dict[str, Any]:
    if kind.startswith("event/"):
        return copy.deepcopy(EVENT_SAMPLES[kind.removeprefix("event/")])
    return copy.deepcopy(MESSAGE_SAMPLES[kind])


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(rng.randint(1, 30)))[:120]


def _pages(weights: dict[str, int], seed: int) -> list[bytes]:
    rng = random.Random(seed)
    kinds, counts = list(weights), list(weights.values())
    customers = [f"wmAJ2GCAAA{index:022d}" for index in range(500)]
    pages = []
    for start in range(0, MESSAGES, PAGE):
        items = []
        for number in range(start, start + PAGE):
            item = _sample(rng.choices(kinds, counts)[0])
            item["msgid"] = f"from_msgid_{4622416642169452483 + number}"
            item["send_time"] = 1_700_000_000 + number * 3
            place = item["event"] if item["msgtype"] == "event" else item
            if "external_userid" in place:
                place["external_userid"] = rng.choice(customers)
            if item["msgtype"] == "text":
                item["text"]["content"] = _text(rng)
                if rng.random() > 0.1:
                    del item["text"]["menu_id"]
            items.append(item)
        payload = {
            "errcode": 0,
            "errmsg": "ok",
            "next_cursor": f"4gw7MepFLfgF2VC5npN{start:08d}",
            "has_more": 1,
            "msg_list": items,
        }
        pages.append(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return pages


def _check_all_typed(pages: list[bytes]) -> None:
    """Every benchmark message must structure to its own type, not an Unknown*."""
    for page in pages:
        for model in structure_messages(json.loads(page)["msg_list"]):
            if isinstance(model, UnknownMessage | UnknownEvent):
                raise RuntimeError(f"a benchmark message came out as {type(model).__name__}")


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its target."""
    repeats = settings.pick(default=7, quick=3)
    mixes = {
        "bot mix": BOT_MIX,
        "every type equally": dict.fromkeys(BOT_MIX, 1),
    }
    pages = {label: _pages(weights, seed=10) for label, weights in mixes.items()}
    for body in pages.values():
        _check_all_typed(body)
    subjects: dict[str, Callable[[], int]] = {}
    for label, body in pages.items():
        loads, loads_and_structure = parse_subjects(body, "msg_list", structure_messages)
        subjects[f"json.loads, {label}"] = loads
        subjects[f"json.loads + structure, {label}"] = loads_and_structure
    seconds = time_interleaved(subjects, repeats, MESSAGES)

    print_header(
        "messages",
        f"decode + structure {MESSAGES:,} sync_msg messages in pages of {PAGE:,} ("
        + ", ".join(f"{label}: {sum(map(len, b)) / 1e6:.1f} MB" for label, b in pages.items())
        + f"), {repeats} interleaved repeats",
    )
    rows = []
    ratios: dict[str, float] = {}
    for label in mixes:
        base = median(seconds[f"json.loads, {label}"])
        full = median(seconds[f"json.loads + structure, {label}"])
        ratios[label] = ratio(full, base)
        for name, value in (
            (f"json.loads, {label}", base),
            (f"json.loads + structure, {label}", full),
        ):
            rows.append(
                (name, value, f"{value / MESSAGES * 1e6:.2f}", f"{ratio(value, base):.2f}x")
            )
        rows.append(
            (
                f"  structuring alone, {label}",
                full - base,
                f"{(full - base) / MESSAGES * 1e6:.2f}",
                "",
            )
        )
    print_table(["subject", "median s", "µs/message", "vs json.loads"], rows)
    return verdict(
        max(ratios.values()) <= TARGET,
        "loads + structure / loads = "
        + ", ".join(f"{value:.2f}x ({label})" for label, value in ratios.items())
        + f" (target <= {TARGET:.1f}x)",
    )


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
