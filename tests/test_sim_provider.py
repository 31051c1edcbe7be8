"""The provider simulator: a suite installed in many simulated corps, over real HTTP (issue 20)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wecom_kf_async.callback import CallbackCrypto, parse_callback
from wecom_kf_async.testing import (
    SIM_SUITE_AES_KEY,
    SIM_SUITE_ID,
    SIM_SUITE_SECRET,
    SIM_SUITE_TOKEN,
    Install,
    ProviderSimulator,
    serve_provider_in_subprocess,
)
from wecom_kf_async.testing.simulator._wire import Receive, Scope, Send


class Clock:
    """A settable clock."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def provider(clock: Clock) -> ProviderSimulator:
    return ProviderSimulator(clock=clock)


@pytest.fixture
async def http(provider: ProviderSimulator) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=provider)
    async with httpx.AsyncClient(transport=transport, base_url="http://qyapi.sim") as client:
        yield client


async def post(http: httpx.AsyncClient, path: str, body: Any, **query: str) -> dict[str, Any]:
    response = await http.post(f"/cgi-bin/{path}", json=body, params=query)
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


async def suite_token(http: httpx.AsyncClient, provider: ProviderSimulator) -> str:
    answer = await post(
        http,
        "service/get_suite_token",
        {
            "suite_id": SIM_SUITE_ID,
            "suite_secret": SIM_SUITE_SECRET,
            "suite_ticket": provider.push_ticket(),
        },
    )
    token: str = answer["suite_access_token"]
    return token


async def corp_token(http: httpx.AsyncClient, provider: ProviderSimulator, install: Install) -> str:
    answer = await post(
        http,
        "service/get_corp_token",
        {
            "auth_corpid": install.corp_id,
            "permanent_code": provider.permanent_code(install.corp_id),
        },
        suite_access_token=await suite_token(http, provider),
    )
    token: str = answer["access_token"]
    return token


def assert_error(answer: dict[str, Any], errcode: int) -> None:
    assert answer["errcode"] == errcode, answer
    assert re.search(r", hint: \[\d+_\d+_[0-9a-f]{12}\], from ip: ", answer["errmsg"])
    assert answer["errmsg"].endswith(
        f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}"
    )


# ------------------------------------------------------------------ suite token


async def test_get_suite_token_answers_without_errcode(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    ticket = provider.push_ticket()
    body = {"suite_id": SIM_SUITE_ID, "suite_secret": SIM_SUITE_SECRET, "suite_ticket": ticket}
    answer = await post(http, "service/get_suite_token", body)
    assert set(answer) == {"suite_access_token", "expires_in"}  # page 97162: no errcode
    assert answer["expires_in"] == 7200
    assert provider.suite_token_calls == 1


@pytest.mark.parametrize(
    ("field", "value", "errcode"),
    [
        ("suite_id", "wwother", 40083),
        ("suite_secret", "wrong", 40080),
        ("suite_ticket", "x", 40085),
    ],
)
async def test_get_suite_token_errors(
    http: httpx.AsyncClient, provider: ProviderSimulator, field: str, value: str, errcode: int
) -> None:
    body = {
        "suite_id": SIM_SUITE_ID,
        "suite_secret": SIM_SUITE_SECRET,
        "suite_ticket": provider.push_ticket(),
        field: value,
    }
    assert_error(await post(http, "service/get_suite_token", body), errcode)


async def test_tickets_expire_after_30_minutes_and_older_ones_stay_valid(
    http: httpx.AsyncClient, provider: ProviderSimulator, clock: Clock
) -> None:
    first = provider.push_ticket()
    clock.now += 600
    second = provider.push_ticket()
    body = {"suite_id": SIM_SUITE_ID, "suite_secret": SIM_SUITE_SECRET}
    assert "suite_access_token" in await post(
        http, "service/get_suite_token", {**body, "suite_ticket": first}
    )
    clock.now += 1200  # first is 1800 s old: expired; second 1200 s: still valid
    assert_error(
        await post(http, "service/get_suite_token", {**body, "suite_ticket": first}), 40085
    )
    assert "suite_access_token" in await post(
        http, "service/get_suite_token", {**body, "suite_ticket": second}
    )


async def test_suite_token_checks(
    http: httpx.AsyncClient, provider: ProviderSimulator, clock: Clock
) -> None:
    install = provider.install()
    body = {"auth_code": install.auth_code}
    assert_error(await post(http, "service/get_permanent_code", body), 41001)
    answer = await post(http, "service/get_permanent_code", body, suite_access_token="nope")
    assert_error(answer, 40082)
    assert "invalid suite_access_token" in answer["errmsg"]
    token = await suite_token(http, provider)
    clock.now += 7200
    answer = await post(http, "service/get_corp_token", {}, suite_access_token=token)
    assert_error(answer, 42009)
    assert "suite_access_token expired" in answer["errmsg"]


# --------------------------------------------------------------- permanent code


async def test_get_permanent_code_and_single_use_auth_code(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    install = provider.install("Acme")
    assert install.corp_id == "wwcorp000001"
    assert install.auth_code not in repr(install)
    token = await suite_token(http, provider)
    answer = await post(
        http,
        "service/get_permanent_code",
        {"auth_code": install.auth_code},
        suite_access_token=token,
    )
    assert answer["errcode"] == 0
    assert answer["permanent_code"] == provider.permanent_code(install.corp_id)
    assert answer["auth_corp_info"] == {"corpid": "wwcorp000001", "corp_name": "Acme"}
    assert answer["auth_info"]["agent"][0]["agentid"]
    assert set(answer["auth_user_info"]) == {"userid", "open_userid", "name"}
    assert answer["expires_in"] == 7200
    # The access token it carries is the corp's own.
    accounts = await http.post(
        "/cgi-bin/kf/account/list", json={}, params={"access_token": answer["access_token"]}
    )
    assert accounts.json()["errcode"] == 0
    again = await post(
        http,
        "service/get_permanent_code",
        {"auth_code": install.auth_code},
        suite_access_token=token,
    )
    assert_error(again, 40078)


async def test_v2_get_permanent_code_and_expired_auth_code(
    http: httpx.AsyncClient, provider: ProviderSimulator, clock: Clock
) -> None:
    first, second = provider.install(), provider.install()
    assert second.corp_id == "wwcorp000002"
    token = await suite_token(http, provider)
    answer = await post(
        http,
        "service/v2/get_permanent_code",
        {"auth_code": first.auth_code},
        suite_access_token=token,
    )
    assert answer["errcode"] == 0
    assert "access_token" not in answer
    assert answer["auth_corp_info"]["corpid"] == first.corp_id
    assert answer["permanent_code"] == provider.permanent_code(first.corp_id)
    clock.now += 600
    late = await post(
        http,
        "service/v2/get_permanent_code",
        {"auth_code": second.auth_code},
        suite_access_token=token,
    )
    assert_error(late, 40078)
    unknown = await post(
        http, "service/v2/get_permanent_code", {"auth_code": "nope"}, suite_access_token=token
    )
    assert_error(unknown, 40078)


# ------------------------------------------------------------------- corp token


async def test_get_corp_token_answers_without_errcode_and_refuses_wrong_codes(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    install = provider.install()
    token = await suite_token(http, provider)
    good = {
        "auth_corpid": install.corp_id,
        "permanent_code": provider.permanent_code(install.corp_id),
    }
    answer = await post(http, "service/get_corp_token", good, suite_access_token=token)
    assert set(answer) == {"access_token", "expires_in"}
    assert answer["access_token"] in install.sim.issued_tokens
    wrong = {**good, "permanent_code": "nope"}
    assert_error(await post(http, "service/get_corp_token", wrong, suite_access_token=token), 40084)
    other = {**good, "auth_corpid": "wwnobody"}
    assert_error(await post(http, "service/get_corp_token", other, suite_access_token=token), 40084)
    assert provider.corp_token_calls == {install.corp_id: 2, "wwnobody": 1}


async def test_uninstall_revokes_the_corp(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    install, other = provider.install(), provider.install()
    token = await corp_token(http, provider, install)
    other_token = await corp_token(http, provider, other)
    provider.uninstall(install.corp_id)
    assert provider.corps == (other.corp_id,)
    refused = await http.post("/cgi-bin/kf/account/list", json={}, params={"access_token": token})
    assert_error(refused.json(), 40014)
    kept = await http.post(
        "/cgi-bin/kf/account/list", json={}, params={"access_token": other_token}
    )
    assert kept.json()["errcode"] == 0
    body = {
        "auth_corpid": install.corp_id,
        "permanent_code": provider.permanent_code(install.corp_id),
    }
    answer = await post(
        http, "service/get_corp_token", body, suite_access_token=await suite_token(http, provider)
    )
    assert_error(answer, 40084)


# ---------------------------------------------------------------------- routing


async def test_kf_calls_go_to_the_corp_the_token_was_minted_for(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    one, two = provider.install(), provider.install()
    kf_one = one.sim.add_account("One's desk")
    kf_two = two.sim.add_account("Two's desk")
    for install, expected in ((one, kf_one), (two, kf_two)):
        token = await corp_token(http, provider, install)
        answer = await post(http, "kf/account/list", {}, access_token=token)
        assert [a["open_kfid"] for a in answer["account_list"]] == [expected]
    assert one.sim.stats.calls["kf/account/list"] == 1
    assert two.sim.stats.calls["kf/account/list"] == 1
    assert provider.stats.calls["kf/account/list"] == 2
    assert_error(await post(http, "kf/account/list", {}, access_token="nope"), 40014)
    assert_error(await post(http, "kf/account/list", {}), 41001)


async def test_corp_tokens_expire_with_token_ttl(
    http: httpx.AsyncClient, provider: ProviderSimulator, clock: Clock
) -> None:
    install = provider.install()
    provider.token_ttl = 100
    assert install.sim.token_ttl == 100
    token = await corp_token(http, provider, install)
    clock.now += 100
    assert_error(await post(http, "kf/account/list", {}, access_token=token), 42001)


# -------------------------------------------------------------------- idconvert


async def test_idconvert_open_kfid(http: httpx.AsyncClient, provider: ProviderSimulator) -> None:
    install, other = provider.install(), provider.install()
    mine = install.sim.add_account("Desk")
    theirs = other.sim.add_account("Elsewhere")
    token = await corp_token(http, provider, install)
    answer = await post(
        http, "idconvert/open_kfid", {"open_kfid_list": [mine, theirs]}, access_token=token
    )
    assert answer["errcode"] == 0
    new = provider.new_open_kfid(install.corp_id, mine)
    assert answer["items"] == [{"open_kfid": mine, "new_open_kfid": new}]
    assert new != mine
    assert new.startswith("wk")
    assert answer["invalid_open_kfid_list"] == [theirs]
    too_many = {"open_kfid_list": [f"wk{i}" for i in range(1001)]}
    assert_error(await post(http, "idconvert/open_kfid", too_many, access_token=token), 40058)
    assert_error(await post(http, "idconvert/open_kfid", too_many, access_token="x"), 40014)


async def test_idconvert_unionid_to_external_userid(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    install = provider.install()
    install.sim.add_customer("wmKnown", unionid="oUnionKnown")
    token = await corp_token(http, provider, install)
    path = "idconvert/unionid_to_external_userid"
    known = await post(http, path, {"unionid": "oUnionKnown", "openid": "o1"}, access_token=token)
    assert known == {"errcode": 0, "errmsg": "ok", "external_userid": "wmKnown"}
    stranger = {"unionid": "oStranger", "openid": "o2", "subject_type": 1}
    pending = await post(http, path, stranger, access_token=token)
    assert set(pending) == {"errcode", "errmsg", "pending_id"}
    assert (
        pending["pending_id"]
        == (await post(http, path, stranger, access_token=token))["pending_id"]
    )
    assert_error(await post(http, path, {"unionid": "u"}, access_token=token), 40058)


# --------------------------------------------------------- what the app can see


@pytest.mark.parametrize("app_kind", ["third_party", "agency"])
async def test_batchget_follows_the_app_kind(app_kind: str, clock: Clock) -> None:
    provider = ProviderSimulator(clock=clock, app_kind=app_kind)  # type: ignore[arg-type]
    install = provider.install()
    install.sim.add_customer("wmGiven", avatar="https://x.invalid/a", gender=1, unionid="oU")
    transport = httpx.ASGITransport(app=provider)
    async with httpx.AsyncClient(transport=transport, base_url="http://qyapi.sim") as http:
        token = await corp_token(http, provider, install)
        answer = await post(
            http,
            "kf/customer/batchget",
            {"external_userid_list": ["wmGiven", "wmDerived", "nobody"]},
            access_token=token,
        )
    assert answer["errcode"] == 0
    assert answer["invalid_external_userid"] == ["nobody"]
    for customer in answer["customer_list"]:
        assert "avatar" not in customer
        assert customer["gender"] == 0
        assert customer["nickname"]
    given = answer["customer_list"][0]
    assert ("unionid" in given) is (app_kind == "agency")


async def test_corp_faults_pass_through_the_provider(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    install = provider.install()
    install.sim.script("kf/customer/batchget", [45009, "truncated"])
    token = await corp_token(http, provider, install)
    body = {"external_userid_list": ["wmA"]}
    assert_error(await post(http, "kf/customer/batchget", body, access_token=token), 45009)
    cut = await http.post(
        "/cgi-bin/kf/customer/batchget", json=body, params={"access_token": token}
    )
    assert cut.content.startswith(b'{"errcode":0')
    assert not cut.content.endswith(b"}")  # cut off: the corp's fault, untouched


# ------------------------------------------------------------------ instructions


class Recorder:
    """An ASGI app recording the requests it gets, answering ``success``."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, str], bytes]] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = dict(httpx.QueryParams(scope["query_string"].decode()))
        self.requests.append((scope["path"], query, body))
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"success"})

    def opened(self, crypto: CallbackCrypto, index: int = -1) -> tuple[ET.Element, ET.Element]:
        """The outer XML and the decrypted inner XML of request *index*."""
        _, query, body = self.requests[index]
        plain = crypto.decrypt(query["msg_signature"], query["timestamp"], query["nonce"], body)
        return ET.fromstring(body), ET.fromstring(plain)  # noqa: S314 - our own output


def suite_crypto() -> CallbackCrypto:
    return CallbackCrypto(SIM_SUITE_TOKEN, SIM_SUITE_AES_KEY, SIM_SUITE_ID)


async def test_push_ticket_to_an_asgi_app_delivers_an_encrypted_ticket(
    http: httpx.AsyncClient, provider: ProviderSimulator, clock: Clock
) -> None:
    recorder = Recorder()
    ticket = await provider.push_ticket_to(recorder)
    outer, inner = recorder.opened(suite_crypto())
    assert recorder.requests[0][0] == "/"
    assert outer.findtext("ToUserName") == SIM_SUITE_ID
    assert inner.findtext("SuiteId") == SIM_SUITE_ID
    assert inner.findtext("InfoType") == "suite_ticket"
    assert inner.findtext("TimeStamp") == str(int(clock.now))
    assert inner.findtext("SuiteTicket") == ticket
    body = {"suite_id": SIM_SUITE_ID, "suite_secret": SIM_SUITE_SECRET, "suite_ticket": ticket}
    assert "suite_access_token" in await post(http, "service/get_suite_token", body)


async def test_auth_instructions(provider: ProviderSimulator) -> None:
    recorder = Recorder()
    install = provider.install()
    xml = provider.create_auth_xml(install, state="s1", open_kfids=["wkA", "wkB"])
    assert "<![CDATA[create_auth]]>" in xml
    response = await provider.deliver(xml, recorder, path="/instructions")
    assert response.status_code == 200
    assert response.text == "success"
    _, created = recorder.opened(suite_crypto())
    assert created.findtext("AuthCode") == install.auth_code
    assert created.findtext("State") == "s1"
    assert [e.text for e in created.iterfind("ExtraInfo/AuthOpenKfIdList/OpenKfId")] == [
        "wkA",
        "wkB",
    ]
    assert recorder.requests[0][0] == "/instructions"
    await provider.deliver(provider.change_auth_xml(install.corp_id), recorder)
    _, changed = recorder.opened(suite_crypto())
    assert (changed.findtext("InfoType"), changed.findtext("AuthCorpId")) == (
        "change_auth",
        install.corp_id,
    )
    await provider.deliver(provider.cancel_auth_xml(install.corp_id, timestamp=42), recorder)
    _, cancelled = recorder.opened(suite_crypto())
    assert cancelled.findtext("InfoType") == "cancel_auth"
    assert cancelled.findtext("TimeStamp") == "42"
    assert cancelled.find("AuthCode") is None


async def test_push_kf_callback_is_sealed_for_the_corp(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    recorder = Recorder()
    provider.install()
    install = provider.install()
    open_kfid = install.sim.add_account("Desk")
    install.sim.customer_says(
        open_kfid, "wmCustomer", {"msgtype": "text", "text": {"content": "hi"}}
    )
    push = await provider.push_kf_callback(install.corp_id, open_kfid, recorder)
    assert push.ok
    crypto = CallbackCrypto(SIM_SUITE_TOKEN, SIM_SUITE_AES_KEY, install.corp_id)
    outer, _ = recorder.opened(crypto)
    assert outer.findtext("ToUserName") == install.corp_id
    _, query, body = recorder.requests[-1]
    callback = parse_callback(
        crypto.decrypt(query["msg_signature"], query["timestamp"], query["nonce"], body)
    )
    assert callback.to_user_name == install.corp_id
    assert callback.open_kfid == open_kfid
    # The Token is the corp's: its sync_msg, reached through the provider, takes it.
    token = await corp_token(http, provider, install)
    synced = await post(
        http, "kf/sync_msg", {"token": callback.token, "open_kfid": open_kfid}, access_token=token
    )
    assert synced["errcode"] == 0
    assert synced["msg_list"][-1]["text"]["content"] == "hi"
    with pytest.raises(Exception, match="receive"):
        suite_crypto().decrypt(query["msg_signature"], query["timestamp"], query["nonce"], body)


# ---------------------------------------------------------------------- control


async def test_control_endpoints_in_process(
    http: httpx.AsyncClient, provider: ProviderSimulator
) -> None:
    ticket = (await http.post("/__sim__/provider/ticket")).json()["ticket"]
    installed = (await http.post("/__sim__/provider/install", json={"name": "Co"})).json()
    assert set(installed) == {"corp_id", "auth_code"}
    corp_id = installed["corp_id"]
    assert provider.corp_name(corp_id) == "Co"
    body = {"suite_id": SIM_SUITE_ID, "suite_secret": SIM_SUITE_SECRET, "suite_ticket": ticket}
    assert "suite_access_token" in await post(http, "service/get_suite_token", body)
    codes = (await http.get("/__sim__/provider/permanent_codes")).json()
    assert codes == {corp_id: provider.permanent_code(corp_id)}
    stats = (await http.get("/__sim__/provider/stats")).json()
    assert stats == {
        "calls": {"service/get_suite_token": 1},
        "corp_token_calls": {},
        "suite_token_calls": 1,
    }
    corp_stats = await http.get(f"/__sim__/corps/{corp_id}/stats")
    assert corp_stats.json()["calls"] == {}
    assert (await http.post("/__sim__/provider/uninstall", params={"corp_id": corp_id})).json() == {
        "ok": True
    }
    assert provider.corps == ()
    missing = await http.post("/__sim__/provider/uninstall", params={"corp_id": "nope"})
    assert missing.status_code == 400
    assert (await http.get("/__sim__/provider/nothing")).status_code == 404


def test_provider_sim_fixture(provider_sim: ProviderSimulator) -> None:
    assert provider_sim.suite_id == SIM_SUITE_ID
    assert provider_sim.corps == ()


async def test_served_in_a_subprocess() -> None:
    with serve_provider_in_subprocess(corps=2) as url:
        async with httpx.AsyncClient(base_url=url, trust_env=False) as http:
            codes = (await http.get("/__sim__/provider/permanent_codes")).json()
            assert sorted(codes) == ["wwcorp000001", "wwcorp000002"]
            ticket = (await http.post("/__sim__/provider/ticket")).json()["ticket"]
            body = {
                "suite_id": SIM_SUITE_ID,
                "suite_secret": SIM_SUITE_SECRET,
                "suite_ticket": ticket,
            }
            suite = (await http.post("/cgi-bin/service/get_suite_token", json=body)).json()
            corp = (
                await http.post(
                    "/cgi-bin/service/get_corp_token",
                    params={"suite_access_token": suite["suite_access_token"]},
                    json={"auth_corpid": "wwcorp000002", "permanent_code": codes["wwcorp000002"]},
                )
            ).json()
            listed = await http.post(
                "/cgi-bin/kf/account/list", json={}, params={"access_token": corp["access_token"]}
            )
            assert listed.json()["errcode"] == 0
            installed = (await http.post("/__sim__/provider/install")).json()
            assert installed["corp_id"] == "wwcorp000003"
            stats = (await http.get("/__sim__/provider/stats")).json()
            assert stats["suite_token_calls"] == 1
            assert stats["corp_token_calls"] == {"wwcorp000002": 1}
            assert stats["calls"]["kf/account/list"] == 1
