"""The wecom-kf command, run in process and as a real subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from wecom_kf_async.cli import main
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET, WeComSimulator, serve


def run_cli(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> tuple[int, list[dict[str, object]], str]:
    """Run main() and return (exit status, parsed stdout lines, stderr)."""
    status = main(args)
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_simulate_prints_json_lines_in_input_order(capsys: pytest.CaptureFixture[str]) -> None:
    """--simulate fetches from the bundled simulator; one line per distinct id, input order."""
    status, lines, err = run_cli(
        ["customers", "--simulate", "--context", "wmB", "stranger", "wmA", "wmB"], capsys
    )
    assert status == 0
    assert [line["external_userid"] for line in lines] == ["wmB", "stranger", "wmA"]
    assert [line["status"] for line in lines] == ["ok", "invalid", "ok"]
    assert "enter_session_context" in lines[0]
    assert "2 customer(s), 1 invalid, 0 failed" in err
    assert "[#" not in err  # one chunk: no progress bar


def test_progress_bar_for_more_than_one_chunk(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An ids file with 250 ids (3 chunks) draws a progress bar on stderr."""
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(f"wm{i}" for i in range(250)) + "\n\n")
    status, lines, err = run_cli(["customers", "--simulate", "--ids-file", str(ids_file)], capsys)
    assert status == 0
    assert len(lines) == 250
    assert "250/250 ids" in err
    assert "100/250 ids" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["customers", "--simulate"], "no ids given"),
        (["customers", "--simulate", "wmA", " "], "external_userids[1]"),
        (["customers", "--simulate", "--ids-file", "/nonexistent/ids"], "cannot read --ids-file"),
        (["customers", "--simulate", "--max-concurrency", "0", "wmA"], "max_concurrency"),
    ],
)
def test_bad_input_is_one_clear_line(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input exits 2 with one error line and no traceback."""
    status = main(args)
    _out, err = capsys.readouterr()
    assert status == 2
    assert message in err
    assert "Traceback" not in err


def test_missing_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without WECOM_CORP_ID/WECOM_KF_SECRET (and no --simulate) it says what to set."""
    monkeypatch.delenv("WECOM_CORP_ID", raising=False)
    monkeypatch.delenv("WECOM_KF_SECRET", raising=False)
    status = main(["customers", "wmA"])
    _out, err = capsys.readouterr()
    assert status == 2
    assert "WECOM_CORP_ID" in err


async def test_bad_credentials_in_a_real_subprocess() -> None:
    """Against a simulator on a loopback port, a wrong secret exits 1 with a clear message."""
    sim = WeComSimulator()
    async with serve(sim) as base_url:
        env = {
            **os.environ,
            "WECOM_CORP_ID": SIM_CORP_ID,
            "WECOM_KF_SECRET": "not-the-secret",
            "WECOM_BASE_URL": base_url,
        }
        process = await _run([sys.executable, "-m", "wecom_kf_async.cli", "customers", "wmA"], env)
        assert process.returncode == 1, process.stderr
        assert "rejected the credentials" in process.stderr
        assert "Traceback" not in process.stderr
        assert "not-the-secret" not in process.stderr

        env["WECOM_KF_SECRET"] = SIM_SECRET
        process = await _run([sys.executable, "-m", "wecom_kf_async.cli", "customers", "wmA"], env)
        assert process.returncode == 0, process.stderr
        assert json.loads(process.stdout)["external_userid"] == "wmA"


async def _run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a command without blocking the event loop that serves the simulator."""
    import asyncio

    proc = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return subprocess.CompletedProcess(argv, proc.returncode or 0, out.decode(), err.decode())


def test_stats_prints_calls_retries_and_waits_at_the_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--stats: a summary on stderr after the output (250 ids: three batchget calls)."""
    ids = [f"wm{index:04d}" for index in range(250)]
    status, lines, err = run_cli(
        ["customers", "--simulate", "--stats", "--no-progress", *ids], capsys
    )
    assert status == 0
    assert len(lines) == 250
    summary = err[err.index("wecom-kf stats:") :].splitlines()
    assert summary[1:] == [
        "gettoken: 1 call(s) (ok 1)",
        "kf/customer/batchget: 3 call(s) (ok 3)",
        "retries: none",
        summary[-1],
    ]
    assert summary[-1].startswith("waited on the rate limiter: ")
    assert "wecom-kf stats:" not in run_cli(["accounts", "list", "--simulate"], capsys)[2]
