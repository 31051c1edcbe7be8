"""``wecom-kf accounts`` and ``wecom-kf servicers``, run in process against ``--simulate``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wecom_kf_async.cli import main
from wecom_kf_async.testing import WeComSimulator

# ------------------------------------------------------------------------ accounts


def demo_open_kfid() -> str:
    """The id of the demo account every ``--simulate`` run starts with (seed 0)."""
    sim = WeComSimulator()
    sim.seed_demo()
    return next(a.open_kfid for a in sim.corp.accounts.values() if a.name == "Demo support")


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[Any], str]:
    """Run ``wecom-kf`` in process; return the status, the JSON lines and stderr."""
    status = main(args)
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_cli_accounts_list(capsys: pytest.CaptureFixture[str]) -> None:
    """``accounts list --simulate`` prints the demo account as a JSON line."""
    status, lines, _ = run(["accounts", "list", "--simulate"], capsys)
    assert status == 0
    assert [(line["open_kfid"], line["name"]) for line in lines] == [
        (demo_open_kfid(), "Demo support")
    ]


def test_cli_accounts_list_as_table(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format table`` prints a header and one row per account."""
    assert main(["accounts", "list", "--simulate", "--format", "table"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["open_kfid", "name", "manage_privilege", "avatar"]
    assert demo_open_kfid() in out[2]


def test_cli_accounts_add_with_a_media_id(capsys: pytest.CaptureFixture[str]) -> None:
    """``accounts add --media-id`` prints the new open_kfid."""
    status, lines, _ = run(
        ["accounts", "add", "--simulate", "--name", "Support", "--media-id", "sim_demo_avatar"],
        capsys,
    )
    assert status == 0
    assert lines[0]["name"] == "Support"
    assert lines[0]["open_kfid"].startswith("wk")


def test_cli_accounts_add_uploads_the_avatar_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``accounts add --avatar FILE`` uploads the image first and uses its media_id."""
    avatar = tmp_path / "logo.png"
    avatar.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    status, lines, err = run(
        ["accounts", "add", "--simulate", "--name", "Support", "--avatar", str(avatar)], capsys
    )
    assert status == 0, err
    assert lines[0]["media_id"] != "sim_demo_avatar"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "--name", "x" * 17, "--media-id", "m"], "--name"),
        (["add", "--name", "ok", "--avatar", "/nonexistent/logo.png"], "no such file"),
        (["update", "wkA"], "--name, --media-id or --avatar"),
        (["delete", "a b"], "open_kfid"),
        (["contact-url", "wkA", "--scene", "bad scene"], "--scene"),
        (["contact-url", "wkA", "--scene-param", "a=1"], "needs --scene"),
        (["contact-url", "wkA", "--scene", "s", "--scene-param", "x" * 129], "--scene-param"),
    ],
)
def test_cli_accounts_bad_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad options exit 2 with one line naming the problem."""
    status, _, err = run(["accounts", *args, "--simulate"], capsys)
    assert status == 2
    assert message in err


def test_cli_accounts_add_needs_an_avatar(capsys: pytest.CaptureFixture[str]) -> None:
    """``accounts add`` without --media-id or --avatar is a usage error."""
    with pytest.raises(SystemExit) as info:
        main(["accounts", "add", "--simulate", "--name", "Support"])
    assert info.value.code == 2
    assert "--media-id" in capsys.readouterr().err


def test_cli_accounts_update_delete_and_contact_url(capsys: pytest.CaptureFixture[str]) -> None:
    """update, contact-url (with scene_param) and delete each work on the demo account."""
    open_kfid = demo_open_kfid()
    status, lines, _ = run(
        ["accounts", "update", open_kfid, "--name", "Help desk", "--simulate"], capsys
    )
    assert (status, lines[0]["updated"]) == (0, True)
    status, lines, _ = run(
        [
            "accounts",
            "contact-url",
            open_kfid,
            "--scene",
            "spring",
            "--scene-param",
            "a=1&b=2",
            "--simulate",
        ],
        capsys,
    )
    assert status == 0
    assert lines[0]["url"].endswith("&scene_param=a%3D1%26b%3D2")
    status, lines, _ = run(["accounts", "delete", open_kfid, "--simulate"], capsys)
    assert (status, lines) == (0, [{"open_kfid": open_kfid, "deleted": True}])


def test_cli_accounts_delete_unknown_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """WeCom's 95004 for an unknown account is reported in one line, exit status 1."""
    status, lines, err = run(["accounts", "delete", "wkNoSuchAccount", "--simulate"], capsys)
    assert (status, lines) == (1, [])
    assert "95004" in err


# ----------------------------------------------------------------------- servicers


def test_cli_servicers_list(capsys: pytest.CaptureFixture[str]) -> None:
    """``servicers list`` prints the demo account's two servicers as JSON lines."""
    status, lines, _ = run(["servicers", "list", demo_open_kfid(), "--simulate"], capsys)
    assert status == 0
    assert lines == [
        {"userid": "zhangsan", "status": 0},
        {"userid": "lisi", "status": 1, "stop_type": 0},
    ]


def test_cli_servicers_list_as_table(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format table`` prints the members under a header."""
    assert main(["servicers", "list", demo_open_kfid(), "--simulate", "--format", "table"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["userid", "department_id", "status", "stop_type"]
    assert [line.split()[0] for line in out[2:]] == ["zhangsan", "lisi"]


def test_cli_servicers_add_with_a_failure_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """``servicers add`` prints one line per item; a failed item makes the exit status 1."""
    args = ["servicers", "add", demo_open_kfid(), "--userid", "wangwu", "--userid", "ghost"]
    status, lines, _ = run([*args, "--department", "2", "--simulate"], capsys)
    assert status == 1
    assert [(line.get("userid"), line.get("department_id"), line["ok"]) for line in lines] == [
        ("wangwu", None, True),
        ("ghost", None, False),
        (None, 2, True),
    ]
    assert lines[1]["errcode"] == 60111


def test_cli_servicers_delete(capsys: pytest.CaptureFixture[str]) -> None:
    """``servicers delete`` removes a demo servicer, exit status 0."""
    status, lines, _ = run(
        ["servicers", "delete", demo_open_kfid(), "--userid", "lisi", "--simulate"], capsys
    )
    assert (status, lines) == (
        0,
        [{"userid": "lisi", "ok": True, "errcode": 0, "errmsg": "success"}],
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add", "wkA"], "--userid or --department"),
        (["delete", "wkA", "--userid", "a b"], "--userid[0]"),
        (["add", "wkA", "--department", "0"], "--department[0]"),
        (["list", ""], "open_kfid"),
    ],
)
def test_cli_servicers_bad_input_exits_2(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad options exit 2 with one line naming the problem."""
    status, _, err = run(["servicers", *args, "--simulate"], capsys)
    assert status == 2
    assert message in err


def test_cli_servicers_unknown_account_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """WeCom's 95004 for an unknown account is one line on stderr, exit status 1."""
    status, lines, err = run(["servicers", "list", "wkNoSuchAccount", "--simulate"], capsys)
    assert (status, lines) == (1, [])
    assert "95004" in err
