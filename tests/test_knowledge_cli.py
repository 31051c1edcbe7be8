"""``wecom-kf knowledge``, run in process against ``--simulate`` (a demo corp each run)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wecom_kf_async.cli import main
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator.knowledge import DEFAULT_GROUP_NAME


def demo() -> WeComSimulator:
    """The demo corp every ``--simulate`` run starts with (seed 0)."""
    sim = WeComSimulator()
    sim.seed_demo()
    return sim


def demo_group_id() -> str:
    """The demo group "常见问题" (not the default one)."""
    return next(g.group_id for g in demo().corp.knowledge.groups.values() if not g.is_default)


def run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[Any], str]:
    """Run ``wecom-kf knowledge ...``; return the status, the JSON lines and stderr."""
    status = main(["knowledge", *args, "--simulate"])
    out, err = capsys.readouterr()
    return status, [json.loads(line) for line in out.splitlines()], err


def test_groups_prints_every_group_the_default_one_included(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``knowledge groups`` prints one JSON line per group, with is_default."""
    status, lines, _ = run(["groups"], capsys)
    assert status == 0
    assert lines == [
        {"group_id": demo().default_group_id, "name": DEFAULT_GROUP_NAME, "is_default": True},
        {"group_id": demo_group_id(), "name": "常见问题", "is_default": False},
    ]


def test_groups_as_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    """``--format table`` prints a header and one row per group."""
    assert main(["knowledge", "groups", "--simulate", "--format", "table"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["group_id", "name", "is_default"]
    assert out[2].split() == [demo().default_group_id, DEFAULT_GROUP_NAME, "true"]


def test_intents_prints_the_demo_intent_with_its_attachment(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``knowledge intents`` prints the question, similar questions, answer and attachments."""
    status, lines, _ = run(["intents", "--group", demo_group_id()], capsys)
    assert status == 0
    (line,) = lines
    assert (line["question"], line["similar_questions"]) == (
        "怎么退货?",
        ["如何退货", "可以退货吗"],
    )
    assert line["attachments"] == [{"msgtype": "image", "name": "avatar.png"}]


def test_add_group_prints_the_new_id(capsys: pytest.CaptureFixture[str]) -> None:
    status, lines, _ = run(["add-group", "--name", "售后"], capsys)
    assert status == 0
    assert lines[0]["name"] == "售后"
    assert lines[0]["group_id"] not in demo().corp.knowledge.groups


def test_add_intent_with_attachments_in_the_order_given(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Attachment options make attachments in command-line order; the new id is printed."""
    args = ["add-intent", "--group", demo_group_id(), "--question", "怎么换货?"]
    args += ["--answer", "联系客服。", "--similar", "换货", "--link", "政策", "https://example.com"]
    args += ["--image", "sim_demo_avatar"]
    status, lines, err = run(args, capsys)
    assert status == 0, err
    assert lines[0]["intent_id"].startswith("ki")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["add-group", "--name", "x" * 13], "--name is 13 characters long"),
        (["update-group", "has space", "--name", "x"], "group_id contains whitespace"),
        (["add-intent", "--group", "g", "--question", "q" * 201, "--answer", "a"], "--question"),
        (["update-intent", "i", "--image", "m"], "attachments need --answer"),
        (["update-intent", "i", "--similar", "s", "--no-similar"], "exclude each other"),
        (["update-intent", "i"], "needs question, similar_questions or answer"),
    ],
)
def test_bad_input_exits_2_before_any_request(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad option is reported in one line, exit status 2."""
    status = main(["knowledge", *args, "--simulate", "--stats"])
    err = capsys.readouterr().err
    assert status == 2
    assert message in err
    assert "kf/knowledge" not in err  # --stats: no knowledge call was made


def test_a_refusal_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    """WeCom's refusal (the default group cannot be deleted) is printed, exit status 1."""
    status, lines, err = run(["delete-group", demo().default_group_id], capsys)
    assert (status, lines) == (1, [])
    assert "default group" in err
