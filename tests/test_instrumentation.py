"""Instrumentation hooks: the typed event stream, shielding, defaults, logging, no secrets."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import attrs
import pytest

from wecom_kf_async import InMemoryTokenStore, KfBot, Text, TextMessage
from wecom_kf_async.instrumentation import (
    EVENTS_LOGGER,
    AttemptStarted,
    CallFinished,
    CallStarted,
    HandlerFailed,
    Hooks,
    InstrumentationEvent,
    LoggingInstrumentation,
    PullFinished,
    RateLimitWaited,
    RequestFinished,
    RetryScheduled,
    StatsInstrumentation,
    SyncPageTaken,
    ThrottleChanged,
    TokenRefreshed,
    get_default_instrumentation,
    set_default_instrumentation,
)
from wecom_kf_async.testing import SIM_SECRET, WeComSimulator

from .conftest import Recorder, client_for, until

BATCHGET = "kf/customer/batchget"


@pytest.fixture(autouse=True)
def _default_restored() -> Iterator[None]:
    yield
    set_default_instrumentation(None)


async def test_a_call_emits_start_attempts_retries_and_finish(sim: WeComSimulator) -> None:
    hook = Recorder()
    sim.script(BATCHGET, [45009])
    async with client_for(sim, instrumentation=[hook]) as kf:
        await kf.customers.batch_get(["wmA", "wmB"])
    kinds = [
        type(event).__name__ for event in hook.events if getattr(event, "path", "") == BATCHGET
    ]
    assert kinds == [
        "CallStarted",
        "RateLimitWaited",
        "AttemptStarted",
        "RequestFinished",
        "ThrottleChanged",
        "RetryScheduled",
        "RateLimitWaited",
        "AttemptStarted",
        "RequestFinished",
        "CallFinished",
    ]
    first, second = hook.of(RequestFinished)[-2:]
    assert isinstance(first, RequestFinished)
    assert (first.outcome, first.errcode, first.status_code, first.attempt) == (
        "errcode",
        45009,
        200,
        1,
    )
    assert isinstance(second, RequestFinished)
    assert (second.outcome, second.errcode, second.attempt) == ("ok", 0, 2)
    (retry,) = hook.of(RetryScheduled)
    assert isinstance(retry, RetryScheduled)
    assert (retry.path, retry.attempt, retry.cause) == (BATCHGET, 1, "RateLimitedError")
    (refresh,) = hook.of(TokenRefreshed)
    assert isinstance(refresh, TokenRefreshed)
    assert refresh.source == "gettoken"
    assert refresh.duration >= 0
    finished = hook.of(CallFinished)[-1]
    assert isinstance(finished, CallFinished)
    assert (finished.path, finished.outcome, finished.error) == (BATCHGET, "ok", None)
    (started,) = [
        e for e in hook.of(CallStarted) if isinstance(e, CallStarted) and e.path == BATCHGET
    ]
    assert finished.call_id == started.call_id
    throttle = hook.of(ThrottleChanged)
    assert throttle
    assert isinstance(throttle[0], ThrottleChanged)
    assert throttle[0].rate is not None


async def test_a_failed_call_names_its_error_and_errcode(sim: WeComSimulator) -> None:
    hook = Recorder(CallFinished)
    sim.script("kf/account/list", [60011])
    async with client_for(sim, instrumentation=[hook]) as kf:
        with pytest.raises(Exception, match="60011"):
            await kf.accounts.list()
    (finished,) = [e for e in hook.events if getattr(e, "path", "") == "kf/account/list"]
    assert isinstance(finished, CallFinished)
    assert (finished.outcome, finished.errcode) == ("error", 60011)
    assert finished.error is not None


async def test_a_token_taken_from_the_shared_store_is_reported_as_shared(
    sim: WeComSimulator,
) -> None:
    store = InMemoryTokenStore()
    first, second = Recorder(TokenRefreshed), Recorder(TokenRefreshed)
    async with client_for(sim, instrumentation=[first], token_store=store) as kf:
        await kf.accounts.list()
    async with client_for(sim, instrumentation=[second], token_store=store) as kf:
        await kf.accounts.list()
    assert [e.source for e in first.events if isinstance(e, TokenRefreshed)] == ["gettoken"]
    assert [e.source for e in second.events if isinstance(e, TokenRefreshed)] == ["shared"]
    assert sim.stats.calls["gettoken"] == 1


async def test_rate_limit_waits_are_reported_per_budget(sim: WeComSimulator) -> None:
    hook = Recorder(RateLimitWaited)
    async with client_for(sim, instrumentation=[hook], rate_limits={BATCHGET: 20.0}) as kf:
        await kf.customers.batch_get([f"wm{index:04d}" for index in range(300)])
    waits = [e for e in hook.events if isinstance(e, RateLimitWaited) and e.path == BATCHGET]
    assert len(waits) == sim.stats.calls[BATCHGET]
    assert all(e.seconds >= 0 for e in waits)
    assert sum(e.seconds for e in waits) > 0  # 3 calls on a 20/s budget: someone waited


async def test_a_hook_that_raises_breaks_nothing_and_is_logged_once(
    sim: WeComSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(event: InstrumentationEvent) -> None:
        raise RuntimeError("hook bug")

    after = Recorder()
    sim.script(BATCHGET, [45009, -1])
    kfid = sim.add_account("Support")
    sim.sync_msg_without_token_per_minute = None
    with caplog.at_level(logging.ERROR, logger="wecom_kf_async"):
        async with client_for(sim, instrumentation=[broken, after]) as kf:
            result = await kf.customers.batch_get([f"wm{index:04d}" for index in range(250)])
            assert result.ok
            assert len(result.customers) == 250
            bot = KfBot(kf)
            seen: list[str] = []

            @bot.on(TextMessage)
            async def text(msg: TextMessage) -> None:
                seen.append(msg.text.content)

            async with bot:
                sim.customer_says(kfid, "wmC", Text("still works"))
                bot.wake(kfid)
                await until(lambda: seen == ["still works"])
    failures = [r for r in caplog.records if "instrumentation hook" in r.getMessage()]
    assert len(failures) == 1
    assert failures[0].exc_info is not None
    assert len(after.of(RequestFinished)) == sum(sim.stats.calls.values())  # the next hook too


async def test_a_hook_gets_only_the_kinds_it_wants(sim: WeComSimulator) -> None:
    hook = Recorder(RetryScheduled)
    sim.script(BATCHGET, [-1])
    async with client_for(sim, instrumentation=[hook]) as kf:
        await kf.customers.batch_get(["wmA"])
    assert [type(e) for e in hook.events] == [RetryScheduled]


async def test_events_no_hook_wants_are_never_built(
    sim: WeComSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(self: object, **_: object) -> None:
        raise AssertionError("an event nobody wants was built")

    for kind in (CallStarted, CallFinished, AttemptStarted, RequestFinished, RateLimitWaited):
        monkeypatch.setattr(kind, "__init__", explode)
    sim.script(BATCHGET, [45009])
    for hooks in ([], [LoggingInstrumentation()], [Recorder(TokenRefreshed)]):
        async with client_for(sim, instrumentation=hooks) as kf:
            assert (await kf.customers.batch_get(["wmA"])).ok


def test_set_default_instrumentation_reaches_clients_made_afterwards(
    sim: WeComSimulator,
) -> None:
    (default,) = get_default_instrumentation()
    assert isinstance(default, LoggingInstrumentation)
    assert repr(client_for(sim).instrumentation) == "Hooks(LoggingInstrumentation)"

    hook = Recorder()
    set_default_instrumentation([hook])
    assert client_for(sim).instrumentation.hooks == (hook,)
    assert client_for(sim, instrumentation=[]).instrumentation.hooks == ()
    set_default_instrumentation([])
    assert not client_for(sim).instrumentation
    set_default_instrumentation(None)
    assert isinstance(client_for(sim).instrumentation.hooks[0], LoggingInstrumentation)


@pytest.mark.parametrize("bad", [42, "hook", None])
def test_a_hook_must_be_callable(bad: object, sim: WeComSimulator) -> None:
    with pytest.raises(TypeError, match="must be callable"):
        set_default_instrumentation([bad])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be callable"):
        client_for(sim, instrumentation=[bad])
    with pytest.raises(TypeError, match="must be callable"):
        Hooks([bad])  # type: ignore[list-item]


async def test_logging_instrumentation_puts_the_fields_in_extra(
    sim: WeComSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    sim.script(BATCHGET, [45009])
    with caplog.at_level(logging.DEBUG, logger=EVENTS_LOGGER):
        async with client_for(sim, instrumentation=[LoggingInstrumentation()]) as kf:
            await kf.customers.batch_get(["wmA"])
    records = [r for r in caplog.records if r.name == EVENTS_LOGGER]
    names = [getattr(r, "event", None) for r in records]
    assert "RequestFinished" not in names  # per-request events only with requests=True
    (retry,) = [r for r in records if getattr(r, "event", None) == "RetryScheduled"]
    assert retry.levelno == logging.INFO
    assert getattr(retry, "path", None) == BATCHGET
    assert getattr(retry, "cause", None) == "RateLimitedError"
    assert getattr(retry, "attempt", None) == 1
    assert "RetryScheduled" in retry.getMessage()
    assert "TokenRefreshed" in names


async def test_logging_instrumentation_logs_each_request_when_asked(
    sim: WeComSimulator, caplog: pytest.LogCaptureFixture
) -> None:
    hook = LoggingInstrumentation(requests=True)
    with caplog.at_level(logging.DEBUG, logger=EVENTS_LOGGER):
        async with client_for(sim, instrumentation=[hook]) as kf:
            await kf.accounts.list()
    finished = [r for r in caplog.records if getattr(r, "event", None) == "RequestFinished"]
    assert {getattr(r, "path", None) for r in finished} == {"gettoken", "kf/account/list"}
    assert all(r.levelno == logging.DEBUG for r in finished)
    assert all(getattr(r, "status_code", None) == 200 for r in finished)
    assert "requests=True" in repr(hook)


async def test_no_event_carries_a_secret_token_body_or_nickname(sim: WeComSimulator) -> None:
    hook = Recorder()
    kfid = sim.add_account("Support")
    sim.sync_msg_without_token_per_minute = None
    sim.script(BATCHGET, [40014, 45009])
    words = "the customer's private words"
    async with client_for(sim, instrumentation=[hook]) as kf:
        result = await kf.customers.batch_get(["wmA", "wmB"])
        nicknames = [c.nickname for c in result.customers if c.nickname]
        bot = KfBot(kf)
        seen: list[str] = []

        @bot.on(TextMessage)
        async def text(msg: TextMessage) -> None:
            seen.append(msg.text.content)
            raise ValueError(msg.text.content)  # an error whose text is the message

        async with bot:
            sim.customer_says(kfid, "wmC", Text(words))
            bot.wake(kfid, sim.callback_token(kfid))
            await until(lambda: bool([e for e in hook.events if isinstance(e, PullFinished)]))
        tokens = {(await kf.tokens.get()).value, *sim.issued_tokens}
    assert seen == [words]
    assert nicknames
    assert hook.of(SyncPageTaken)
    assert hook.of(HandlerFailed)
    values = [str(v) for e in hook.events for v in attrs.asdict(e).values()]
    for secret in (SIM_SECRET, *tokens, words, *nicknames):
        assert not [v for v in values if secret in v], secret[:6]


def test_stats_instrumentation_summarises_calls_retries_and_waits() -> None:
    stats = StatsInstrumentation()
    for outcome in ("ok", "ok", "errcode"):
        stats(
            RequestFinished(
                call_id=1,
                path=BATCHGET,
                method="POST",
                attempt=1,
                duration=0.01,
                status_code=200,
                errcode=0,
                outcome=outcome,
            )
        )
    stats(RetryScheduled(call_id=1, path=BATCHGET, attempt=1, wait=0.5, cause="RateLimitedError"))
    stats(RateLimitWaited(path=BATCHGET, seconds=1.25))
    stats(RateLimitWaited(path="kf/sync_msg", seconds=0.5))
    assert stats.summary().splitlines() == [
        f"{BATCHGET}: 3 call(s) (errcode 1, ok 2)",
        f"retries: {BATCHGET} RateLimitedError 1",
        "waited on the rate limiter: 1.750s",
    ]
    assert StatsInstrumentation().summary().splitlines()[-2:] == [
        "retries: none",
        "waited on the rate limiter: 0.000s",
    ]
