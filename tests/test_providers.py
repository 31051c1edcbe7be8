"""Serving many corps: KfProvider against the provider simulator (tokens, tickets, isolation)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wecom_kf_async import AgencyApp, ConfigurationError, KfClient, KfError
from wecom_kf_async.providers import (
    AuthorizedCorp,
    CorpNotAuthorizedError,
    InMemoryCorpCredentials,
    InMemorySuiteTicketStore,
    KfProvider,
    Suite,
    SuiteTicket,
    SuiteTicketInstruction,
    SuiteTicketMissingError,
)
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator
from wecom_kf_async.testing.provider import (
    SIM_SUITE_AES_KEY,
    SIM_SUITE_ID,
    SIM_SUITE_SECRET,
    SIM_SUITE_TOKEN,
    ProviderSimulator,
)

from .conftest import FakeClock, until


def provider_for(sim: ProviderSimulator, **options: Any) -> KfProvider:
    """A provider of *sim*'s suite, in process (ASGI), no rate limit."""
    suite = Suite(
        SIM_SUITE_ID,
        SIM_SUITE_SECRET,
        tickets=options.pop("tickets", None),
        clock=options.get("clock", time.time),
    )
    client_options = {"rate_limit": None, **options.pop("client_options", {})}
    if "clock" in options:
        client_options["clock"] = options.pop("clock")
    return KfProvider(
        suite=suite,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
        client_options=client_options,
        **options,
    )


async def give_ticket(provider: KfProvider, sim: ProviderSimulator) -> str:
    ticket = sim.push_ticket()
    await provider.handle(
        SuiteTicketInstruction(suite_id=SIM_SUITE_ID, ticket=ticket, timestamp=int(sim.clock()))
    )
    return ticket


@pytest.fixture
def psim() -> ProviderSimulator:
    return ProviderSimulator()


@pytest.fixture
async def provider(psim: ProviderSimulator) -> AsyncIterator[KfProvider]:
    async with provider_for(psim) as opened:
        await give_ticket(opened, psim)
        yield opened


async def test_300_corps_one_token_each_and_a_cancelled_corp_fails_alone(
    psim: ProviderSimulator,
) -> None:
    corps = [psim.install().corp_id for _ in range(300)]
    credentials = InMemoryCorpCredentials({c: psim.permanent_code(c) for c in corps})
    revoked = corps[137]
    psim.uninstall(revoked)  # the provider has not heard of it yet
    async with provider_for(psim, credentials=credentials) as provider:
        await give_ticket(provider, psim)

        async def serve(corp_id: str) -> Any:
            async with provider.corp(corp_id) as kf:
                return await kf.customers.batch_get([f"wm{corp_id}a", f"wm{corp_id}b", "stranger"])

        results = await asyncio.gather(*(serve(c) for c in corps), return_exceptions=True)
        assert len(provider.open_corps) == 300
    failed = {c: r for c, r in zip(corps, results, strict=True) if isinstance(r, BaseException)}
    assert list(failed) == [revoked]
    error = failed[revoked]
    assert isinstance(error, ConfigurationError)
    assert getattr(error, "errcode", None) == 40084
    assert "permanent_code" in str(error)
    for corp_id, result in zip(corps, results, strict=True):
        if corp_id != revoked:
            assert [c.external_userid for c in result.customers] == [
                f"wm{corp_id}a",
                f"wm{corp_id}b",
            ]
            assert result.invalid_external_userids == ["stranger"]
    assert psim.suite_token_calls == 1
    assert {c: psim.corp_token_calls[c] for c in corps} == dict.fromkeys(corps, 1)


async def test_a_third_party_app_sees_no_avatar_unionid_or_gender(
    psim: ProviderSimulator, provider: KfProvider
) -> None:
    corp = await provider.authorize(psim.install().auth_code)
    async with provider.corp(corp.corp_id) as kf:
        (customer,) = (await kf.customers.batch_get(["wmAlice"])).customers
    assert customer.avatar in (None, "")
    assert customer.unionid in (None, "")
    assert customer.gender == 0


async def test_no_ticket_yet_is_a_clear_error_without_a_request_then_calls_resume(
    psim: ProviderSimulator,
) -> None:
    corp_id = psim.install().corp_id
    credentials = InMemoryCorpCredentials({corp_id: psim.permanent_code(corp_id)})
    async with provider_for(psim, credentials=credentials) as provider:
        for _ in range(3):  # no loop, no request: the same error each time
            async with provider.corp(corp_id) as kf:
                with pytest.raises(SuiteTicketMissingError, match="no suite_ticket has arrived"):
                    await kf.accounts.list()
                failed = (await kf.customers.batch_get(["wmA"])).failed
                assert isinstance(failed["wmA"], SuiteTicketMissingError)
        assert psim.suite_token_calls == 0
        await give_ticket(provider, psim)  # the ticket arrives: at once, no waiting out a backoff
        async with provider.corp(corp_id) as kf:
            assert "wmA" in await kf.customers.batch_get(["wmA"])
    assert psim.suite_token_calls == 1


async def test_an_expired_ticket_names_itself_and_a_new_one_resumes(
    psim: ProviderSimulator,
) -> None:
    clock = FakeClock(time.time())
    psim.clock = clock
    corp_id = psim.install().corp_id
    credentials = InMemoryCorpCredentials({corp_id: psim.permanent_code(corp_id)})
    async with provider_for(psim, credentials=credentials, clock=clock) as provider:
        await give_ticket(provider, psim)
        clock.advance(1801)  # the ticket's 30 minutes are over, no suite token was fetched
        async with provider.corp(corp_id) as kf:
            with pytest.raises(SuiteTicketMissingError, match=r"expired \d s ago"):
                await kf.accounts.list()
            await give_ticket(provider, psim)
            assert "wmA" in await kf.customers.batch_get(["wmA"])


async def test_tickets_late_repeated_or_out_of_order_never_go_back() -> None:
    store = InMemorySuiteTicketStore()
    now = time.time()
    newer = SuiteTicket(value="t2", timestamp=int(now), received_at=now)
    older = SuiteTicket(value="t1", timestamp=int(now) - 600, received_at=now)
    assert await store.put(SIM_SUITE_ID, newer)
    assert not await store.put(SIM_SUITE_ID, newer)  # pushed twice
    assert not await store.put(SIM_SUITE_ID, older)  # arrived late, out of order
    assert await store.get(SIM_SUITE_ID) == newer
    assert "t2" not in repr(newer)


async def test_install_and_cancel_through_the_instruction_callback(
    psim: ProviderSimulator,
) -> None:
    authorized: list[AuthorizedCorp] = []

    async def keep(corp: AuthorizedCorp) -> None:
        authorized.append(corp)

    async with provider_for(psim, on_authorized=keep) as provider:
        app = provider.instruction_app(token=SIM_SUITE_TOKEN, encoding_aes_key=SIM_SUITE_AES_KEY)
        await psim.push_ticket_to(app)
        one, two = psim.install(), psim.install()
        for install in (one, two):
            answer = await psim.deliver(psim.create_auth_xml(install), app)
            assert answer.text == "success"
        await app.aclose()  # waits for the handlers
        assert [c.corp_id for c in authorized] == [one.corp_id, two.corp_id]
        assert await provider.credentials.get(one.corp_id) == psim.permanent_code(one.corp_id)
        async with provider.corp(one.corp_id) as kf:
            assert "wmA" in await kf.customers.batch_get(["wmA"])

        app = provider.instruction_app(token=SIM_SUITE_TOKEN, encoding_aes_key=SIM_SUITE_AES_KEY)
        psim.uninstall(one.corp_id)
        await psim.deliver(psim.cancel_auth_xml(one.corp_id), app)
        await app.aclose()
        assert one.corp_id not in provider.open_corps
        with pytest.raises(CorpNotAuthorizedError, match=one.corp_id):
            async with provider.corp(one.corp_id):
                pass
        async with provider.corp(two.corp_id) as kf:  # the other corp goes on
            assert "wmB" in await kf.customers.batch_get(["wmB"])


async def test_clients_beyond_the_cap_or_idle_too_long_are_closed(psim: ProviderSimulator) -> None:
    corps = [psim.install().corp_id for _ in range(6)]
    credentials = InMemoryCorpCredentials({c: psim.permanent_code(c) for c in corps})
    clock = FakeClock(1000.0)
    async with provider_for(
        psim, credentials=credentials, max_clients=3, idle_timeout=60, monotonic=clock
    ) as provider:
        await give_ticket(provider, psim)
        for corp_id in corps:
            async with provider.corp(corp_id) as kf:
                await kf.customers.batch_get(["wmA"])
            clock.advance(1)
        assert provider.open_corps == corps[-3:]  # the least recently used went first
        async with provider.corp(corps[0]) as held:
            clock.advance(120)
            async with provider.corp(corps[1]):
                pass  # trims: the idle clients are past their 60 s; held and fresh ones stay
            assert provider.open_corps == [corps[0], corps[1]]
            assert held.state == "open"
    # A closed corp's client is made again on its next use, with the cached token.
    assert psim.corp_token_calls[corps[5]] == 1


async def test_an_agency_built_app_gets_each_corp_token_with_its_secret() -> None:
    sim = WeComSimulator()
    async with KfClient(
        token_source=AgencyApp(sim.corp_id, SIM_SECRET),
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
        rate_limit=None,
    ) as kf:
        assert "wmA" in await kf.customers.batch_get(["wmA"])
        assert SIM_SECRET not in repr(kf._pipeline.source)
    credentials = InMemoryCorpCredentials({sim.corp_id: SIM_SECRET})
    provider = KfProvider(
        app_kind="agency",
        credentials=credentials,
        base_url="http://wecom.sim",
        transport=httpx.ASGITransport(app=sim),
        client_options={"rate_limit": None},
    )
    async with provider, provider.corp(sim.corp_id) as kf:
        assert "wmB" in await kf.customers.batch_get(["wmB"])
    assert sim.stats.calls["gettoken"] == 2


def test_provider_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="needs its suite"):
        KfProvider()
    with pytest.raises(ValueError, match="app_kind"):
        KfProvider(app_kind="selfbuilt")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="client_options"):
        KfProvider(app_kind="agency", client_options={"secret": "x"})
    with pytest.raises(ValueError, match="max_clients"):
        KfProvider(app_kind="agency", max_clients=0)


async def test_a_closed_provider_hands_out_nothing(psim: ProviderSimulator) -> None:
    provider = provider_for(psim)
    with pytest.raises(RuntimeError, match="not open"):
        async with provider.corp(psim.install().corp_id):
            pass


def test_errors_are_kf_errors() -> None:
    assert issubclass(SuiteTicketMissingError, KfError)
    assert issubclass(CorpNotAuthorizedError, KfError)


async def test_id_conversions_a_provider_needs(
    psim: ProviderSimulator, provider: KfProvider
) -> None:
    install = psim.install()
    corp = await provider.authorize(install.auth_code)
    account = install.sim.add_account("Support")
    install.sim.add_customer("wmKnown", unionid="uKnown")
    async with provider.corp(corp.corp_id) as kf:
        found = await kf.ids.open_kfids([account, "wkNobody"])
        assert found.converted == {account: psim.new_open_kfid(corp.corp_id, account)}
        assert found.invalid == ["wkNobody"]
        known = await kf.ids.unionid("uKnown", "oKnown")
        assert (known.external_userid, known.pending_id) == ("wmKnown", None)
        stranger = await kf.ids.unionid("uStranger", "oStranger", subject_type=1)
        assert stranger.external_userid is None
        assert stranger.pending_id == psim.pending_id(corp.corp_id, "uStranger")
        assert "pending=True" in repr(stranger)
        with pytest.raises(ValueError, match="1000"):
            await kf.ids.open_kfids([f"wk{n}" for n in range(1001)])
        with pytest.raises(ValueError, match="subject_type"):
            await kf.ids.unionid("u", "o", subject_type=2)
    assert psim.stats.calls["idconvert/open_kfid"] == 1


async def test_a_stuck_or_throttled_corp_holds_up_no_other(
    psim: ProviderSimulator, provider: KfProvider
) -> None:
    stuck, throttled, fine = [await provider.authorize(psim.install().auth_code) for _ in range(3)]
    stuck_sim, throttled_sim = psim.corp(stuck.corp_id), psim.corp(throttled.corp_id)
    stuck_sim.hold = asyncio.Event()  # its answers wait until released
    throttled_sim.script("kf/customer/batchget", [45009, 45009, 45009])

    async def serve(corp_id: str) -> list[str]:
        async with provider.corp(corp_id) as kf:
            result = await kf.customers.batch_get(["wmA"])
            return [c.external_userid for c in result.customers]

    held = asyncio.create_task(serve(stuck.corp_id))
    await until(lambda: stuck_sim.stats.calls["kf/customer/batchget"] == 1)  # in flight, held
    async with asyncio.timeout(10):
        assert await serve(throttled.corp_id) == ["wmA"]  # retried after 45009, alone
        assert await serve(fine.corp_id) == ["wmA"]
    assert not held.done()  # the stuck corp is still waiting: nobody waited for it
    stuck_sim.hold.set()
    assert await held == ["wmA"]
    assert throttled_sim.stats.errors[45009] == 3
    assert psim.corp(fine.corp_id).stats.errors[45009] == 0


async def test_the_simulator_pushes_tickets_on_a_schedule_and_calls_follow(
    psim: ProviderSimulator,
) -> None:
    clock = FakeClock(time.time())
    psim.clock = clock
    slept: list[float] = []

    async def sleep(seconds: float) -> None:  # ten minutes pass between pushes
        slept.append(seconds)
        clock.advance(seconds)

    async with provider_for(psim, clock=clock) as provider:
        app = provider.instruction_app(token=SIM_SUITE_TOKEN, encoding_aes_key=SIM_SUITE_AES_KEY)
        answered = await psim.push_tickets(app, count=4, sleep=sleep)
        install = psim.install()  # its auth code lives 10 minutes from now
        await psim.deliver(psim.create_auth_xml(install), app)
        await app.aclose()
        assert (answered, slept) == (4, [600.0, 600.0, 600.0])
        kept = await provider.suite.tickets.get(SIM_SUITE_ID)  # type: ignore[union-attr]
        assert kept is not None
        assert kept.timestamp == int(clock())  # the newest of the four
        async with provider.corp(install.corp_id) as kf:
            assert "wmA" in await kf.customers.batch_get(["wmA"])
