"""The cost of checking the ids of a ``batch_get`` before its first request.

50,000 ids of the shape WeCom hands out (``wm`` + 30 characters), and the same with
every tenth id in CJK (the path that counts bytes). Subjects, interleaved:

- ``dict.fromkeys`` (baseline): dropping duplicates, which any batcher does;
- ``per-id checks``: ``_checks.external_userid`` called on each id, as the batcher
  did before (every rule, one Python call and one name string per id);
- ``normalize_ids``: what ``batch_get`` runs (the same rules, blocks of ids tested
  at C speed, duplicates dropped).

Target: ``normalize_ids`` <= 1 µs per id (50,000 ids in <= 50 ms), for both shapes.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from wecom_kf_async import _checks
from wecom_kf_async.resources.customers import normalize_ids

from ._common import Settings, median, print_header, print_table, ratio, time_interleaved, verdict

IDS = 50_000
TARGET_US = 1.0


def _ids(cjk_every: int | None) -> list[str]:
    ids = [f"wm{index:030d}" for index in range(IDS)]
    if cjk_every is not None:
        ids = [f"客户{i:010d}" if i % cjk_every == 0 else x for i, x in enumerate(ids)]
    return ids


def _per_id(ids: list[str]) -> int:
    for position, item in enumerate(ids):
        _checks.external_userid(item, f"external_userids[{position}]")
    return len(dict.fromkeys(ids))


def run(settings: Settings) -> bool:
    """Run the benchmark; return True when it meets its target."""
    repeats = settings.pick(default=9, quick=5)
    shapes = {"ASCII": _ids(None), "1 in 10 CJK": _ids(10)}
    subjects: dict[str, Callable[[], int]] = {}
    for shape, ids in shapes.items():
        subjects[f"dict.fromkeys, {shape}"] = lambda ids=ids: len(dict.fromkeys(ids))
        subjects[f"per-id checks, {shape}"] = lambda ids=ids: _per_id(ids)
        subjects[f"normalize_ids, {shape}"] = lambda ids=ids: len(normalize_ids(ids))
    seconds = time_interleaved(subjects, repeats, IDS)

    print_header(
        "idcheck", f"checking {IDS:,} ids before a batch_get, {repeats} interleaved repeats"
    )
    rows = []
    per_id_us: dict[str, float] = {}
    for shape in shapes:
        base = median(seconds[f"dict.fromkeys, {shape}"])
        for kind in ("dict.fromkeys", "per-id checks", "normalize_ids"):
            value = median(seconds[f"{kind}, {shape}"])
            rows.append(
                (
                    f"{kind}, {shape}",
                    value * 1000,
                    f"{value / IDS * 1e6:.3f}",
                    f"{ratio(value, base):.2f}x",
                )
            )
        per_id_us[shape] = median(seconds[f"normalize_ids, {shape}"]) / IDS * 1e6
    print_table(["subject", "median ms", "µs/id", "vs dict.fromkeys"], rows)
    worst = max(per_id_us.values())
    return verdict(
        worst <= TARGET_US,
        "normalize_ids: "
        + ", ".join(f"{us:.3f} µs/id ({shape})" for shape, us in per_id_us.items())
        + f" (target <= {TARGET_US:.1f} µs/id)",
    )


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
