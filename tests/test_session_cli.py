"""`wecom-kf session get|transfer`, in process against the simulator (--simulate)."""

from __future__ import annotations

import json

import pytest

from wecom_kf_async.cli import main
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator.sessions import DEMO_CUSTOMER


def demo_session() -> tuple[str, str]:
    """The (open_kfid, external_userid) of the session ``--simulate`` seeds."""
    sim = WeComSimulator()
    sim.seed_demo()
    keys = [key for key in sim.corp.sessions if key[1] == DEMO_CUSTOMER]
    assert len(keys) == 1, "seed_demo() should add one demo session"
    return keys[0]


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run ``wecom-kf ARGV`` in process; return the status, stdout and stderr."""
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_session_get(capsys: pytest.CaptureFixture[str]) -> None:
    """`session get --simulate` prints the demo session's state as one JSON line."""
    open_kfid, uid = demo_session()
    status, out, _ = run_cli(capsys, "session", "get", open_kfid, uid, "--simulate")
    assert status == 0
    row = json.loads(out)
    assert row["service_state"] == 1
    assert row["state"] == "bot"
    assert (row["open_kfid"], row["external_userid"]) == (open_kfid, uid)


@pytest.mark.parametrize("state", ["2", "queued", "QUEUED"])
def test_cli_session_transfer(capsys: pytest.CaptureFixture[str], state: str) -> None:
    """`session transfer` takes the state as a number or a name and prints the msg_code."""
    open_kfid, uid = demo_session()
    status, out, _ = run_cli(
        capsys, "session", "transfer", open_kfid, uid, state, "--check-state", "--simulate"
    )
    assert status == 0
    row = json.loads(out)
    assert (row["service_state"], row["state"]) == (2, "queued")
    assert row["msg_code"]


def test_cli_transfer_to_a_servicer(capsys: pytest.CaptureFixture[str]) -> None:
    """`session transfer ... servicer --servicer zhangsan` hands the demo session over."""
    open_kfid, uid = demo_session()
    status, out, _ = run_cli(
        capsys,
        "session",
        "transfer",
        open_kfid,
        uid,
        "servicer",
        "--servicer",
        "zhangsan",
        "--simulate",
    )
    assert status == 0
    row = json.loads(out)
    assert (row["service_state"], row["servicer_userid"]) == (3, "zhangsan")


def test_cli_transfer_table_format(capsys: pytest.CaptureFixture[str]) -> None:
    """--format table prints a header, a rule and one row."""
    open_kfid, uid = demo_session()
    status, out, _ = run_cli(
        capsys, "session", "transfer", open_kfid, uid, "queued", "--simulate", "--format", "table"
    )
    assert status == 0
    header, _rule, row = out.splitlines()
    assert header.split() == [
        "open_kfid",
        "external_userid",
        "service_state",
        "state",
        "servicer_userid",
        "msg_code",
    ]
    assert row.split()[:4] == [open_kfid, uid, "2", "queued"]


def test_cli_check_state_refuses_a_forbidden_move(capsys: pytest.CaptureFixture[str]) -> None:
    """--check-state reads the state and refuses a forbidden move with exit status 2."""
    open_kfid, uid = demo_session()
    status, out, err = run_cli(
        capsys, "session", "transfer", open_kfid, uid, "4", "--check-state", "--simulate"
    )
    assert status == 2
    assert out == ""
    assert "BOT" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("transfer", "wk1", "wm1", "bogus"), "unknown state"),
        (("transfer", "wk1", "wm1", "9"), "unknown state"),
        (("transfer", "wk1", "wm1", "servicer"), "--servicer"),
        (("transfer", "wk1", "wm1", "queued", "--servicer", "zhangsan"), "--servicer"),
    ],
)
def test_cli_bad_input_exits_2(
    capsys: pytest.CaptureFixture[str], argv: tuple[str, ...], message: str
) -> None:
    """A bad STATE or --servicer exits 2 with a one-line error, before any client."""
    status, out, err = run_cli(capsys, "session", *argv, "--simulate")
    assert status == 2
    assert out == ""
    assert message in err


def test_cli_unknown_account_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """An account the simulator does not have exits 1 with WeCom's errcode."""
    status, out, err = run_cli(capsys, "session", "get", "wknosuch", "wm1", "--simulate")
    assert status == 1
    assert out == ""
    assert "95004" in err
