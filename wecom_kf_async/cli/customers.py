"""``wecom-kf customers``: look customers up by external_userid (customer/batchget)."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from .._client import KfClient
from ..models import BatchGetResult, as_mapping
from ..resources.customers import normalize_ids
from ._common import ENV_CORP_ID, ENV_SECRET, Commands, UsageError, add_client_options

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``customers`` to *commands*."""
    customers = commands.add_parser(
        "customers",
        help="fetch customers by external_userid and print them as JSON lines",
        description=(
            "Fetch customers (customer/batchget, 100 ids per call, concurrently) and "
            "print one JSON object per distinct id, in input order. Credentials come "
            f"from {ENV_CORP_ID} and {ENV_SECRET}."
        ),
    )
    customers.add_argument("ids", nargs="*", metavar="ID", help="external_userid(s)")
    customers.add_argument(
        "--ids-file",
        metavar="F",
        help="read ids from F, one per line ('-' for stdin; default: none)",
    )
    customers.add_argument(
        "--context",
        action="store_true",
        help="include enter_session_context (default: off)",
    )
    customers.add_argument(
        "--no-progress",
        action="store_true",
        help="no progress bar on stderr (default: a bar for more than 100 ids)",
    )
    add_client_options(customers)
    customers.set_defaults(run=_run, check=_read_ids)


def _read_ids(args: argparse.Namespace) -> None:
    """Read and check the ids before any client is made (bad input exits 2)."""
    raw: list[str] = list(args.ids)
    if args.ids_file:
        try:
            if args.ids_file == "-":
                lines = sys.stdin.read().removeprefix("\ufeff").splitlines()
            else:
                # utf-8-sig: files saved by Windows Notepad start with a byte order mark.
                with open(args.ids_file, encoding="utf-8-sig") as handle:
                    lines = handle.read().splitlines()
        except OSError as exc:
            raise UsageError(f"cannot read --ids-file: {exc.strerror}: {args.ids_file}") from None
        raw.extend(line.strip() for line in lines if line.strip())
    if not raw:
        raise UsageError("no ids given: pass ID arguments or --ids-file")
    try:
        args.id_list = normalize_ids(raw)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, stream: IO[str], enabled: bool) -> None:
        self.total = total
        self.done = 0
        self.stream = stream
        self.enabled = enabled

    def advance(self, count: int) -> None:
        self.done += count
        if not self.enabled:
            return
        width = 30
        filled = width * self.done // self.total
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} ids"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _lines(ids: Sequence[str], page: BatchGetResult) -> list[dict[str, Any]]:
    """One JSON object per id of *page*, in the order of *ids* (the ids it covers)."""
    out: list[dict[str, Any]] = []
    for external_userid in ids:
        customer = page.get(external_userid)
        if customer is not None:
            out.append({"status": "ok", **as_mapping(customer)})
        elif external_userid in page.failed:
            exc = page.failed[external_userid]
            out.append(
                {
                    "status": "failed",
                    "external_userid": external_userid,
                    "error": type(exc).__name__,
                    "message": str(exc),
                }
            )
        else:
            out.append({"status": "invalid", "external_userid": external_userid})
    return out


async def _run(args: argparse.Namespace, kf: KfClient) -> int:
    ids: list[str] = args.id_list
    progress = _Progress(len(ids), sys.stderr, enabled=len(ids) > 100 and not args.no_progress)
    counts = {"ok": 0, "invalid": 0, "failed": 0}
    position = 0
    pages = kf.customers.iter_batch_get(ids, need_enter_session_context=args.context)
    async with contextlib.aclosing(pages):
        async for page in pages:
            size = len(page.customers) + len(page.invalid_external_userids) + len(page.failed)
            for line in _lines(ids[position : position + size], page):
                counts[line["status"]] += 1
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
            position += size
            progress.advance(size)
    progress.finish()
    sys.stdout.flush()
    print(
        f"{counts['ok']} customer(s), {counts['invalid']} invalid, {counts['failed']} failed",
        file=sys.stderr,
    )
    return 1 if counts["failed"] else 0
