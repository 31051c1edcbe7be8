"""MkDocs hooks: regions of pages rendered from the code at build time.

A page marks a region with ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``; the
build replaces what is between with the table the code renders, so the site never
shows a table that drifted from the code. ``tests/test_docs_site.py`` checks that
the Markdown files hold the same text (they read well on the repository page too).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def _generators() -> dict[str, Callable[[], str]]:
    from wecom_kf_async._endpoints import markdown_table
    from wecom_kf_async._errtable import errcode_markdown_table

    return {"endpoint-table": markdown_table, "errcode-table": errcode_markdown_table}


def regenerate(markdown: str) -> str:
    """*markdown* with every generated region rendered afresh."""
    for name, render in _generators().items():
        pattern = re.compile(rf"(<!-- {name}:start -->\n)(.*?)(<!-- {name}:end -->)", re.S)
        markdown = pattern.sub(lambda m, r=render: m.group(1) + r() + m.group(3), markdown)
    return markdown


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    """MkDocs hook: render the generated regions of each page."""
    return regenerate(markdown)
