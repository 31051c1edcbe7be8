"""The errcode table rendered for the docs (``docs/errors-and-retries.md``), from its rows."""

from __future__ import annotations

from ._errcodes import ERRCODE_ROWS, Disposition, ErrcodeRow, ErrcodeSource, ErrorCategory
from ._errors import CATEGORY_CLASS

__all__ = ["errcode_markdown_table"]


def errcode_markdown_table() -> str:
    """The errcode table as Markdown, as the docs show it (rendered from ``ERRCODE_ROWS``)."""
    lines = [
        "| errcode | meaning | disposition | raises | retryable | source |",
        "|---|---|---|---|---|---|",
    ]
    rows = [ERRCODE_ROWS[code] for code in sorted(ERRCODE_ROWS)]
    for row in rows:
        lines.append(_markdown_row(str(row.code), row, _source_words(row)))
    other = ErrcodeRow(0, Disposition.FAIL, ErrorCategory.OTHER, "any code not listed")
    lines.append(_markdown_row("any other", other, "—"))
    return "\n".join(lines) + "\n"


def _markdown_row(code: str, row: ErrcodeRow, source: str) -> str:
    retryable = "yes" if row.disposition in (Disposition.RETRY, Disposition.THROTTLE) else "no"
    return (
        f"| {code} | {row.meaning} | `{row.disposition.name}` | "
        f"`{CATEGORY_CLASS[row.category].__name__}` | {retryable} | {source} |"
    )


def _source_words(row: ErrcodeRow) -> str:
    if row.source is ErrcodeSource.INVENTED:
        return "**invented**: WeCom documents none"
    if row.source is ErrcodeSource.TRANSCRIBED:
        return "unverified (SDK transcription)"
    return f"page {row.page}" if row.page is not None else "documented"
