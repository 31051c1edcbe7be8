"""What every ``wecom-kf`` subcommand shares: options, the client, output, errors."""

from __future__ import annotations

import argparse
import json
import os
import sys
import unicodedata
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

from .._client import KfClient
from ..instrumentation import StatsInstrumentation, get_default_instrumentation

__all__ = [
    "ENV_BASE_URL",
    "ENV_CORP_ID",
    "ENV_SECRET",
    "Commands",
    "Run",
    "UsageError",
    "add_client_options",
    "client_from",
    "emit",
    "print_stats",
]

ENV_CORP_ID = "WECOM_CORP_ID"
ENV_SECRET = "WECOM_KF_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_BASE_URL = "WECOM_BASE_URL"

#: A subcommand's body: it gets the parsed arguments and an open client.
Run: TypeAlias = Callable[[argparse.Namespace, KfClient], Awaitable[int]]
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def add_client_options(parser: argparse.ArgumentParser) -> None:
    """The options every subcommand takes: where to send, how fast, which format."""
    parser.add_argument(
        "--simulate",
        action="store_true",
        help="run against the bundled WeCom simulator, seeded with a demo corp (no "
        "credentials needed; default: the real API)",
    )
    parser.add_argument(
        "--corp",
        default=None,
        metavar="CORP_ID",
        help="the corp to act for when the credentials are a provider's (third-party or "
        "agency-built app; see docs/cli.md)",
    )
    parser.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help=f"API root (default: ${ENV_BASE_URL}, else https://qyapi.weixin.qq.com)",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=None,
        metavar="N",
        help="requests in flight at once (default: 20)",
    )
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=None,
        metavar="R",
        help="calls per second on each endpoint (default: 150)",
    )
    parser.add_argument(
        "--format",
        choices=("json", "table"),
        default="json",
        help="output: one JSON object per line, or a readable table (default: json)",
    )
    parser.add_argument(
        "--stats",
        action="store_true",
        help="at the end, print to stderr the calls per path, the retries by cause and "
        "the time spent waiting on the rate limiter",
    )


def client_from(args: argparse.Namespace) -> KfClient:
    """The client the options ask for; credentials come from the environment."""
    options: dict[str, Any] = {}
    if getattr(args, "stats", False):
        options["instrumentation"] = [*get_default_instrumentation(), StatsInstrumentation()]
    if args.max_concurrency is not None:
        options["max_concurrency"] = args.max_concurrency
    if args.rate_limit is not None:
        options["rate_limit"] = args.rate_limit
    if args.simulate and args.base_url:
        raise UsageError("--base-url and --simulate exclude each other")
    if getattr(args, "corp", None):
        from ._provider import corp_client

        base_url = args.base_url or os.environ.get(ENV_BASE_URL)
        if base_url and not args.simulate:
            options["base_url"] = base_url
        return corp_client(args, options, UsageError)
    if args.simulate:
        from ..testing import WeComSimulator, simulated_client

        sim = WeComSimulator()
        sim.seed_demo()
        return simulated_client(sim, **options)
    corp_id = os.environ.get(ENV_CORP_ID, "")
    secret = os.environ.get(ENV_SECRET, "")
    if not corp_id or not secret:
        raise UsageError(
            f"set {ENV_CORP_ID} and {ENV_SECRET} (or use --simulate to try the simulator)"
        )
    base_url = args.base_url or os.environ.get(ENV_BASE_URL)
    if base_url:
        options["base_url"] = base_url
    return KfClient(corp_id=corp_id, secret=secret, **options)


def print_stats(client: KfClient) -> None:
    """Print the ``--stats`` summary of *client* to stderr (if it has one)."""
    for hook in client.instrumentation.hooks:
        if isinstance(hook, StatsInstrumentation):
            print(f"wecom-kf stats:\n{hook.summary()}", file=sys.stderr)


def emit(
    rows: Iterable[Mapping[str, Any]],
    fmt: str,
    columns: Sequence[str] | None = None,
) -> None:
    """Print *rows* as JSON lines, or as a table with *columns* (default: the first row's keys)."""
    if fmt == "json":
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
        return
    listed = list(rows)
    if not listed:
        sys.stdout.write("(none)\n")
        return
    heads = list(columns or listed[0])
    cells = [[_cell(row.get(head)) for head in heads] for row in listed]
    widths = [max(_width(h), *(_width(c[i]) for c in cells)) for i, h in enumerate(heads)]
    sys.stdout.write(_line(heads, widths))
    sys.stdout.write("  ".join("-" * w for w in widths) + "\n")
    for row_cells in cells:
        sys.stdout.write(_line(row_cells, widths))


def _width(text: str) -> int:
    """Columns *text* takes in a terminal (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _line(cells: Sequence[str], widths: Sequence[int]) -> str:
    padded = (c + " " * (w - _width(c)) for c, w in zip(cells, widths, strict=True))
    return "  ".join(padded).rstrip() + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, default=str)
