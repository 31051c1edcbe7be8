"""``wecom-kf servicers``: who serves an account (list, add, delete)."""

from __future__ import annotations

import argparse
from typing import Any

from .. import _checks
from .._client import KfClient
from ..models import ServicerResults
from ._common import Commands, UsageError, add_client_options, emit

__all__ = ["register"]

_LIST_COLUMNS = ("userid", "department_id", "status", "stop_type")
_RESULT_COLUMNS = ("userid", "department_id", "ok", "errcode", "errmsg")


def register(commands: Commands) -> None:
    """Add ``servicers`` and its actions to *commands*."""
    servicers = commands.add_parser(
        "servicers",
        help="servicers of an account: list, add, delete",
        description="Manage who serves a KF account (接待人员): members and whole departments.",
    )
    actions = servicers.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list",
        help="print the servicers of an account",
        description="Print the servicers of a KF account: members (with status 0 "
        "receiving / 1 stopped, and stop_type 0 stopped / 1 suspended) and departments.",
    )
    listing.add_argument("open_kfid", metavar="OPEN_KFID", help="the account")
    add_client_options(listing)
    listing.set_defaults(run=_list, check=_check_list)

    for action, verb in (("add", "add"), ("delete", "remove")):
        parser = actions.add_parser(
            action,
            help=f"{verb} members and/or departments; one line per item",
            description=f"{verb.capitalize()} servicers of a KF account and print one result "
            "per userid, then per department, in the order given (more than 100 are sent "
            "in several calls). Exit status 1 if any item failed.",
        )
        parser.add_argument("open_kfid", metavar="OPEN_KFID", help="the account")
        parser.add_argument(
            "--userid",
            action="append",
            default=[],
            dest="userids",
            metavar="USERID",
            help="a member's userid; repeat for several (default: none)",
        )
        parser.add_argument(
            "--department",
            action="append",
            type=int,
            default=[],
            dest="department_ids",
            metavar="ID",
            help="a department id; repeat for several (default: none)",
        )
        add_client_options(parser)
        parser.set_defaults(run=_add if action == "add" else _delete, check=_check_change)


def _present(**fields: Any) -> dict[str, Any]:
    """The fields that have a value (a member has no department_id, and so on)."""
    return {key: value for key, value in fields.items() if value is not None}


def _check_list(args: argparse.Namespace) -> None:
    try:
        _checks.open_kfid(args.open_kfid)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _check_change(args: argparse.Namespace) -> None:
    _check_list(args)
    if not args.userids and not args.department_ids:
        raise UsageError("give at least one --userid or --department")
    try:
        _checks.id_list("--userid", args.userids, _checks.userid)
        _checks.id_list("--department", args.department_ids, _checks.department_id)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


async def _list(args: argparse.Namespace, kf: KfClient) -> int:
    servicers = await kf.servicers.list(args.open_kfid)
    rows = [
        _present(
            userid=servicer.userid,
            department_id=servicer.department_id,
            status=servicer.status,
            stop_type=servicer.stop_type,
        )
        for servicer in servicers
    ]
    emit(rows, args.format, _LIST_COLUMNS)
    return 0


def _emit_results(results: ServicerResults, fmt: str) -> int:
    rows = [
        _present(
            userid=result.userid,
            department_id=result.department_id,
            ok=result.ok,
            errcode=result.errcode,
            errmsg=result.errmsg,
        )
        for result in results
    ]
    emit(rows, fmt, _RESULT_COLUMNS)
    return 0 if results.ok else 1


async def _add(args: argparse.Namespace, kf: KfClient) -> int:
    results = await kf.servicers.add(
        args.open_kfid, userids=args.userids, department_ids=args.department_ids
    )
    return _emit_results(results, args.format)


async def _delete(args: argparse.Namespace, kf: KfClient) -> int:
    results = await kf.servicers.delete(
        args.open_kfid, userids=args.userids, department_ids=args.department_ids
    )
    return _emit_results(results, args.format)
