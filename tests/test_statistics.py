"""kf.statistics against the simulator: China-time days, refusals, splitting, errcodes, CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from wecom_kf_async import InvalidRequestError, InvalidResponseError, KfClient, KfStateError
from wecom_kf_async.cli import main
from wecom_kf_async.models import CHINA_TZ, CorpMetrics, ServicerMetrics
from wecom_kf_async.resources.statistics import (
    STATISTIC_MAX_DAYS_BACK,
    STATISTIC_MAX_SPAN_DAYS,
    day_timestamp,
    split_days,
)
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator, serve

from .conftest import FakeClock, client_for

CORP = "kf/get_corp_statistic"
SERVICER = "kf/get_servicer_statistic"
DAY = dt.timedelta(days=1)

#: The fake clock's start, 2023-11-14 22:13:20 UTC, is already 2023-11-15 in China.
TODAY = dt.date(2023, 11, 15)
YESTERDAY = TODAY - DAY


@pytest.fixture
def sim(clock: FakeClock) -> WeComSimulator:
    """A simulator on the fake clock, with one KF account."""
    simulator = WeComSimulator(clock=clock)
    simulator.add_account("Support", open_kfid="wkSupport01")
    return simulator


@pytest.fixture
async def kf(sim: WeComSimulator, clock: FakeClock) -> AsyncIterator[KfClient]:
    """A client on the same fake clock as the simulator."""
    async with client_for(sim, clock=clock) as client:
        yield client


def metrics(statistic: dict[str, Any] | None, cls: type[Any]) -> Any:
    """The model a simulator statistic dict should structure into."""
    return None if statistic is None else cls(**statistic)


def requests_sent(sim: WeComSimulator) -> int:
    """Every request the simulator received, gettoken included."""
    return sum(sim.stats.calls.values())


async def test_corp_rows_one_per_day_in_date_order(kf: KfClient, sim: WeComSimulator) -> None:
    """Ten past days give ten rows, in order, each the simulator's statistic for its day."""
    start = dt.date(2023, 11, 1)
    rows = await kf.statistics.corp(start, start + 9 * DAY, open_kfid="wkSupport01")
    assert [row.date for row in rows] == [start + i * DAY for i in range(10)]
    for row in rows:
        assert row.stat_time == day_timestamp(row.date)
        expected = sim.corp_statistic("wkSupport01", row.stat_time)
        assert row.statistic == metrics(expected, CorpMetrics)
    assert sim.stats.calls[CORP] == 1


async def test_quiet_days_have_no_statistic(kf: KfClient, sim: WeComSimulator) -> None:
    """A day WeCom answers without a statistic is a row whose statistic is None."""
    start = TODAY - 31 * DAY
    rows = await kf.statistics.corp(start, YESTERDAY, "wkSupport01")
    quiet = [row for row in rows if sim.corp_statistic("wkSupport01", row.stat_time) is None]
    assert quiet, "the simulator leaves about one day in ten quiet"
    assert all(row.statistic is None for row in quiet)
    assert len(rows) == 31


async def test_day_timestamp_is_china_midnight() -> None:
    """A day's timestamp is 16:00 UTC of the day before (midnight at UTC+8)."""
    stamp = day_timestamp(dt.date(2023, 11, 15))
    assert dt.datetime.fromtimestamp(stamp, dt.UTC) == dt.datetime(2023, 11, 14, 16, tzinfo=dt.UTC)


async def test_today_is_decided_in_china_time(kf: KfClient, sim: WeComSimulator) -> None:
    """At 22:13 UTC on Nov 14 it is Nov 15 in China: Nov 14 is yesterday, Nov 15 is refused."""
    rows = await kf.statistics.corp(dt.date(2023, 11, 14), dt.date(2023, 11, 14), "wkSupport01")
    assert [row.date for row in rows] == [dt.date(2023, 11, 14)]
    with pytest.raises(ValueError, match="before today"):
        await kf.statistics.corp(dt.date(2023, 11, 14), dt.date(2023, 11, 15), "wkSupport01")
    assert sim.stats.calls[CORP] == 1


async def test_aware_datetimes_count_by_their_china_day(kf: KfClient) -> None:
    """20:00 UTC on Nov 1 is Nov 2 in China; a datetime in UTC+8 keeps its own day."""
    start = dt.datetime(2023, 11, 1, 20, 0, tzinfo=dt.UTC)
    end = dt.datetime(2023, 11, 3, 23, 59, tzinfo=CHINA_TZ)
    rows = await kf.statistics.corp(start, end, "wkSupport01")
    assert [row.date for row in rows] == [dt.date(2023, 11, 2), dt.date(2023, 11, 3)]


@pytest.mark.parametrize(
    ("start", "end", "error", "match"),
    [
        (TODAY, TODAY, ValueError, "before today"),
        (YESTERDAY, TODAY + 3 * DAY, ValueError, "before today"),
        (TODAY + DAY, TODAY + 2 * DAY, ValueError, "before today"),
        (TODAY - 181 * DAY, YESTERDAY, ValueError, "more than 180 days back"),
        (YESTERDAY, YESTERDAY - DAY, ValueError, "after end"),
        (dt.datetime(2023, 11, 1, 12), YESTERDAY, ValueError, "naive datetime"),
        ("2023-11-01", YESTERDAY, TypeError, "start must be a date"),
        (YESTERDAY, 1699900000, TypeError, "end must be a date"),
    ],
)
async def test_bad_ranges_are_refused_before_any_request(
    kf: KfClient, sim: WeComSimulator, start: Any, end: Any, error: type[Exception], match: str
) -> None:
    """Today, the future, over 180 days back, a reversed range or a naive datetime send nothing."""
    with pytest.raises(error, match=match):
        await kf.statistics.corp(start, end, "wkSupport01")
    with pytest.raises(error, match=match):
        await kf.statistics.servicer("wkSupport01", start, end)
    assert requests_sent(sim) == 0


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ({"open_kfid": ""}, ValueError),
        ({"open_kfid": "wk" + "x" * 70}, ValueError),
        ({"open_kfid": 12}, TypeError),
        ({"open_kfid": "wkSupport01", "servicer_userid": "has space"}, ValueError),
        ({"open_kfid": None}, TypeError),
    ],
)
async def test_bad_ids_are_refused_before_any_request(
    kf: KfClient, sim: WeComSimulator, call: dict[str, Any], error: type[Exception]
) -> None:
    """A malformed open_kfid or servicer_userid raises and sends nothing."""
    with pytest.raises(error):
        await kf.statistics.servicer(
            call["open_kfid"], YESTERDAY, YESTERDAY, call.get("servicer_userid")
        )
    if call["open_kfid"] is not None and "servicer_userid" not in call:
        with pytest.raises(error):
            await kf.statistics.corp(YESTERDAY, YESTERDAY, open_kfid=call["open_kfid"])
    assert requests_sent(sim) == 0


async def test_oldest_answered_day_is_180_days_back(kf: KfClient, sim: WeComSimulator) -> None:
    """Today minus 180 days is still answered; the whole window takes six calls of <= 31 days."""
    start = TODAY - STATISTIC_MAX_DAYS_BACK * DAY
    rows = await kf.statistics.corp(start, YESTERDAY, open_kfid="wkSupport01")
    assert len(rows) == 180
    assert [row.date for row in rows] == [start + i * DAY for i in range(180)]
    assert sim.stats.calls[CORP] == 6  # ceil(180 / 31); the simulator refuses a longer call
    assert sim.stats.errors == {}


def test_split_days_respects_the_documented_span() -> None:
    """31 days are one call; 32 are two; no day is lost or repeated."""
    start = dt.date(2023, 1, 1)
    assert split_days(start, start + 30 * DAY) == [(start, start + 30 * DAY)]
    assert split_days(start, start + 31 * DAY) == [
        (start, start + 30 * DAY),
        (start + 31 * DAY, start + 31 * DAY),
    ]
    ranges = split_days(start, start + 99 * DAY)
    covered = [first + i * DAY for first, last in ranges for i in range((last - first).days + 1)]
    assert covered == [start + i * DAY for i in range(100)]
    assert all((last - first).days + 1 <= STATISTIC_MAX_SPAN_DAYS for first, last in ranges)


async def test_servicer_rows_per_servicer(kf: KfClient, sim: WeComSimulator) -> None:
    """servicer() sends the account and servicer; each row is that servicer's day."""
    start = dt.date(2023, 10, 1)
    rows = await kf.statistics.servicer("wkSupport01", start, start + 39 * DAY, "zhangsan")
    assert len(rows) == 40
    assert sim.stats.calls[SERVICER] == 2
    for row in rows:
        expected = sim.servicer_statistic("wkSupport01", "zhangsan", row.stat_time)
        assert row.statistic == metrics(expected, ServicerMetrics)
    together = await kf.statistics.servicer("wkSupport01", start, start)
    assert together[0].statistic == metrics(
        sim.servicer_statistic("wkSupport01", None, together[0].stat_time), ServicerMetrics
    )


async def test_unknown_account_answers_95004(kf: KfClient) -> None:
    """An open_kfid the corp does not have raises KfStateError 95004 for both endpoints."""
    with pytest.raises(KfStateError) as corp_error:
        await kf.statistics.corp(YESTERDAY, YESTERDAY, open_kfid="wkNobody")
    with pytest.raises(KfStateError) as servicer_error:
        await kf.statistics.servicer("wkNobody", YESTERDAY, YESTERDAY)
    assert corp_error.value.errcode == servicer_error.value.errcode == 95004


async def test_unknown_servicer_answers_60111(kf: KfClient) -> None:
    """A servicer_userid that is not a member of the corp raises 60111."""
    with pytest.raises(InvalidRequestError) as raised:
        await kf.statistics.servicer("wkSupport01", YESTERDAY, YESTERDAY, "nobody")
    assert raised.value.errcode == 60111


async def test_missing_and_stray_rows_are_mended(kf: KfClient, sim: WeComSimulator) -> None:
    """Days left out become rows without a statistic; duplicates and days outside are dropped."""
    start = dt.date(2023, 11, 1)
    kept = {"stat_time": day_timestamp(start + DAY), "statistic": {"session_cnt": 7}}
    answer = [
        {"stat_time": day_timestamp(start - DAY), "statistic": {"session_cnt": 99}},
        kept,
        {**kept, "statistic": {"session_cnt": 8}},
    ]
    sim.script(CORP, [{"statistic_list": answer}])
    rows = await kf.statistics.corp(start, start + 2 * DAY, "wkSupport01")
    assert [row.date for row in rows] == [start, start + DAY, start + 2 * DAY]
    assert [row.statistic for row in rows] == [None, CorpMetrics(session_cnt=7), None]


async def test_unknown_fields_are_tolerated(kf: KfClient, sim: WeComSimulator) -> None:
    """A field WeCom adds later, in a row or in its statistic, is ignored."""
    row = {"stat_time": day_timestamp(YESTERDAY), "new": 1, "statistic": {"reply_rate": 1, "x": 2}}
    sim.script(SERVICER, [{"statistic_list": [row]}])
    rows = await kf.statistics.servicer("wkSupport01", YESTERDAY, YESTERDAY)
    assert rows[0].statistic == ServicerMetrics(reply_rate=1.0)


@pytest.mark.parametrize(
    "answer",
    [
        {"statistic_list": [{"stat_time": "1699977600"}]},
        {"statistic_list": [{"stat_time": 1699977600, "statistic": {"session_cnt": "3"}}]},
        {"statistic_list": {"stat_time": 1699977600}},
    ],
)
async def test_bad_shapes_raise_invalid_response(
    kf: KfClient, sim: WeComSimulator, answer: dict[str, Any]
) -> None:
    """A row of the wrong JSON types is an InvalidResponseError naming the endpoint."""
    sim.script(CORP, [answer])
    with pytest.raises(InvalidResponseError, match=CORP):
        await kf.statistics.corp(YESTERDAY, YESTERDAY, "wkSupport01")


async def test_a_failed_chunk_fails_the_call(kf: KfClient, sim: WeComSimulator) -> None:
    """When one of several calls fails for good, the whole range raises that error."""
    sim.script(CORP, [0, 40058])
    with pytest.raises(InvalidRequestError):
        await kf.statistics.corp(TODAY - 62 * DAY, YESTERDAY, "wkSupport01")


async def test_transient_errors_are_retried(kf: KfClient, sim: WeComSimulator) -> None:
    """A read: system busy and a 502 are retried, and the rows come back whole."""
    sim.script(CORP, [-1, "http502"])
    rows = await kf.statistics.corp(YESTERDAY - DAY, YESTERDAY, "wkSupport01")
    assert len(rows) == 2
    assert sim.stats.calls[CORP] == 3


# -- the simulator's own checks (a client that sends what the library refuses) ------


async def raw(kf: KfClient, path: str, body: dict[str, Any]) -> InvalidRequestError:
    """Send *body* unchecked and return the InvalidRequestError WeCom answers."""
    with pytest.raises(InvalidRequestError) as raised:
        await kf.request("POST", path, json=body)
    return raised.value


@pytest.mark.parametrize(
    ("start", "end", "detail"),
    [
        (day_timestamp(YESTERDAY) + 3600, day_timestamp(YESTERDAY), "midnights in China time"),
        (day_timestamp(TODAY - 40 * DAY), day_timestamp(YESTERDAY), "at most 31 per call"),
        (day_timestamp(TODAY - 32 * DAY), day_timestamp(YESTERDAY), "at most 31 per call"),
        (day_timestamp(YESTERDAY), day_timestamp(TODAY), "days before today"),
        (day_timestamp(YESTERDAY), day_timestamp(YESTERDAY - DAY), "before start_time"),
        (day_timestamp(TODAY - 181 * DAY), day_timestamp(TODAY - 170 * DAY), "180 days back"),
        ("1699977600", day_timestamp(YESTERDAY), "integer timestamp"),
    ],
)
async def test_simulator_checks_the_range(kf: KfClient, start: Any, end: Any, detail: str) -> None:
    """The simulator answers 40058 with a detail for each range WeCom's page rules out."""
    for path in (CORP, SERVICER):
        body = {"open_kfid": "wkSupport01", "start_time": start, "end_time": end}
        error = await raw(kf, path, body)
        assert error.errcode == 40058
        assert detail in error.errmsg


async def test_simulator_31_days_in_one_call(kf: KfClient) -> None:
    """Exactly 31 days, both ends included, is one valid call."""
    start, end = day_timestamp(TODAY - 31 * DAY), day_timestamp(YESTERDAY)
    body = {"open_kfid": "wkSupport01", "start_time": start, "end_time": end}
    answer = await kf.request("POST", CORP, json=body)
    assert len(answer["statistic_list"]) == 31


async def test_simulator_rounds_down_when_not_strict(kf: KfClient, sim: WeComSimulator) -> None:
    """With strict_day_timestamps off, a time of day is rounded down to its day, as WeCom does."""
    sim.strict_day_timestamps = False
    noon = day_timestamp(YESTERDAY) + 12 * 3600
    body = {"open_kfid": "wkSupport01", "start_time": noon, "end_time": noon}
    answer = await kf.request("POST", CORP, json=body)
    assert [row["stat_time"] for row in answer["statistic_list"]] == [day_timestamp(YESTERDAY)]


async def test_simulator_servicer_needs_open_kfid(kf: KfClient) -> None:
    """get_servicer_statistic without open_kfid answers 40058; a malformed one 95000."""
    day = day_timestamp(YESTERDAY)
    error = await raw(kf, SERVICER, {"start_time": day, "end_time": day})
    assert "open_kfid is required" in error.errmsg
    with pytest.raises(KfStateError) as raised:
        await kf.request(
            "POST", SERVICER, json={"open_kfid": "bad id", "start_time": day, "end_time": day}
        )
    assert raised.value.errcode == 95000


async def test_statistics_over_loopback(sim: WeComSimulator, clock: FakeClock) -> None:
    """Both endpoints answer over a real loopback HTTP connection."""
    async with serve(sim) as base_url:
        client = KfClient(
            corp_id=sim.corp_id, secret=SIM_SECRET, base_url=base_url, rate_limit=None, clock=clock
        )
        async with client as kf:
            corp = await kf.statistics.corp(TODAY - 35 * DAY, YESTERDAY, open_kfid="wkSupport01")
            servicer = await kf.statistics.servicer("wkSupport01", YESTERDAY, YESTERDAY)
    assert len(corp) == 35
    assert len(servicer) == 1
    assert sim.stats.calls[CORP] == 2


# -- CLI -------------------------------------------------------------------------


def demo_open_kfid() -> str:
    """The open_kfid of the account `--simulate` seeds (the simulator is deterministic)."""
    demo = WeComSimulator()
    demo.seed_demo()
    return next(iter(demo.corp.accounts))


def china_today() -> dt.date:
    """Today in China, by the real clock (what --simulate runs on)."""
    return dt.datetime.now(CHINA_TZ).date()


def test_cli_stats_corp_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    """`stats corp --simulate` prints one flat JSON object per day, in date order."""
    end = china_today() - 2 * DAY
    start = end - 40 * DAY
    status = main(
        ["stats", "corp", demo_open_kfid(), "--simulate", "--from", str(start), "--to", str(end)]
    )
    out, _ = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert status == 0
    assert [line["date"] for line in lines] == [str(start + i * DAY) for i in range(41)]
    assert {"stat_time", "session_cnt", "ai_knowledge_hit_rate"} <= set(lines[0])


def test_cli_stats_servicer_table(capsys: pytest.CaptureFixture[str]) -> None:
    """`stats servicer --format table` prints a header with the metrics and a line per day."""
    end = china_today() - 2 * DAY
    status = main(
        [
            "stats",
            "servicer",
            demo_open_kfid(),
            "--simulate",
            "--servicer",
            "zhangsan",
            "--from",
            str(end - 2 * DAY),
            "--to",
            str(end),
            "--format",
            "table",
        ]
    )
    out, _ = capsys.readouterr()
    lines = out.splitlines()
    assert status == 0
    assert lines[0].split()[:3] == ["date", "session_cnt", "customer_cnt"]
    assert "first_reply_average_sec" in lines[0]
    assert [line.split()[0] for line in lines[2:]] == [str(end - i * DAY) for i in (2, 1, 0)]


def test_cli_stats_defaults_to_the_last_week(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --from and --to, the seven days up to yesterday are shown."""
    status = main(["stats", "corp", demo_open_kfid(), "--simulate"])
    out, _ = capsys.readouterr()
    dates = [json.loads(line)["date"] for line in out.splitlines()]
    yesterday = china_today() - DAY
    assert status == 0
    assert dates == [str(yesterday - i * DAY) for i in range(6, -1, -1)]


@pytest.mark.parametrize(
    ("args", "status", "message"),
    [
        (["stats", "corp", "wk1", "--simulate", "--from", "2023-13-01"], 2, "YYYY-MM-DD"),
        (
            ["stats", "corp", "wk1", "--simulate", "--from", "2023-11-02", "--to", "2023-11-01"],
            2,
            "after",
        ),
        (
            ["stats", "corp", "wk1", "--simulate", "--from", "2000-01-01", "--to", "2000-01-02"],
            2,
            "180",
        ),
        (["stats", "servicer", "wkNobody", "--simulate"], 1, "95004"),
    ],
)
def test_cli_stats_bad_input(
    args: list[str], status: int, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad dates exit 2 with a one-line message; an unknown account exits 1 with its errcode."""
    assert main(args) == status
    _, err = capsys.readouterr()
    assert message in err
