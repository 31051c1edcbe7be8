"""Run every Python block of a docs page, in order, against the simulator.

Usage: ``python tests/snippets.py docs/PAGE.md`` (the test suite runs each page in
a fresh interpreter, in a temporary directory; see ``test_docs_snippets.py``).

How a page runs:

- Its ```` ```python ```` blocks run in page order in one namespace, as a reader
  pasting them one after another would run them. A block may use top-level
  ``await`` (it then runs on the page's event loop); a block without one runs as
  plain code, so ``asyncio.run(main())`` works in it.
- A block inside an HTML comment (``<!-- ... -->``) is hidden from readers and
  runs like the others: the setup a fragment needs (an open ``kf``, an account).
- A block whose only line is a ``--8<--`` include shows a file that its own test
  runs (an example); it is checked to exist and skipped here.
- Every ``KfClient`` made without a transport talks to ``sim``, a
  :class:`WeComSimulator` that knows the docs' credentials
  (``corp_id="ww0123456789abcdef"``, ``secret="..."``) and is seeded with the demo
  corp; it is in the namespace for hidden blocks. Backoff waits are zero.
- ``__name__`` is ``"__docs__"``: an ``if __name__ == "__main__":`` part (a server
  that would run forever) is skipped.

A failing block exits non-zero with a traceback whose file name and line numbers
are the page's own.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

#: The credentials the docs use in their examples.
DOCS_CORP_ID = "ww0123456789abcdef"
DOCS_SECRET = "..."

_FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<info>[^\n`]*)\n(?P<body>.*?)^(?P=indent)```[ \t]*$", re.M | re.S
)
_INCLUDE = re.compile(r'^\s*--8<--\s+"([^"]+)"\s*$')


class Block(NamedTuple):
    """One Python block of a page."""

    line: int  # the 1-based line of its first code line in the page
    source: str
    hidden: bool  # inside an HTML comment
    include: str | None  # the file a ``--8<--`` block shows


def _in_comment(text: str, offset: int) -> bool:
    return text.rfind("<!--", 0, offset) > text.rfind("-->", 0, offset)


def _dedent(body: str, indent: str) -> str:
    return "".join(line.removeprefix(indent) for line in body.splitlines(keepends=True))


def blocks(page: Path) -> list[Block]:
    """The Python blocks of *page*, in order."""
    text = page.read_text(encoding="utf-8")
    found: list[Block] = []
    for match in _FENCE.finditer(text):
        language = match.group("info").strip().split(" ")[0].lower()
        if language not in {"python", "py"}:
            continue
        body = _dedent(match.group("body"), match.group("indent"))
        lines = [line for line in body.splitlines() if line.strip()]
        include = None
        if len(lines) == 1 and (hit := _INCLUDE.match(lines[0])):
            include = hit.group(1)
        found.append(
            Block(
                line=text.count("\n", 0, match.start("body")) + 1,
                source=body,
                hidden=_in_comment(text, match.start()),
                include=include,
            )
        )
    return found


def pages(docs: Path) -> Iterator[Path]:
    """The pages under *docs* that have Python blocks."""
    for page in sorted(docs.rglob("*.md")):
        if blocks(page):
            yield page


def _route_clients_to(sim: Any) -> None:
    """Make every KfClient made without a transport talk to *sim*, in process."""
    import httpx

    from wecom_kf_async import _client

    def transport(max_connections: int) -> httpx.AsyncBaseTransport:
        return httpx.ASGITransport(app=sim)

    _client.default_transport = transport  # type: ignore[assignment]


def namespace() -> dict[str, Any]:
    """The namespace a page starts with: ``sim`` and nothing else."""
    from wecom_kf_async import set_testing
    from wecom_kf_async.testing import WeComSimulator

    set_testing(True)
    sim = WeComSimulator(corp_id=DOCS_CORP_ID, secret=DOCS_SECRET)
    sim.seed_demo()
    _route_clients_to(sim)
    return {"__name__": "__docs__", "__builtins__": __builtins__, "sim": sim}


def run_page(page: Path, root: Path) -> None:
    """Run the blocks of *page* (raises what a block raises)."""
    ns = namespace()
    loop = asyncio.new_event_loop()
    try:
        for block in blocks(page):
            if block.include is not None:
                if not (root / block.include).is_file():
                    raise FileNotFoundError(f"{page}:{block.line}: includes {block.include}")
                continue
            padded = "\n" * (block.line - 1) + block.source
            code = compile(padded, str(page), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
            if code.co_flags & inspect.CO_COROUTINE:
                loop.run_until_complete(eval(code, ns))  # noqa: S307 - our own docs
            else:
                exec(code, ns)  # noqa: S102 - our own docs
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


def main(argv: list[str]) -> int:
    """Run the page named by *argv* (``snippets.py PAGE [ROOT]``)."""
    page = Path(argv[0]).resolve()
    root = Path(argv[1]).resolve() if len(argv) > 1 else Path(__file__).resolve().parents[1]
    run_page(page, root)
    print(f"{page.name}: {len(blocks(page))} block(s) ran")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
