"""Every Python block of the docs and the README runs (``tests/snippets.py`` says how)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .snippets import blocks, pages

ROOT = Path(__file__).resolve().parents[1]
RUNNER = ROOT / "tests" / "snippets.py"
PAGES = [ROOT / "README.md", *pages(ROOT / "docs")]


def run_page(page: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, our own runner
        [sys.executable, str(RUNNER), str(page), str(ROOT)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_every_python_block_of_the_page_runs(page: Path, tmp_path: Path) -> None:
    done = run_page(page, tmp_path)
    assert done.returncode == 0, done.stderr[-4000:]
    assert f"{len(blocks(page))} block(s) ran" in done.stdout


def test_the_runner_reports_the_pages_own_line(tmp_path: Path) -> None:
    """A failing block's traceback names the page and the line in it."""
    page = tmp_path / "page.md"
    page.write_text(
        "# A page\n\n```python\nx = 1\n```\n\n<!--\n```python\ny = x + 1\n```\n-->\n\n"
        "Text.\n\n```python\nassert y == 2\nawait_me = None\nraise ValueError(y)\n```\n",
        encoding="utf-8",
    )
    found = blocks(page)
    assert [(b.line, b.hidden) for b in found] == [(4, False), (9, True), (16, False)]
    done = run_page(page, tmp_path)
    assert done.returncode == 1
    assert f'File "{page}", line 18' in done.stderr
    assert "ValueError: 2" in done.stderr


def test_top_level_await_and_asyncio_run_both_work(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "```python\nimport asyncio\n\nfrom wecom_kf_async import KfClient\n\n"
        'kf = KfClient(corp_id="ww0123456789abcdef", secret="...")\n'
        "await kf.__aenter__()\nfound = await kf.accounts.list()\nawait kf.aclose()\n```\n\n"
        "```python\nasync def main() -> int:\n    return len(found)\n\n\n"
        "assert asyncio.run(main()) == 1\n"
        'if __name__ == "__main__":\n    raise SystemExit("never")\n```\n',
        encoding="utf-8",
    )
    done = run_page(page, tmp_path)
    assert done.returncode == 0, done.stderr


def test_an_include_names_a_file_that_exists(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text('```python\n--8<-- "examples/nowhere.py"\n```\n', encoding="utf-8")
    (block,) = blocks(page)
    assert block.include == "examples/nowhere.py"
    done = run_page(page, tmp_path)
    assert done.returncode == 1
    assert "includes examples/nowhere.py" in done.stderr


def test_every_example_is_run_by_a_test() -> None:
    """Each file in examples/ is named by some test (the recipes include them)."""
    tests = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    for example in sorted((ROOT / "examples").glob("*.py")):
        assert example.stem in tests, f"no test runs examples/{example.name}"
