"""Contact links of KF accounts: kf.accounts.contact_url (add_contact_way) and with_scene_param."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

from wecom_kf_async import KfClient
from wecom_kf_async.testing import WeComSimulator

from .test_accounts import errcode_of, sent

CONTACT = "kf/add_contact_way"

# --------------------------------------------------------------------- contact links


async def test_contact_url_with_and_without_scene(sim: WeComSimulator, kf: KfClient) -> None:
    """A link without scene has no query; with one it carries enc_scene; both are recorded."""
    open_kfid = sim.add_account("Support")
    plain = await kf.accounts.contact_url(open_kfid)
    empty = await kf.accounts.contact_url(open_kfid, scene="")
    scened = await kf.accounts.contact_url(open_kfid, scene="spring_sale")
    assert plain.startswith("https://work.weixin.qq.com/kf/kfc")
    assert "?" not in plain
    assert empty == plain
    assert scened.startswith(plain + "?enc_scene=")
    assert sim.corp.accounts[open_kfid].contact_urls == [plain, empty, scened]


@pytest.mark.parametrize(
    ("scene", "error"),
    [("spring sale", ValueError), ("x" * 33, ValueError), ("春季", ValueError), (5, TypeError)],
)
async def test_contact_url_refuses_a_bad_scene_before_any_request(
    sim: WeComSimulator, kf: KfClient, scene: Any, error: type
) -> None:
    """scene is at most 32 bytes of [0-9a-zA-Z_-]; anything else raises naming it."""
    with pytest.raises(error, match="scene"):
        await kf.accounts.contact_url("wkA", scene=scene)
    assert sent(sim) == 0


@pytest.mark.parametrize(
    ("body", "errcode"),
    [
        ({"open_kfid": "wkUnknown"}, 95004),
        ({"open_kfid": ""}, 95000),
        ({"open_kfid": "KNOWN", "scene": "bad scene"}, 40058),
        ({"open_kfid": "KNOWN", "scene": "x" * 33}, 40058),
        ({"open_kfid": "KNOWN", "scene": 5}, 40058),
    ],
)
async def test_simulator_contact_way_answers_the_documented_errcodes(
    sim: WeComSimulator, kf: KfClient, body: dict[str, Any], errcode: int
) -> None:
    """add_contact_way: 95000/95004 for the account, 40058 for a bad scene; no link recorded."""
    open_kfid = sim.add_account("Support")
    if body.get("open_kfid") == "KNOWN":
        body = {**body, "open_kfid": open_kfid}
    assert await errcode_of(kf, CONTACT, body) == errcode
    assert sim.corp.accounts[open_kfid].contact_urls == []


LINK = "https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f?enc_scene=ENCGFSDF567DF"


def test_with_scene_param_url_encodes_and_appends(kf_offline: KfClient) -> None:
    """The value is url-encoded and appended with & after enc_scene, or ? on a bare link."""
    accounts = kf_offline.accounts
    assert (
        accounts.with_scene_param(LINK, "campaign=42&src=qr")
        == LINK + "&scene_param=campaign%3D42%26src%3Dqr"
    )
    bare = "https://work.weixin.qq.com/kf/kfcbf8f8d07ac7215f"
    assert accounts.with_scene_param(bare, "a b/中") == bare + "?scene_param=a%20b%2F%E4%B8%AD"
    assert not inspect.iscoroutinefunction(accounts.with_scene_param)


def test_with_scene_param_counts_128_bytes_before_encoding(kf_offline: KfClient) -> None:
    """128 bytes pass (encoded longer), 129 raise a ValueError naming scene_param."""
    accounts = kf_offline.accounts
    assert accounts.with_scene_param(LINK, "x" * 128).endswith("x" * 128)
    assert "%E4%B8%AD" in accounts.with_scene_param(LINK, "中" * 42)  # 126 bytes
    with pytest.raises(ValueError, match=r"scene_param is 129 bytes.*128"):
        accounts.with_scene_param(LINK, "x" * 129)
    with pytest.raises(ValueError, match="scene_param"):
        accounts.with_scene_param(LINK, "中" * 43)


@pytest.mark.parametrize(
    ("url", "value", "error", "match"),
    [
        ("work.weixin.qq.com/kf/kfc1", "a", ValueError, "http"),
        ("ftp://work.weixin.qq.com/kf/kfc1", "a", ValueError, "http"),
        (LINK + "&scene_param=x", "a", ValueError, "already"),
        (LINK + "#top", "a", ValueError, "fragment"),
        (LINK, "", ValueError, "scene_param"),
        (LINK, 42, TypeError, "scene_param"),
        (None, "a", TypeError, "url"),
    ],
)
def test_with_scene_param_refuses_what_cannot_work(
    kf_offline: KfClient, url: Any, value: Any, error: type, match: str
) -> None:
    """Not an http(s) link, a link that has a scene_param, or a bad value raise."""
    with pytest.raises(error, match=match):
        kf_offline.accounts.with_scene_param(url, value)


@pytest.fixture
def kf_offline() -> KfClient:
    """A client that is never opened: with_scene_param needs no connection."""
    return KfClient(corp_id="ww", secret="s")
