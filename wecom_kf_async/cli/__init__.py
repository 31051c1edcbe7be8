"""The ``wecom-kf`` command: one subcommand module per resource group."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .._client import KfClient
from .._errors import ConfigurationError, KfError, OutcomeUnknownError, PermissionDeniedError
from . import accounts, customers, media, servicers, session, stats
from . import knowledge as knowledge_cli
from ._common import ENV_CORP_ID, ENV_SECRET, UsageError, client_from, print_stats

__all__ = ["main"]

#: The subcommand modules, in the order ``--help`` lists them.
_MODULES = (customers, accounts, servicers, session, stats, media, knowledge_cli)


def _parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="wecom-kf",
        description="Command-line access to WeCom's WeChat Customer Service API. "
        f"Credentials come from {ENV_CORP_ID} and {ENV_SECRET}; every subcommand "
        "also runs against the bundled simulator with --simulate.",
    )
    parser.add_argument("--version", action="version", version=f"wecom-kf {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _MODULES:
        module.register(commands)
    return parser


async def _main(args: argparse.Namespace, client: KfClient) -> int:
    try:
        async with client as kf:
            status: int = await args.run(args, kf)
    finally:
        print_stats(client)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``wecom-kf``; returns the exit status (0 ok, 1 failures, 2 bad input)."""
    args = _parser().parse_args(argv)
    try:
        check = getattr(args, "check", None)
        if check is not None:
            check(args)
        client = client_from(args)
        return asyncio.run(_main(args, client))
    except UsageError as exc:
        print(f"wecom-kf: error: {exc}", file=sys.stderr)
        return 2
    except (TypeError, ValueError) as exc:  # bad option values, checked by the library
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
    except OutcomeUnknownError as exc:
        print(f"wecom-kf: error: {exc}", file=sys.stderr)
        return 1
    except KfError as exc:
        print(f"wecom-kf: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
