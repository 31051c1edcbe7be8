"""Facts of issue 18 checked against WeCom's official pages: errcodes, limits, pages, shape."""

from __future__ import annotations

import ast
import datetime as dt
import json
from pathlib import Path

import pytest

from wecom_kf_async import (
    ENDPOINTS,
    ERRCODE_TABLE,
    Disposition,
    Gender,
    InvalidRequestError,
    KfClient,
    KfStateError,
    WeComError,
)
from wecom_kf_async._errcodes import ERRCODE_ROWS, ErrcodeSource
from wecom_kf_async._errors import error_for
from wecom_kf_async._errtable import errcode_markdown_table
from wecom_kf_async.cli import main
from wecom_kf_async.models import CorpStatisticAnswer
from wecom_kf_async.resources.accounts import MAX_ACCOUNTS_PER_CORP
from wecom_kf_async.resources.statistics import STATISTICS_FIRST_DAY, day_timestamp
from wecom_kf_async.testing import WeComSimulator
from wecom_kf_async.testing.simulator import ERR_ACCOUNT_LIMIT

from .conftest import FakeClock
from .sim_messages_helpers import raw_api

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wecom_kf_async"
DAY = dt.timedelta(days=1)

# The "返回结果" example of get_corp_statistic (page 37457), its "..." row left out.
CORP_STATISTIC_EXAMPLE = {
    "errcode": 0,
    "errmsg": "ok",
    "statistic_list": [
        {
            "stat_time": 1645545600,
            "statistic": {
                "session_cnt": 2,
                "customer_cnt": 1,
                "customer_msg_cnt": 6,
                "upgrade_service_customer_cnt": 0,
                "ai_session_reply_cnt": 1,
                "ai_transfer_rate": 1,
                "ai_knowledge_hit_rate": 0,
                "msg_rejected_customer_cnt": 1,
            },
        }
    ],
}


# ----------------------------------------------------------- get_corp_statistic


async def test_corp_statistic_requires_open_kfid(
    clocked_kf: KfClient, clocked_sim: WeComSimulator
) -> None:
    """Page 37457 marks open_kfid required: the client needs it, the simulator answers 40058."""
    yesterday = dt.date(2023, 11, 14)
    with pytest.raises(TypeError, match="open_kfid"):
        await clocked_kf.statistics.corp(yesterday, yesterday)  # type: ignore[call-arg]
    day = day_timestamp(yesterday)
    async with raw_api(clocked_sim) as api:
        answer = await api.call("kf/get_corp_statistic", {"start_time": day, "end_time": day})
    assert answer["errcode"] == 40058
    assert "open_kfid is required" in answer["errmsg"]
    rows = await clocked_kf.statistics.corp(yesterday, yesterday, "wkSupport01")
    assert [row.date for row in rows] == [yesterday]


def test_cli_stats_corp_takes_the_account(capsys: pytest.CaptureFixture[str]) -> None:
    """`stats corp` needs OPEN_KFID (usage error without it), as `stats servicer` does."""
    with pytest.raises(SystemExit) as raised:
        main(["stats", "corp", "--simulate"])
    assert raised.value.code == 2
    assert "OPEN_KFID" in capsys.readouterr().err


def test_no_statistics_before_2022_03_11(clock: FakeClock) -> None:
    """Page 37457: sessions managed through the API have no statistics before 2022-03-11."""
    assert dt.date(2022, 3, 11) == STATISTICS_FIRST_DAY
    clock.now = dt.datetime(2022, 4, 1, tzinfo=dt.UTC).timestamp()
    sim = WeComSimulator(clock=clock)
    kfid = sim.add_account("Support")
    before = day_timestamp(STATISTICS_FIRST_DAY - DAY)
    assert sim.corp_statistic(kfid, before) is None
    assert sim.servicer_statistic(kfid, None, before) is None
    days = [day_timestamp(STATISTICS_FIRST_DAY + n * DAY) for n in range(10)]
    assert any(sim.corp_statistic(kfid, day) is not None for day in days)


def test_the_official_corp_statistic_example_parses() -> None:
    """The answer example of page 37457 structures into the typed model."""
    from wecom_kf_async.models import converter

    answer = converter.structure(CORP_STATISTIC_EXAMPLE, CorpStatisticAnswer)
    (row,) = answer.statistic_list
    assert row.date == dt.date(2022, 2, 23)
    assert row.statistic is not None
    assert (row.statistic.session_cnt, row.statistic.ai_transfer_rate) == (2, 1.0)
    assert row.statistic.msg_rejected_customer_cnt == 1


# ----------------------------------------------------------------- errcodes


@pytest.mark.parametrize(
    ("errcode", "page"),
    [(40003, 90455), (40005, 90455), (40009, 90455), (40011, 90455), (830002, 96486)],
)
def test_documented_errcodes_are_in_the_table(errcode: int, page: int) -> None:
    """Each fails the request at once as an InvalidRequestError, its page named."""
    assert ERRCODE_TABLE[errcode][0] is Disposition.FAIL
    assert type(error_for(errcode, "x")) is InvalidRequestError
    row = ERRCODE_ROWS[errcode]
    assert (row.source, row.page) == (ErrcodeSource.DOCUMENTED, page)
    assert row.meaning


@pytest.mark.parametrize("errcode", [95010, 95020, 95030])
def test_invented_codes_are_data_marked_invented(errcode: int) -> None:
    """Codes WeCom documents none for stay rows of the table, flagged, and the docs say so."""
    assert ERRCODE_ROWS[errcode].source is ErrcodeSource.INVENTED
    (line,) = [
        row for row in errcode_markdown_table().splitlines() if row.startswith(f"| {errcode} ")
    ]
    assert "invented" in line
    assert line in (ROOT / "docs" / "errors-and-retries.md").read_text(encoding="utf-8")


# ------------------------------------------------------------ account limit


async def test_5000_accounts_per_corp(clocked_kf: KfClient, clocked_sim: WeComSimulator) -> None:
    """Page 96404: 5,000 accounts per corp; the simulator refuses the next with an invented code."""
    assert MAX_ACCOUNTS_PER_CORP == 5000
    for n in range(MAX_ACCOUNTS_PER_CORP - len(clocked_sim.corp.accounts)):
        clocked_sim.add_account(f"A{n}")
    with pytest.raises(KfStateError) as raised:
        await clocked_kf.accounts.add("One too many", "sim_demo_avatar")
    assert raised.value.errcode == ERR_ACCOUNT_LIMIT
    assert ERRCODE_ROWS[ERR_ACCOUNT_LIMIT].source is ErrcodeSource.INVENTED
    assert len(clocked_sim.corp.accounts) == MAX_ACCOUNTS_PER_CORP


# ---------------------------------------------------------------- doc pages


@pytest.mark.parametrize(
    ("path", "page"),
    [
        ("kf/account/add", 96404),
        ("kf/account/del", 94689),
        ("kf/account/update", 94690),
        ("kf/account/list", 94661),
        ("kf/add_contact_way", 96416),
        ("kf/servicer/del", 96419),
        ("kf/servicer/list", 96420),
        ("kf/send_msg_on_event", 96428),
        ("kf/customer/get_upgrade_service_config", 96422),
        ("kf/get_corp_statistic", 37457),
        ("kf/get_servicer_statistic", 37469),
        ("media/upload", 96484),
    ],
)
def test_endpoint_rows_name_their_official_page(path: str, page: int) -> None:
    """Every row whose official page is known carries it in doc_page."""
    assert ENDPOINTS[path].doc_page == page


# ------------------------------------------------------------------ customers


def test_agency_built_apps_get_no_avatar_and_gender_0() -> None:
    """Page 96429: third-party and agency-built apps alike; the models and docs say both."""
    assert Gender.__doc__ is not None
    assert "agency-built" in Gender.__doc__
    from wecom_kf_async import Customer

    assert Customer.__doc__ is not None
    assert "agency-built" in Customer.__doc__
    guide = (ROOT / "docs" / "batch-get.md").read_text(encoding="utf-8")
    assert "agency-built apps get no `avatar`, and `gender` is always 0" in guide


# ----------------------------------------------------------------- the shape


def _imports(module: Path) -> set[str]:
    """The modules *module* imports, relative ones resolved inside the package."""
    tree = ast.parse(module.read_text(encoding="utf-8"))
    package = module.parent.relative_to(ROOT).parts
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            name = ".".join((*base, *(node.module or "").split("."))).strip(".")
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_errors_do_not_import_the_models() -> None:
    """_errors.py imports no model (not even for type checking): the models import it, one way."""
    imported = _imports(PACKAGE / "_errors.py")
    assert not {name for name in imported if name.startswith("wecom_kf_async.models")}
    assert "wecom_kf_async._errors.ServicerError" in _imports(PACKAGE / "models" / "servicers.py")


def test_a_servicer_error_still_lists_its_items() -> None:
    """ServicerError takes any failed item with errcode, errmsg and describe()."""
    from wecom_kf_async import ServicerError, ServicerResult

    error = ServicerError([ServicerResult(userid="x", errcode=60111, errmsg="userid not found")])
    assert "userid 'x' (errcode 60111: userid not found)" in str(error)
    assert isinstance(error_for(60111, "x"), WeComError)
    assert json.dumps(str(error))
