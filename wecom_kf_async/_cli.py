"""The ``wecom-kf`` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from typing import IO, Any

from ._client import KfClient
from ._errors import ConfigurationError, KfError, PermissionDeniedError
from .models import BatchGetResult, as_mapping
from .resources.customers import normalize_ids

__all__ = ["main"]

ENV_CORP_ID = "WECOM_CORP_ID"
ENV_SECRET = "WECOM_KF_SECRET"  # noqa: S105 - the name of a variable, not a secret
ENV_BASE_URL = "WECOM_BASE_URL"


class UsageError(Exception):
    """Bad input from the command line: reported in one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wecom-kf",
        description="Command-line access to WeCom's WeChat Customer Service API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
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
        "--ids-file", metavar="F", help="read ids from F, one per line ('-' for stdin)"
    )
    customers.add_argument("--context", action="store_true", help="include enter_session_context")
    customers.add_argument(
        "--simulate",
        action="store_true",
        help="run against the bundled WeCom simulator (no credentials; ids starting "
        "with 'wm' exist there)",
    )
    customers.add_argument(
        "--base-url",
        default=None,
        metavar="URL",
        help=f"API root (default: ${ENV_BASE_URL} or https://qyapi.weixin.qq.com)",
    )
    customers.add_argument("--max-concurrency", type=int, default=None, metavar="N")
    customers.add_argument(
        "--rate-limit", type=float, default=None, metavar="R", help="calls per second"
    )
    customers.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def _read_ids(args: argparse.Namespace) -> list[str]:
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
        return normalize_ids(raw)
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


async def _customers(args: argparse.Namespace, ids: list[str], client: KfClient) -> int:
    progress = _Progress(len(ids), sys.stderr, enabled=len(ids) > 100 and not args.no_progress)
    counts = {"ok": 0, "invalid": 0, "failed": 0}
    position = 0
    async with client as kf:
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


def _client(args: argparse.Namespace) -> KfClient:
    options: dict[str, Any] = {}
    if args.max_concurrency is not None:
        options["max_concurrency"] = args.max_concurrency
    if args.rate_limit is not None:
        options["rate_limit"] = args.rate_limit
    if args.simulate:
        if args.base_url:
            raise UsageError("--base-url and --simulate exclude each other")
        from .testing import WeComSimulator, simulated_client

        return simulated_client(WeComSimulator(), **options)
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wecom-kf``; returns the exit status (0 ok, 1 failures, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        ids = _read_ids(args)
        client = _client(args)
        return asyncio.run(_customers(args, ids, client))
    except UsageError as exc:
        print(f"wecom-kf: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # bad option values (concurrency, rate)
        print(f"wecom-kf: error: {exc}", file=sys.stderr)
        return 2
    except ConfigurationError as exc:
        print(
            f"wecom-kf: error: WeCom rejected the credentials (errcode {exc.errcode}); "
            f"check {ENV_CORP_ID} and {ENV_SECRET}",
            file=sys.stderr,
        )
        return 1
    except PermissionDeniedError as exc:
        print(f"wecom-kf: error: not allowed: {exc}", file=sys.stderr)
        return 1
    except KfError as exc:
        print(f"wecom-kf: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
