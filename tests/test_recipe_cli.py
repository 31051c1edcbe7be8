"""Every command of the CLI recipe (docs/recipes/cli-script.md) runs and prints what it shows.

How the page is read:

- A ```` ```console ```` block is a terminal session: a line starting with ``$ ``
  is a command, and the lines after it, up to the next command, are what it prints
  (stdout and stderr together, in order). An expected line ending in ``...`` matches
  any line that starts with the text before the dots.
- A ```` ```sh ```` block without a title is a list of commands: each line (a
  trailing ``\\`` continues it) runs, comments and blank lines aside. Its output is
  not compared.
- A ```` ```sh title="NAME" ```` block is a script: it is written to the file NAME,
  and a command of the page must run it.

The commands run in page order, each in ``sh -c``, in one temporary directory (a
file made by one command is there for the next). ``wecom-kf`` on the ``PATH`` is a
wrapper that runs ``python -m wecom_kf_async.cli`` of this checkout and refuses to
run without ``--simulate``: no command of the page may reach a real WeCom. Every
command must exit 0.
"""

from __future__ import annotations

import os
import re
import shlex
import stat
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "recipes" / "cli-script.md"

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="the recipe is for a POSIX shell")

_FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.M | re.S)
_TITLE = re.compile(r'title="([^"]+)"')
_SHELLS = {"sh", "shell", "bash", "console"}


class Command(NamedTuple):
    """One command of the page, and what the page says it prints (None: not shown)."""

    line: int  # its line in the page
    text: str
    expected: list[str] | None


class Page(NamedTuple):
    commands: list[Command]
    scripts: dict[str, str]  # file name -> content


def _logical_lines(lines: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Join lines that end with a backslash to the next one."""
    joined: list[tuple[int, str]] = []
    pending: tuple[int, str] | None = None
    for number, text in lines:
        if pending is not None:
            number, text = pending[0], pending[1] + " " + text.lstrip()
            pending = None
        if text.endswith("\\"):
            pending = (number, text[:-1].rstrip())
            continue
        joined.append((number, text))
    assert pending is None, f"line {pending[0]}: a continuation with nothing after it"
    return joined


def read_page(page: Path) -> Page:
    """The commands and the scripts of *page*, in order."""
    text = page.read_text(encoding="utf-8")
    commands: list[Command] = []
    scripts: dict[str, str] = {}
    for match in _FENCE.finditer(text):
        info = match.group("info").strip()
        language = info.split(" ")[0].lower()
        if language not in _SHELLS:
            continue
        first = text.count("\n", 0, match.start("body")) + 1
        body = match.group("body").splitlines()
        numbered = [(first + i, line.rstrip()) for i, line in enumerate(body)]
        if language == "console":
            for number, line in numbered:
                if line.startswith("$ "):
                    commands.append(Command(number, line[2:], []))
                else:
                    assert commands, f"{page}:{number}: output before any command"
                    expected = commands[-1].expected
                    assert expected is not None
                    expected.append(line)
            continue
        title = _TITLE.search(info)
        if title is not None:
            scripts[title.group(1)] = "\n".join(line for _, line in numbered) + "\n"
            continue
        for number, line in _logical_lines(numbered):
            if line.strip() and not line.lstrip().startswith("#"):
                commands.append(Command(number, line, None))
    return Page(commands, scripts)


def _matches(expected: list[str], actual: list[str]) -> bool:
    if len(expected) != len(actual):
        return False
    for want, got in zip(expected, actual, strict=True):
        if want.endswith("..."):
            if not got.startswith(want[:-3]):
                return False
        elif want != got:
            return False
    return True


WRAPPER = """#!/bin/sh
# wecom-kf for the recipe's test: this checkout's CLI, and only against the simulator.
for arg in "$@"; do
    if [ "$arg" = "--simulate" ]; then
        exec {python} -m wecom_kf_async.cli "$@"
    fi
done
echo "test_recipe_cli: wecom-kf run without --simulate: $*" >&2
exit 99
"""


def _environment(bin_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WECOM_")}
    env["PATH"] = os.pathsep.join((str(bin_dir), env.get("PATH", "")))
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"  # stdout and stderr interleave as in a terminal
    env["LC_ALL"] = "C.UTF-8"
    return env


def test_the_page_has_commands_and_scripts() -> None:
    """The parser finds the page's commands (a test that runs nothing proves nothing)."""
    page = read_page(PAGE)
    wecom_kf = [c for c in page.commands if c.text.startswith("wecom-kf ")]
    assert len(wecom_kf) >= 6
    assert all("--simulate" in shlex.split(c.text) for c in wecom_kf)
    assert sum(c.expected is not None for c in page.commands) >= 8
    assert set(page.scripts) == {"export-customers.sh"}
    for name in page.scripts:
        assert any(name in shlex.split(c.text) for c in page.commands), f"nothing runs {name}"


def test_every_command_of_the_page_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    page = read_page(PAGE)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "wecom-kf"
    wrapper.write_text(WRAPPER.format(python=shlex.quote(sys.executable)), encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    work = tmp_path / "work"
    work.mkdir()
    for name, content in page.scripts.items():
        (work / name).write_text(content, encoding="utf-8")
    env = _environment(bin_dir)

    for command in page.commands:
        where = f"{PAGE.name}:{command.line}: {command.text}"
        done = subprocess.run(  # noqa: S603 - the page's own commands, in a temp directory
            ["/bin/sh", "-c", command.text],
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{where}\nexit status {done.returncode}\n{done.stdout}"
        if command.expected is not None:
            actual = [line.rstrip() for line in done.stdout.splitlines()]
            shown = "\n".join(command.expected)
            assert _matches(command.expected, actual), (
                f"{where}\nthe page shows:\n{shown}\nthe command printed:\n{done.stdout}"
            )


def test_the_wrapper_refuses_a_command_without_simulate(tmp_path: Path) -> None:
    """The guard itself works: a command without --simulate fails instead of calling WeCom."""
    wrapper = tmp_path / "wecom-kf"
    wrapper.write_text(WRAPPER.format(python=shlex.quote(sys.executable)), encoding="utf-8")
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    done = subprocess.run(  # noqa: S603 - our own wrapper
        [str(wrapper), "accounts", "list"],
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 99
    assert "without --simulate" in done.stderr


def test_the_parser_reads_sessions_scripts_and_continuations(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```console\n$ echo a\na\n$ true\n```\n\n"
        '```sh title="s.sh"\necho from s\n```\n\n'
        "```sh\n# a comment\nexport X=1\necho one \\\n  two\n```\n\n"
        "```python\nprint('not a shell block')\n```\n",
        encoding="utf-8",
    )
    read = read_page(page)
    assert read.commands == [
        Command(2, "echo a", ["a"]),
        Command(4, "true", []),
        Command(13, "export X=1", None),
        Command(14, "echo one two", None),
    ]
    assert read.scripts == {"s.sh": "echo from s\n"}
    assert _matches(["a ...", "b"], ["a b c", "b"])
    assert not _matches(["a"], ["a", "b"])
