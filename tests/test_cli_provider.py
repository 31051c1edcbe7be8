"""``wecom-kf --corp``: the CLI on one corp of a provider's app."""

from __future__ import annotations

import asyncio

import pytest

from wecom_kf_async.testing import serve
from wecom_kf_async.testing.provider import SIM_SUITE_ID, SIM_SUITE_SECRET, ProviderSimulator

from .test_cli import run_cli


def test_simulate_corp_reads_that_corps_customers(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run_cli(
        ["customers", "--simulate", "--corp", "wwcorp000002", "wmAlice", "stranger"], capsys
    )
    assert status == 0
    assert [line["status"] for line in lines] == ["ok", "invalid"]
    assert "avatar" not in lines[0]  # a third-party app sees none


def test_an_unknown_simulated_corp_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run_cli(["customers", "--simulate", "--corp", "wwnope", "wmA"], capsys)
    assert status == 2
    assert "wwcorp000001" in err


def test_a_third_party_corp_needs_every_credential(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WECOM_SUITE_ID", SIM_SUITE_ID)
    monkeypatch.setenv("WECOM_SUITE_SECRET", "hunter2")
    status, _, err = run_cli(["customers", "--corp", "ww1", "wmA"], capsys)
    assert status == 2
    assert "WECOM_SUITE_TICKET, WECOM_PERMANENT_CODE" in err
    assert "hunter2" not in err


async def test_a_third_party_corp_over_http(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = ProviderSimulator()
    install = sim.install()
    async with serve(sim) as base_url:
        monkeypatch.setenv("WECOM_SUITE_ID", SIM_SUITE_ID)
        monkeypatch.setenv("WECOM_SUITE_SECRET", SIM_SUITE_SECRET)
        monkeypatch.setenv("WECOM_SUITE_TICKET", sim.push_ticket())
        monkeypatch.setenv("WECOM_PERMANENT_CODE", sim.permanent_code(install.corp_id))
        monkeypatch.setenv("WECOM_BASE_URL", base_url)
        args = ["customers", "--corp", install.corp_id, "wmA"]
        status, lines, _ = await asyncio.to_thread(run_cli, args, capsys)
    assert status == 0
    assert lines[0]["external_userid"] == "wmA"
    assert sim.corp_token_calls[install.corp_id] == 1
    assert sim.suite_token_calls == 1
