"""kf.corp_qualification() against the simulator (get_corp_qualification, a GET)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from wecom_kf_async import InvalidResponseError, KfClient
from wecom_kf_async.models import CorpQualification
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator, serve

QUALIFICATION = "kf/get_corp_qualification"


async def test_qualification_follows_the_corp(kf: KfClient, sim: WeComSimulator) -> None:
    """The answer is the simulated corp's wechat_channels_binding, false then true."""
    assert await kf.corp_qualification() == CorpQualification(wechat_channels_binding=False)
    sim.corp.wechat_channels_binding = True
    qualification = await kf.corp_qualification()
    assert qualification.wechat_channels_binding is True
    assert sim.stats.calls[QUALIFICATION] == 2


async def test_qualification_over_loopback(sim: WeComSimulator) -> None:
    """Over a real loopback connection the GET endpoint answers too."""
    sim.corp.wechat_channels_binding = True
    async with serve(sim) as base_url:
        client = KfClient(corp_id=sim.corp_id, secret=SIM_SECRET, base_url=base_url)
        async with client as kf:
            qualification = await kf.corp_qualification()
    assert qualification.wechat_channels_binding is True


async def test_qualification_is_a_get(kf: KfClient, sim: WeComSimulator) -> None:
    """The simulator serves the endpoint as GET only (a POST is a 405)."""
    token = (await kf.tokens.get()).value
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=sim)) as http:
        url = f"http://sim/cgi-bin/{QUALIFICATION}"
        posted = await http.post(url, params={"access_token": token})
        got = await http.get(url, params={"access_token": token})
    assert posted.status_code == 405
    assert got.json()["wechat_channels_binding"] is False


async def test_unknown_fields_and_missing_field(kf: KfClient, sim: WeComSimulator) -> None:
    """Fields WeCom adds are ignored; a missing wechat_channels_binding is None."""
    sim.script(QUALIFICATION, [{"wechat_channels_binding": True, "new_field": {"a": 1}}])
    assert (await kf.corp_qualification()).wechat_channels_binding is True
    sim.script(QUALIFICATION, [{"wechat_channels_binding": None}])
    assert (await kf.corp_qualification()).wechat_channels_binding is None


@pytest.mark.parametrize("value", ["true", 1, [True]])
async def test_wrong_type_is_invalid_response(
    kf: KfClient, sim: WeComSimulator, value: Any
) -> None:
    """A binding that is not true or false is an InvalidResponseError, not a guess."""
    sim.script(QUALIFICATION, [{"wechat_channels_binding": value}])
    with pytest.raises(InvalidResponseError, match=QUALIFICATION):
        await kf.corp_qualification()


async def test_transient_errors_are_retried(kf: KfClient, sim: WeComSimulator) -> None:
    """A read: a busy answer and a cut-off body are retried."""
    sim.script(QUALIFICATION, [-1, "truncated"])
    assert (await kf.corp_qualification()).wechat_channels_binding is False
    assert sim.stats.calls[QUALIFICATION] == 3
