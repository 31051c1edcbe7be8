"""The documentation site: it builds with --strict, and its pages look right in Chromium.

The site is built once per run (``mkdocs build --strict`` into a temporary
directory) and served on a loopback port. Three pages (the home page, the API
reference of ``KfClient`` and a guide) are opened in headless Chromium (Debian's
package); each is screenshotted into ``.screenshots/`` and checked: its DOM holds
the page's title and text, and the picture shows Material's coloured header bar,
a navigation column with text in it and a content column with text, on a light
background. An empty page or one rendered without its stylesheet fails.
Without Chromium the screenshot tests skip, unless ``CI`` is set: then they fail.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / ".screenshots"
WIDTH, HEIGHT = 1280, 1000
#: Material's "teal" primary colour, the header bar's.
TEAL = (0x00, 0x96, 0x88)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    f"--window-size={WIDTH},{HEIGHT}",
]


def _load_hooks() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "docs_hooks", ROOT / "docs" / "_tools" / "hooks.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built with --strict (a warning fails the build)."""
    out = tmp_path_factory.mktemp("site")
    done = subprocess.run(  # noqa: S603 - this interpreter, mkdocs
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def served(site: Path) -> Iterator[str]:
    """The site on a loopback port."""
    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output clean."""


@pytest.fixture(scope="module")
def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        message = "no chromium on PATH (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_the_site_builds_strict_with_every_page(site: Path) -> None:
    """Every nav page is built; the reference pages render the code's docstrings."""
    for page in ("index.html", "getting-started/index.html", "changelog/index.html"):
        assert (site / page).is_file(), page
    reference = (site / "reference" / "wecom_kf_async" / "index.html").read_text(encoding="utf-8")
    assert 'id="wecom_kf_async.KfClient"' in reference
    assert "Hooks that receive the client" in reference  # KfClient's Args, from its docstring
    models = (site / "reference" / "models" / "index.html").read_text(encoding="utf-8")
    assert 'id="wecom_kf_async.models.Customer"' in models


def test_generated_tables_match_the_code(site: Path) -> None:
    """The Markdown files hold the tables the code renders; the site shows them."""
    hooks = _load_hooks()
    for page in sorted((ROOT / "docs").rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        assert hooks.regenerate(text) == text, f"{page}: a generated table drifted from the code"
    from wecom_kf_async._errtable import errcode_markdown_table

    html = (site / "errors-and-retries" / "index.html").read_text(encoding="utf-8")
    for row in errcode_markdown_table().splitlines()[2:]:
        code = row.split("|")[1].strip()
        assert f"<td>{code}</td>" in html, code


def _shoot(chromium: str, url: str, name: str, tmp_path: Path) -> tuple[Path, str]:
    """Screenshot *url* and dump its DOM (after scripts ran)."""
    SHOTS.mkdir(exist_ok=True)
    shot = SHOTS / f"{name}.png"
    profile = tmp_path / f"profile-{name}"
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    done = subprocess.run(  # noqa: S603 - Debian's chromium, our own page
        [*common, f"--screenshot={shot}", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = subprocess.run(  # noqa: S603 - the same
        [*common, "--dump-dom", url], capture_output=True, text=True, timeout=120, check=False
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    return shot, dom.stdout


def _near(pixel: tuple[int, ...], colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def _dark(pixel: tuple[int, ...]) -> bool:
    return sum(pixel[:3]) < 3 * 110


def _check_layout(shot: Path) -> None:
    """Header bar, navigation with text, content with text, light background."""
    from PIL import Image

    with Image.open(shot) as opened:
        image = opened.convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    pixel = image.getpixel

    def share(box: tuple[int, int, int, int], test: Any, step: int = 3) -> float:
        left, top, right, bottom = box
        hits = total = 0
        for y in range(top, bottom, step):
            for x in range(left, right, step):
                total += 1
                hits += bool(test(pixel((x, y))))
        return hits / total

    header = share((0, 2, WIDTH, 46), lambda p: _near(p, TEAL))
    assert header > 0.6, f"{shot.name}: no coloured header bar ({header:.0%} teal): unstyled page?"
    background = share((0, 60, WIDTH, HEIGHT), lambda p: min(p[:3]) > 235)
    assert background > 0.6, f"{shot.name}: background not light ({background:.0%})"
    navigation = share((0, 60, 300, HEIGHT), _dark, step=2)
    assert navigation > 0.005, f"{shot.name}: the navigation column is empty"
    content = share((300, 60, 1000, HEIGHT), _dark, step=2)
    assert content > 0.01, f"{shot.name}: the content column is empty ({content:.2%} text)"


PAGES = {
    "home": ("/", "wecom_kf_async", "asyncio client"),
    "reference-kfclient": (
        "/reference/wecom_kf_async/",
        "wecom_kf_async",
        "KfClient",
    ),
    "guide-messages": ("/messages/", "Messages", "sync_msg"),
}


@pytest.mark.parametrize("name", list(PAGES))
def test_the_page_renders_in_chromium(
    name: str, served: str, chromium: str, tmp_path: Path
) -> None:
    path, title, text = PAGES[name]
    shot, dom = _shoot(chromium, served + path, name, tmp_path)
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", dom, re.S)
    assert h1 is not None, f"{name}: no <h1>"
    assert title in re.sub(r"<[^>]+>", "", h1.group(1))
    assert text in dom
    assert 'class="md-header' in dom
    assert 'class="md-nav' in dom
    assert len(re.sub(r"<[^>]+>", " ", dom).split()) > 200, f"{name}: almost no text"
    _check_layout(shot)
