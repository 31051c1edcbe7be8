"""Daily statistics of KF accounts and servicers (``kf.statistics``).

WeCom counts days in China time (UTC+8) and takes a day as the epoch seconds of
its midnight there. It answers only for past days (yesterday back to 180 days
ago) and at most :data:`STATISTIC_MAX_SPAN_DAYS` days per call, so a longer range
is split into several calls and the rows put back together, one per day (pages
37457 and 37469). Sessions managed through the API have no statistics before
:data:`STATISTICS_FIRST_DAY`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from .. import _checks
from .._constants import LOGGER_NAME
from .._endpoints import ENDPOINTS, Endpoint
from .._pipeline import Caller
from ..models import (
    CHINA_TZ,
    CorpStatistic,
    CorpStatisticAnswer,
    ServicerStatistic,
    ServicerStatisticAnswer,
)
from ._base import Resource

__all__ = [
    "STATISTICS_FIRST_DAY",
    "STATISTIC_MAX_DAYS_BACK",
    "STATISTIC_MAX_SPAN_DAYS",
    "StatisticsAPI",
    "day_timestamp",
    "split_days",
]

logger = logging.getLogger(LOGGER_NAME)

GET_CORP_STATISTIC = ENDPOINTS["kf/get_corp_statistic"]
GET_SERVICER_STATISTIC = ENDPOINTS["kf/get_servicer_statistic"]

#: Most days one statistics call may cover, both ends included (pages 37457 and 37469:
#: "查询时间区间[start_time, end_time]为闭区间，最大查询跨度为31天"). Read as 31
#: calendar days, first and last included, the safe reading of "span" (a 32-day
#: closed interval would span 31 days).
STATISTIC_MAX_SPAN_DAYS: Final = 31

#: Oldest day WeCom keeps, in days before today ("取值范围：昨天至前180天", same
#: pages): today minus 180 days is still answered.
STATISTIC_MAX_DAYS_BACK: Final = 180

#: The first day with statistics for sessions managed through the API or by a
#: third-party app ("开启API或授权第三方应用管理会话，没有2022年3月11日以前的统计数据",
#: pages 37457 and 37469). Not refused here: whether a corp's sessions were so
#: managed is not known to the client, and the 180-day window is later anyway.
STATISTICS_FIRST_DAY: Final = dt.date(2022, 3, 11)

_DAY: Final = dt.timedelta(days=1)
_Row = TypeVar("_Row", CorpStatistic, ServicerStatistic)


def day_timestamp(day: dt.date) -> int:
    """WeCom's timestamp of *day*: the epoch seconds of its midnight in China time."""
    return int(dt.datetime.combine(day, dt.time(0), CHINA_TZ).timestamp())


def _as_day(name: str, value: object) -> dt.date:
    """A ``date``, or the China-time day of an aware ``datetime``; anything else raises."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(
                f"{name} is a naive datetime: give a date, or a datetime with a timezone "
                "(WeCom's days are China time, UTC+8)"
            )
        return value.astimezone(CHINA_TZ).date()
    if isinstance(value, dt.date):
        return value
    raise TypeError(f"{name} must be a date or an aware datetime, got {type(value).__name__}")


def split_days(
    start: dt.date, end: dt.date, span: int = STATISTIC_MAX_SPAN_DAYS
) -> list[tuple[dt.date, dt.date]]:
    """``[start, end]`` cut into consecutive ranges of at most *span* days, ends included."""
    ranges: list[tuple[dt.date, dt.date]] = []
    first = start
    while first <= end:
        last = min(first + (span - 1) * _DAY, end)
        ranges.append((first, last))
        first = last + _DAY
    return ranges


class StatisticsAPI(Resource):
    """The daily statistics of KF accounts and servicers (``kf.statistics``).

    Args:
        caller: What the calls go through (the client's pipeline).
        clock: Wall clock in epoch seconds; decides which day is "today" in China
            time (the client passes its own ``clock``).
    """

    def __init__(self, caller: Caller, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(caller)
        self._clock = clock

    def today(self) -> dt.date:
        """Today in China time, by the client's clock (its statistics are not ready yet)."""
        return dt.datetime.fromtimestamp(self._clock(), CHINA_TZ).date()

    def _days(self, start: object, end: object) -> tuple[dt.date, dt.date]:
        """Check a range of days; raise before any request for one WeCom cannot answer."""
        first, last = _as_day("start", start), _as_day("end", end)
        if first > last:
            raise ValueError(f"start ({first}) is after end ({last})")
        today = self.today()
        if last >= today:
            raise ValueError(
                f"end ({last}) must be before today ({today}, China time): WeCom has "
                "statistics only for past days (a day's are ready the next morning)"
            )
        oldest = today - STATISTIC_MAX_DAYS_BACK * _DAY
        if first < oldest:
            raise ValueError(
                f"start ({first}) is more than {STATISTIC_MAX_DAYS_BACK} days back; "
                f"the oldest day WeCom answers for is {oldest}"
            )
        return first, last

    async def corp(
        self,
        start: dt.date | dt.datetime,
        end: dt.date | dt.datetime,
        open_kfid: str,
    ) -> list[CorpStatistic]:
        """Daily statistics of one KF account (``get_corp_statistic``, page 37457).

        Args:
            start: First day, a ``date`` or an aware ``datetime`` (its day in China
                time); at most 180 days back.
            end: Last day, included; before today (China time).
            open_kfid: The KF account (required: page 37457 marks it so).

        Returns:
            One :class:`CorpStatistic` per day from *start* to *end*, in date order
            (``statistic`` is ``None`` for a day WeCom has nothing for). A range of
            more than :data:`STATISTIC_MAX_SPAN_DAYS` days is fetched in several calls.

        Raises:
            TypeError: An argument of the wrong type.
            ValueError: A naive datetime, start after end, a day from today on, or
                more than 180 days back; nothing is sent.
            KfError: What WeCom or the transport answered (95004: no such account).
        """
        body: dict[str, Any] = {"open_kfid": _checks.open_kfid(open_kfid)}
        first, last = self._days(start, end)
        return await self._rows(
            GET_CORP_STATISTIC, CorpStatisticAnswer, CorpStatistic, body, first, last
        )

    async def servicer(
        self,
        open_kfid: str,
        start: dt.date | dt.datetime,
        end: dt.date | dt.datetime,
        servicer_userid: str | None = None,
    ) -> list[ServicerStatistic]:
        """Daily statistics of the servicers of a KF account (``get_servicer_statistic``).

        Args:
            open_kfid: The KF account.
            start: First day, a ``date`` or an aware ``datetime`` (its day in China
                time); at most 180 days back.
            end: Last day, included; before today (China time).
            servicer_userid: One servicer (a third-party app's ``open_userid``);
                ``None``: the account's servicers together.

        Returns:
            One :class:`ServicerStatistic` per day from *start* to *end*, in date
            order (``statistic`` is ``None`` for a day WeCom has nothing for).

        Raises:
            TypeError: An argument of the wrong type.
            ValueError: A bad id, a naive datetime, start after end, a day from today
                on, or more than 180 days back; nothing is sent.
            KfError: What WeCom or the transport answered (95004: no such account).
        """
        body: dict[str, Any] = {"open_kfid": _checks.open_kfid(open_kfid)}
        if servicer_userid is not None:
            body["servicer_userid"] = _checks.userid(servicer_userid, "servicer_userid")
        first, last = self._days(start, end)
        return await self._rows(
            GET_SERVICER_STATISTIC,
            ServicerStatisticAnswer,
            ServicerStatistic,
            body,
            first,
            last,
        )

    async def _rows(
        self,
        endpoint: Endpoint,
        answer: type[CorpStatisticAnswer] | type[ServicerStatisticAnswer],
        row: type[_Row],
        body: dict[str, Any],
        first: dt.date,
        last: dt.date,
    ) -> list[_Row]:
        """Fetch ``[first, last]`` in calls of at most the documented span; one row per day."""
        ranges = split_days(first, last)

        async def fetch(start: dt.date, end: dt.date) -> Sequence[Any]:
            request = {**body, "start_time": day_timestamp(start), "end_time": day_timestamp(end)}
            result = await self._get(endpoint, answer, request)
            return result.statistic_list

        if len(ranges) == 1:
            answers = [await fetch(*ranges[0])]
        else:
            tasks = [asyncio.ensure_future(fetch(*days)) for days in ranges]
            try:
                answers = await asyncio.gather(*tasks)
            except BaseException:  # the first failure wins; the other calls stop
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                raise
        by_day: dict[dt.date, _Row] = {}
        for rows in answers:
            for item in rows:
                day = item.date
                if not first <= day <= last:
                    logger.warning(
                        "%s answered a row for %s, outside the range", endpoint.path, day
                    )
                elif day not in by_day:
                    by_day[day] = item
        out: list[_Row] = []
        day = first
        while day <= last:
            out.append(by_day.get(day) or row(stat_time=day_timestamp(day)))
            day += _DAY
        return out
