"""The messages guide's echo bot runs as written against the simulator."""

from __future__ import annotations

import re
from pathlib import Path

from .conftest import run_python

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "messages.md"


def test_the_echo_bot_of_the_guide_runs_and_answers(tmp_path: Path) -> None:
    """Its first Python block, run in a fresh interpreter, prints the two answers sent."""
    (block, *_) = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), re.S)
    done = run_python(block, tmp_path, "echo_bot.py")
    assert done.returncode == 0, done.stderr
    assert "Welcome! Ask me anything." in done.stdout
    assert "You said: Hello!" in done.stdout
    assert (tmp_path / "cursors.json").exists()
