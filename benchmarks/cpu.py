"""CPU cost of decoding and structuring 100,000 customers into models.

The bodies are built from the simulator's own profiles (``WeComSimulator().profile``),
with and without ``enter_session_context``, in two shapes: 1,000 answers of 100
customers (what the library really decodes: batchget returns at most 100 per call)
and one artificial answer of 100,000. Baseline: ``json.loads`` of the same bytes.
Subject: ``json.loads`` then ``structure_customers(data["customer_list"])`` (what the
library does with every answer). No network, no event loop. Target: subject <= 2.5x
the baseline for the real shape, with and without the session context; the single
huge answer is reported too (there the garbage collector, walking the huge decoded
tree while models are allocated, adds a cost the real shape never pays).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable

from wecom_kf_async.models import structure_customers
from wecom_kf_async.testing import WeComSimulator

from ._common import (
    Settings,
    make_ids,
    median,
    parse_subjects,
    print_header,
    print_table,
    ratio,
    time_interleaved,
    verdict,
)

CUSTOMERS = 100_000
TARGET = 2.5


def _bodies(with_context: bool, per_answer: int) -> list[bytes]:
    sim = WeComSimulator()
    customers = [sim.profile(uid, with_context=with_context) for uid in make_ids(CUSTOMERS)]
    bodies = []
    for start in range(0, CUSTOMERS, per_answer):
        payload = {
            "errcode": 0,
            "errmsg": "ok",
            "customer_list": customers[start : start + per_answer],
            "invalid_external_userid": [],
        }
        bodies.append(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return bodies


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its target."""
    repeats = settings.pick(default=5, quick=3)
    variants = {
        "100/answer, with context": (True, 100),
        "100/answer, without context": (False, 100),
        "one answer, with context": (True, CUSTOMERS),
        "one answer, without context": (False, CUSTOMERS),
    }
    bodies = {label: _bodies(flag, size) for label, (flag, size) in variants.items()}
    subjects: dict[str, Callable[[], int]] = {}
    for label, body in bodies.items():
        loads, loads_and_structure = parse_subjects(body, "customer_list", structure_customers)
        subjects[f"json.loads, {label}"] = loads
        subjects[f"json.loads + structure, {label}"] = loads_and_structure
    seconds = time_interleaved(subjects, repeats, CUSTOMERS)

    print_header(
        "cpu",
        f"decode + structure {CUSTOMERS:,} customers ("
        + ", ".join(f"{label}: {sum(map(len, b)) / 1e6:.1f} MB" for label, b in bodies.items())
        + f"), {repeats} interleaved repeats",
    )
    rows = []
    ratios: dict[str, float] = {}
    for label in variants:
        base = median(seconds[f"json.loads, {label}"])
        full = median(seconds[f"json.loads + structure, {label}"])
        ratios[label] = ratio(full, base)
        for name, value in (
            (f"json.loads, {label}", base),
            (f"json.loads + structure, {label}", full),
        ):
            rows.append(
                (
                    name,
                    value,
                    f"{value / CUSTOMERS * 1e6:.2f}",
                    f"{ratio(value, base):.2f}x",
                )
            )
        rows.append(
            (
                f"  structuring alone, {label}",
                full - base,
                f"{(full - base) / CUSTOMERS * 1e6:.2f}",
                "",
            )
        )
    print_table(["subject", "median s", "µs/customer", "vs json.loads"], rows)
    worst = max(value for label, value in ratios.items() if label.startswith("100/answer"))
    return verdict(
        worst <= TARGET,
        "loads + structure / loads = "
        + ", ".join(f"{value:.2f}x ({label})" for label, value in ratios.items())
        + f" (target <= {TARGET:.1f}x for 100 per answer)",
    )


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
