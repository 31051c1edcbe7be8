"""No secret or access token in logs, exception texts, reprs or cause chains."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from wecom_kf_async import KfClient, KfError, RetryPolicy
from wecom_kf_async.testing import CUSTOMER_BATCHGET, SIM_SECRET, WeComSimulator

from .conftest import client_for

SECRET = SIM_SECRET


class Capture(logging.Handler):
    """Keeps every record the root logger sees, formatted as a handler would."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        return [self.format(r) for r in self.records]


@pytest.fixture
def capture() -> Iterator[Capture]:
    """Every log record at DEBUG and above, from every logger."""
    handler = Capture()
    root = logging.getLogger()
    old_level = root.level
    root.setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def issued_tokens(sim: WeComSimulator) -> set[str]:
    """Every token the simulator handed out (recorded by wrapping its issuer)."""
    return set(sim.issued_tokens)


def chain(exc: BaseException | None) -> Iterator[BaseException]:
    """The exception, its causes and contexts."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def assert_clean(text: str, secrets: set[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"a secret leaked into: {text[:200]!r}"


@pytest.mark.parametrize("own_client", [False, True], ids=["library's sender", "your client"])
async def test_no_secret_or_token_in_any_log_record(
    sim: WeComSimulator, capture: Capture, own_client: bool
) -> None:
    """A busy run (refreshes, rotation, faults, throttling) logs nothing secret at DEBUG.

    The library sends its own requests straight to the transport; an ``http_client``
    you pass is used as a client, so httpx logs each request, with the token masked.
    """
    sim.set_fault_rate(CUSTOMER_BATCHGET, 0.3, faults=(-1, 45009, "http502", 40014))
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=sim))
    kf = (
        KfClient(
            corp_id=sim.corp_id,
            secret=SIM_SECRET,
            base_url="http://wecom.sim",
            http_client=http,
            max_concurrency=4,
            rate_limit=None,
        )
        if own_client
        else client_for(sim, max_concurrency=4)
    )
    async with http, kf:
        await kf.customers.batch_get([f"wm{i}" for i in range(800)])
        sim.rotate_token()
        await kf.customers.batch_get([f"wm{i}" for i in range(300)])
        sim.expire_tokens()
        await kf.customers.batch_get(["wmA"])
    secrets = {SECRET} | issued_tokens(sim)
    assert len(issued_tokens(sim)) >= 2
    texts = capture.texts()
    if own_client:
        assert any(r.name == "httpx" for r in capture.records)  # httpx did log its requests
        assert any("access_token=***" in t for t in texts)
    assert any(r.name == "wecom_kf_async" for r in capture.records)
    for text in texts:
        assert_clean(text, secrets)


async def test_no_secret_in_errors_from_wrong_secret_or_transport(
    sim: WeComSimulator, capture: Capture
) -> None:
    """Exceptions (str, repr, cause chain) carry neither the secret nor a token."""
    wrong = "wrong-but-still-secret-value"
    async with client_for(sim, secret=wrong) as kf:
        with pytest.raises(KfError) as raised:
            await kf.customers.batch_get(["wmA"])
    for exc in chain(raised.value):
        assert_clean(str(exc) + repr(exc), {wrong})
    async with client_for(sim, retry=RetryPolicy(attempts=2)) as kf:
        await kf.tokens.get()
        sim.script(CUSTOMER_BATCHGET, ["http502", "http502"])
        with pytest.raises(KfError) as raised:
            await kf.request("POST", CUSTOMER_BATCHGET, json={"external_userid_list": ["wmA"]})
    secrets = {SIM_SECRET} | issued_tokens(sim)
    for exc in chain(raised.value):
        assert_clean(str(exc) + repr(exc) + repr(exc.args), secrets)
    for text in capture.texts():
        assert_clean(text, secrets | {wrong})


async def test_connect_error_chain_holds_no_url() -> None:
    """A transport failure's exception does not chain httpx's (which holds the URL)."""
    transport = httpx.MockTransport(lambda request: (_ for _ in ()).throw(httpx.ConnectError("x")))
    kf = KfClient(
        corp_id="ww",
        secret="the-secret-1234",
        base_url="http://wecom.sim",
        transport=transport,
        retry=RetryPolicy(attempts=1),
        rate_limit=None,
    )
    async with kf:
        with pytest.raises(KfError) as raised:
            await kf.tokens.get()
    # The caller's own copy, chained to the refresh's shared original; no httpx error.
    assert [type(e).__name__ for e in chain(raised.value)] == ["TransportError"] * 2
    assert "the-secret-1234" not in str(raised.value)


def test_client_repr_hides_secret() -> None:
    """repr/str of the client show the corp id but not the secret."""
    kf = KfClient(corp_id="wwcorp", secret="hunter2-very-secret")
    assert "hunter2" not in repr(kf)
    assert "hunter2" not in str(kf)
    assert "wwcorp" in repr(kf)
    assert "hunter2" not in repr(vars(kf).get("retry"))


async def test_token_repr_and_cache_key_hide_values(kf: KfClient) -> None:
    """AccessToken's repr hides the token; the cache key holds no secret."""
    token = await kf.tokens.get()
    assert token.value not in repr(token)
    assert SIM_SECRET not in repr(kf.tokens.store)
    from wecom_kf_async import token_key

    assert SIM_SECRET not in token_key("ww", SIM_SECRET)


async def test_default_transport_over_loopback_logs_no_secret(capture: Capture) -> None:
    """The default (aiohttp) transport over a real port leaks nothing into logs either."""
    from wecom_kf_async.testing import serve

    sim = WeComSimulator()
    sim.set_fault_rate(CUSTOMER_BATCHGET, 0.3, faults=(-1, "http502", 40014))
    async with serve(sim) as base_url:
        kf = KfClient(corp_id=sim.corp_id, secret=SIM_SECRET, base_url=base_url, rate_limit=None)
        async with kf:
            result = await kf.customers.batch_get([f"wm{i}" for i in range(500)])
    assert len(result.customers) + len(result.failed) == 500
    secrets = {SIM_SECRET} | sim.issued_tokens
    assert sim.issued_tokens
    for text in capture.texts():
        assert_clean(text, secrets)
