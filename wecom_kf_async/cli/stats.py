"""``wecom-kf stats``: daily statistics (corp, servicer), one row per day."""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import attrs

from .._client import KfClient
from ..models import CHINA_TZ, CorpMetrics, CorpStatistic, ServicerMetrics, ServicerStatistic
from ._common import Commands, UsageError, add_client_options, emit

__all__ = ["register"]

#: Days shown when neither --from nor --to is given (the week up to yesterday).
_DEFAULT_DAYS = 7


def register(commands: Commands) -> None:
    """Add ``stats`` to *commands*."""
    stats = commands.add_parser(
        "stats",
        help="daily statistics of an account or of its servicers",
        description="Print one row per day (China time): JSON lines, or a table with "
        "--format table. WeCom answers for yesterday back to 180 days ago; longer "
        "ranges than 31 days are fetched in several calls.",
    )
    groups = stats.add_subparsers(dest="stats_command", required=True, metavar="WHAT")

    corp = groups.add_parser(
        "corp",
        help="the summary statistics of one account (get_corp_statistic)",
        description="Daily summary statistics of one KF account (WeCom requires the "
        "account, page 37457).",
    )
    corp.add_argument("open_kfid", metavar="OPEN_KFID", help="the KF account")
    _add_range(corp)
    add_client_options(corp)
    corp.set_defaults(run=_run_corp, check=_check_range)

    servicer = groups.add_parser(
        "servicer",
        help="statistics of an account's servicers (get_servicer_statistic)",
        description="Daily statistics of the servicers of one KF account, or of one "
        "servicer with --servicer.",
    )
    servicer.add_argument("open_kfid", metavar="OPEN_KFID", help="the KF account")
    _add_range(servicer)
    servicer.add_argument(
        "--servicer",
        default=None,
        metavar="USERID",
        help="one servicer's userid (default: none, the account's servicers together)",
    )
    add_client_options(servicer)
    servicer.set_defaults(run=_run_servicer, check=_check_range)


def _add_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="start",
        default=None,
        metavar="YYYY-MM-DD",
        help=f"first day, China time (default: {_DEFAULT_DAYS - 1} days before --to)",
    )
    parser.add_argument(
        "--to",
        dest="end",
        default=None,
        metavar="YYYY-MM-DD",
        help="last day, included (default: yesterday, China time)",
    )


def _day(option: str, value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} must be a date as YYYY-MM-DD, got {value!r}") from None


def _check_range(args: argparse.Namespace) -> None:
    """Parse --from/--to (with their defaults) before any client is made."""
    if args.end is not None:
        end = _day("--to", args.end)
    else:
        end = dt.datetime.fromtimestamp(time.time(), CHINA_TZ).date() - dt.timedelta(days=1)
    if args.start is not None:
        start = _day("--from", args.start)
    else:
        start = end - dt.timedelta(days=_DEFAULT_DAYS - 1)
    if start > end:
        raise UsageError(f"--from ({start}) is after --to ({end})")
    args.start_day, args.end_day = start, end


def _flat(
    rows: Sequence[CorpStatistic | ServicerStatistic],
    metrics: type[CorpMetrics] | type[ServicerMetrics],
) -> tuple[list[dict[str, Any]], list[str]]:
    """One flat mapping per day (date, stat_time, every metric), and the table's columns."""
    names = [field.name for field in attrs.fields(metrics)]
    columns = ["date", *names]
    out: list[dict[str, Any]] = []
    for row in rows:
        values = attrs.asdict(row.statistic) if row.statistic is not None else {}
        day = {"date": row.date.isoformat(), "stat_time": row.stat_time}
        out.append({**day, **{name: values.get(name) for name in names}})
    return out, columns


async def _run_corp(args: argparse.Namespace, kf: KfClient) -> int:
    rows = await kf.statistics.corp(args.start_day, args.end_day, args.open_kfid)
    flat, columns = _flat(rows, CorpMetrics)
    emit(flat, args.format, columns)
    return 0


async def _run_servicer(args: argparse.Namespace, kf: KfClient) -> int:
    rows = await kf.statistics.servicer(
        args.open_kfid, args.start_day, args.end_day, servicer_userid=args.servicer
    )
    flat, columns = _flat(rows, ServicerMetrics)
    emit(flat, args.format, columns)
    return 0
