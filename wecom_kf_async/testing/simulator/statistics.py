"""The simulator's daily statistics and the corp qualification.

Endpoints: ``get_corp_statistic``, ``get_servicer_statistic``, ``get_corp_qualification``.
Rows are derived deterministically from (account, servicer, day), for past days
only, as WeCom answers them (pages 37457 and 37469): days start at midnight China
time (UTC+8), at most 31 days per call, yesterday back to 180 days ago, an account
required, and no numbers before :data:`STATISTICS_FIRST_DAY` (the simulator's
sessions are all managed through the API).
"""

from __future__ import annotations

import datetime as dt
import math
import zlib
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ._base import SimulatorBase
from ._types import ApiError, Call, Route
from .accounts import find_account

__all__ = [
    "CORP_QUALIFICATION",
    "CORP_STATISTIC",
    "SERVICER_STATISTIC",
    "STATISTICS_FIRST_DAY",
    "STATISTIC_MAX_DAYS_BACK",
    "STATISTIC_MAX_SPAN_DAYS",
    "StatisticsMixin",
]

CORP_STATISTIC: Final = "kf/get_corp_statistic"
SERVICER_STATISTIC: Final = "kf/get_servicer_statistic"
CORP_QUALIFICATION: Final = "kf/get_corp_qualification"

#: Most days per call, both ends included (pages 37457 and 37469).
STATISTIC_MAX_SPAN_DAYS: Final = 31
#: Oldest day answered, in days before today.
STATISTIC_MAX_DAYS_BACK: Final = 180
#: No statistics before this day for sessions managed through the API (same pages).
STATISTICS_FIRST_DAY: Final = dt.date(2022, 3, 11)

_DAY: Final = 86_400
#: China time is UTC+8: a WeCom day starts at 16:00 UTC the day before.
_CHINA_OFFSET: Final = 8 * 3600
#: WeCom's timestamp of :data:`STATISTICS_FIRST_DAY`.
_FIRST_STAT_TIME: Final = (
    int(dt.datetime.combine(STATISTICS_FIRST_DAY, dt.time(0), dt.UTC).timestamp()) - _CHINA_OFFSET
)
#: The errcode for a bad time range. WeCom documents none for these endpoints
#: (unverified): the simulator answers "invalid parameter" with a detail.
_BAD_RANGE: Final = 40058


def _midnight_before(timestamp: float) -> int:
    """The China-time midnight at or before *timestamp*."""
    return math.floor((timestamp + _CHINA_OFFSET) / _DAY) * _DAY - _CHINA_OFFSET


def _timestamp(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ApiError(_BAD_RANGE, f"{name} must be a non-negative integer timestamp")
    return value


def _share(digest: int, shift: int) -> float:
    """A rate between 0 and 1 with two decimals, from some bits of *digest*."""
    return ((digest >> shift) % 101) / 100


class StatisticsMixin(SimulatorBase):
    """Serves daily statistics and the corp qualification.

    Knobs: ``strict_day_timestamps`` (default ``True``): a ``start_time`` or
    ``end_time`` that is not a China-time midnight is answered 40058, to catch a
    client that computes days wrong; ``False`` rounds it down to its day, as the
    official page says WeCom does. ``sim.corp.wechat_channels_binding`` is what
    ``get_corp_qualification`` answers.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        CORP_STATISTIC: Route("POST", "_corp_statistic"),
        SERVICER_STATISTIC: Route("POST", "_servicer_statistic"),
        CORP_QUALIFICATION: Route("GET", "_corp_qualification"),
    }

    def _setup(self) -> None:
        super()._setup()
        self.strict_day_timestamps = True
        """Answer 40058 for a day timestamp that is not a China-time midnight."""

    # ------------------------------------------------------------------ seeding

    def corp_statistic(self, open_kfid: str, stat_time: int) -> dict[str, Any] | None:
        """The ``statistic`` object ``get_corp_statistic`` answers for one day of an account.

        ``None`` for a quiet day (about one in ten), which WeCom answers without a
        ``statistic``, and for every day before :data:`STATISTICS_FIRST_DAY`.
        """
        digest = zlib.crc32(f"corp:{open_kfid}:{stat_time}".encode())
        if digest % 10 == 0 or stat_time < _FIRST_STAT_TIME:
            return None
        sessions = 1 + (digest >> 4) % 60
        ai_sessions = (digest >> 10) % (sessions + 1)
        row: dict[str, Any] = {
            "session_cnt": sessions,
            "customer_cnt": 1 + (digest >> 16) % sessions,
            "customer_msg_cnt": sessions * 3 + (digest >> 7) % 11,
            "upgrade_service_customer_cnt": (digest >> 20) % 4,
            "ai_session_reply_cnt": ai_sessions,
            "ai_transfer_rate": _share(digest, 12) if ai_sessions else 0,
            "msg_rejected_customer_cnt": (digest >> 23) % 2,
        }
        if (digest >> 25) % 3:  # left out without a knowledge base
            row["ai_knowledge_hit_rate"] = _share(digest, 18)
        return row

    def servicer_statistic(
        self, open_kfid: str, servicer_userid: str | None, stat_time: int
    ) -> dict[str, Any] | None:
        """The ``statistic`` object ``get_servicer_statistic`` answers for one day.

        ``None`` for a quiet day and before :data:`STATISTICS_FIRST_DAY`;
        ``servicer_userid=None`` is the account's servicers together.
        """
        digest = zlib.crc32(f"servicer:{open_kfid}:{servicer_userid or ''}:{stat_time}".encode())
        if digest % 10 == 0 or stat_time < _FIRST_STAT_TIME:
            return None
        sessions = 1 + (digest >> 4) % 30
        surveys = (digest >> 9) % (sessions + 1)
        row: dict[str, Any] = {
            "session_cnt": sessions,
            "customer_cnt": 1 + (digest >> 14) % sessions,
            "customer_msg_cnt": sessions * 4 + (digest >> 7) % 9,
            "reply_rate": _share(digest, 11),
            "first_reply_average_sec": round(5 + ((digest >> 13) % 1000) / 10, 1),
            "satisfaction_investgate_cnt": surveys,
            "upgrade_service_customer_cnt": (digest >> 19) % 3,
            "upgrade_service_member_invite_cnt": (digest >> 21) % 4,
            "upgrade_service_member_customer_cnt": (digest >> 23) % 3,
            "upgrade_service_groupchat_invite_cnt": (digest >> 25) % 4,
            "upgrade_service_groupchat_customer_cnt": (digest >> 27) % 3,
            "msg_rejected_customer_cnt": (digest >> 29) % 2,
        }
        if surveys:  # left out when no survey was answered
            satisfied = _share(digest, 15)
            middling = round((1 - satisfied) * _share(digest, 17), 2)
            row["satisfaction_participation_rate"] = _share(digest, 16)
            row["satisfied_rate"] = satisfied
            row["middling_rate"] = middling
            row["dissatisfied_rate"] = max(0.0, round(1 - satisfied - middling, 2))
        return row

    # ---------------------------------------------------------------- endpoints

    def _corp_statistic(self, call: Call) -> dict[str, Any]:
        request = call.json()
        open_kfid = self._statistic_account(request)
        days = self._statistic_days(request, call.now)
        rows = [self._statistic_row(day, self.corp_statistic(open_kfid, day)) for day in days]
        return {"statistic_list": rows}

    def _servicer_statistic(self, call: Call) -> dict[str, Any]:
        request = call.json()
        open_kfid = self._statistic_account(request)
        userid = request.get("servicer_userid")
        if userid is not None:
            if not isinstance(userid, str) or not userid:
                raise ApiError(40058, "servicer_userid must be a non-empty string")
            if userid not in self.corp.members:
                raise ApiError(60111, f"servicer_userid {userid!r} is not a member of the corp")
        days = self._statistic_days(request, call.now)
        rows = [
            self._statistic_row(day, self.servicer_statistic(open_kfid, userid, day))
            for day in days
        ]
        return {"statistic_list": rows}

    def _corp_qualification(self, call: Call) -> dict[str, Any]:
        return {"wechat_channels_binding": bool(self.corp.wechat_channels_binding)}

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _statistic_row(stat_time: int, statistic: dict[str, Any] | None) -> dict[str, Any]:
        row: dict[str, Any] = {"stat_time": stat_time}
        if statistic is not None:
            row["statistic"] = statistic
        return row

    def _statistic_account(self, request: Mapping[str, Any]) -> str:
        """The request's ``open_kfid``: 40058 if missing, 95000 if malformed, 95004 if unknown."""
        open_kfid = request.get("open_kfid")
        if open_kfid is None:
            raise ApiError(40058, "open_kfid is required")
        return find_account(self.corp, open_kfid).open_kfid

    def _statistic_days(self, request: Mapping[str, Any], now: float) -> list[int]:
        """The days of ``[start_time, end_time]``, checked as WeCom's pages say."""
        start = _timestamp("start_time", request.get("start_time"))
        end = _timestamp("end_time", request.get("end_time"))
        first, last = _midnight_before(start), _midnight_before(end)
        if self.strict_day_timestamps and (first != start or last != end):
            raise ApiError(
                _BAD_RANGE, "start_time and end_time must be midnights in China time (UTC+8)"
            )
        if last < first:
            raise ApiError(_BAD_RANGE, "end_time is before start_time")
        today = _midnight_before(now)
        if last >= today:
            raise ApiError(_BAD_RANGE, "statistics exist only for days before today")
        if first < today - STATISTIC_MAX_DAYS_BACK * _DAY:
            raise ApiError(
                _BAD_RANGE, f"start_time is more than {STATISTIC_MAX_DAYS_BACK} days back"
            )
        count = (last - first) // _DAY + 1
        if count > STATISTIC_MAX_SPAN_DAYS:
            raise ApiError(
                _BAD_RANGE,
                f"the range covers {count} days; at most {STATISTIC_MAX_SPAN_DAYS} per call",
            )
        return [first + index * _DAY for index in range(count)]
