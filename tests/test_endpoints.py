"""The endpoint table: one row per path, and the docs render it as it is."""

from __future__ import annotations

import re
from pathlib import Path

from wecom_kf_async import ENDPOINTS, ERRCODE_TABLE, Safety
from wecom_kf_async._endpoints import endpoint_for, markdown_table

DOCS = Path(__file__).resolve().parents[1] / "docs" / "errors-and-retries.md"


def test_the_docs_show_the_endpoint_table_as_the_code_has_it() -> None:
    """docs/errors-and-retries.md holds exactly the table rendered from ENDPOINTS."""
    text = DOCS.read_text(encoding="utf-8")
    found = re.search(
        r"<!-- endpoint-table:start -->\n(.*?)<!-- endpoint-table:end -->", text, re.DOTALL
    )
    assert found is not None
    assert found.group(1) == markdown_table()


def test_every_endpoint_whose_outcome_can_be_unknown_says_what_to_check() -> None:
    """UNSAFE and KEYED rows raise OutcomeUnknownError: each says what to check, no other does."""
    for row in ENDPOINTS.values():
        assert (row.safety in (Safety.UNSAFE, Safety.KEYED)) == bool(row.check), row.path


def test_already_done_codes_are_known_errcodes_of_idempotent_or_keyed_rows() -> None:
    """'Already done' only makes sense where a retry is made, for a code the table knows."""
    for row in ENDPOINTS.values():
        if row.already_done:
            assert row.safety in (Safety.IDEMPOTENT, Safety.KEYED), row.path
            assert row.already_done <= set(ERRCODE_TABLE), row.path


def test_paths_of_the_table_are_what_their_rows_say() -> None:
    """Each row is filed under its own path; an unknown path gets a row retried like a read."""
    assert all(path == row.path for path, row in ENDPOINTS.items())
    other = endpoint_for("kf/not_in_the_table", "GET")
    assert (other.path, other.method, other.safety) == ("kf/not_in_the_table", "GET", Safety.READ)
    assert endpoint_for("kf/account/add") is ENDPOINTS["kf/account/add"]
