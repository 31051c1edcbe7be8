"""The observability guide: every Python block runs, and prints what the guide says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import run_python

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "observability.md"
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)


def blocks() -> list[tuple[str, str | None]]:
    """Each Python block with the text block right after it when the guide says 'It prints'."""
    text = GUIDE.read_text(encoding="utf-8")
    found = list(BLOCK.finditer(text))
    pairs: list[tuple[str, str | None]] = []
    for index, match in enumerate(found):
        if match.group(1) != "python":
            continue
        following = found[index + 1] if index + 1 < len(found) else None
        printed = None
        if following is not None and following.group(1) == "text":
            between = text[match.end() : following.start()]
            if "It prints" in between:
                printed = following.group(2)
        pairs.append((match.group(2), printed))
    return pairs


def test_the_guide_has_its_runnable_examples() -> None:
    assert len(blocks()) >= 6
    assert sum(printed is not None for _, printed in blocks()) == 2


@pytest.mark.parametrize("index", range(len(blocks())))
def test_block_runs_and_prints_what_the_guide_says(index: int, tmp_path: Path) -> None:
    code, printed = blocks()[index]
    done = run_python(code, tmp_path, f"block{index}.py")
    assert done.returncode == 0, done.stderr
    if printed is not None:
        assert done.stdout.splitlines() == printed.splitlines()


def test_the_cli_example_prints_what_the_guide_says(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    (example,) = re.findall(r"```text\n\$ (wecom-kf .*?)```", text, re.S)
    command, *expected = example.splitlines()
    args = command.split(">")[0].split()[1:]
    done = subprocess.run(  # noqa: S603 - this interpreter, our own command
        [sys.executable, "-m", "wecom_kf_async.cli", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == expected
    assert len(done.stdout.splitlines()) == 2
