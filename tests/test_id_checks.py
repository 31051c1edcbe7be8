"""The ids of a batch are checked at C speed, with every rule of the per-id check kept.

``normalize_ids`` tests whole blocks of ids at once and falls back to the per-id
check (``_checks.external_userid``) only to name the first bad one. These tests hold
the two to the same verdict on every id, and the error to the right position.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wecom_kf_async import _checks
from wecom_kf_async.resources.customers import normalize_ids

BAD_IDS: list[tuple[object, type[Exception], str]] = [
    ("", ValueError, "empty or blank"),
    ("   ", ValueError, "empty or blank"),
    ("wm a", ValueError, "whitespace or control"),
    ("wm\ta", ValueError, "whitespace or control"),
    ("wm\u3000a", ValueError, "whitespace or control"),  # ideographic space
    ("wm\u2028a", ValueError, "whitespace or control"),  # line separator
    ("wm\x85a", ValueError, "whitespace or control"),
    ("wm\x00a", ValueError, "whitespace or control"),
    ("wm\u200ba", ValueError, "whitespace or control"),  # zero-width space (Cf)
    ("w" * 257, ValueError, "257 bytes"),
    ("微" * 86, ValueError, "258 bytes"),  # 86 characters, 258 bytes
    (b"wmA", TypeError, "is bytes, not str"),
    (7, TypeError, "is int, not str"),
    (None, TypeError, "is NoneType, not str"),
]


@pytest.mark.parametrize("position", [0, 4095, 4096, 9999])
@pytest.mark.parametrize(("bad", "error", "match"), BAD_IDS)
def test_a_bad_id_anywhere_is_named_by_its_position(
    position: int, bad: object, error: type[Exception], match: str
) -> None:
    """One bad id among 10,000 good ones raises its own error, naming its position."""
    ids: list[object] = [f"wm{i:08d}" for i in range(10_000)]
    ids[position] = bad
    with pytest.raises(error, match=match) as caught:
        normalize_ids(ids)  # type: ignore[arg-type]
    assert f"external_userids[{position}]" in str(caught.value)


def test_limits_are_counted_in_bytes_at_the_edge() -> None:
    """256 bytes pass, in ASCII and in CJK (3 bytes a character) alike; duplicates go."""
    edge_ascii = "w" * _checks.MAX_EXTERNAL_USERID_BYTES
    edge_cjk = "微" * (_checks.MAX_EXTERNAL_USERID_BYTES // 3)
    assert normalize_ids([edge_ascii, edge_cjk, edge_ascii, "wmB"]) == [
        edge_ascii,
        edge_cjk,
        "wmB",
    ]


def _per_id_verdict(ids: list[str]) -> bool:
    """Whether every id passes the per-id check (the rule the fast path must match)."""
    try:
        for item in ids:
            if not item or item.isspace():
                return False
            _checks.external_userid(item)
    except ValueError:
        return False
    return True


@given(st.lists(st.text(min_size=0, max_size=12), max_size=40))
def test_the_fast_path_agrees_with_the_per_id_check(ids: list[str]) -> None:
    """For any list of strings, the batch check refuses exactly when some id is refused."""
    if _per_id_verdict(ids):
        assert normalize_ids(ids) == list(dict.fromkeys(ids))
    else:
        with pytest.raises(ValueError, match=r"external_userids\[\d+\]"):
            normalize_ids(ids)
