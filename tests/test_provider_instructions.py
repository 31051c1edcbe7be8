"""The instruction callback: typed instructions, and an app that answers 'success' first."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from wecom_kf_async.callback import CallbackCrypto, read_envelope
from wecom_kf_async.providers.instruction_app import (
    InstructionApp,
    _Recent,
    instruction_app,
)
from wecom_kf_async.providers.instructions import (
    CancelAuth,
    ChangeAuth,
    CreateAuth,
    Instruction,
    InstructionError,
    ResetPermanentCode,
    SuiteTicketInstruction,
    UnknownInstruction,
    parse_instruction,
)

from .conftest import until

SUITE = "ww4asffe99e54c0f4c"
TOKEN = "suiteToken123"
KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
TICKET = "TICKET-sEcReT-0123456789"
AUTH_CODE = "AUTHCODE-sEcReT-9876543210"
SECRETS = (TICKET, AUTH_CODE)


def ticket_xml(ticket: str = TICKET, stamp: int = 1403610513) -> str:
    """A suite_ticket push as page 90628 shows it (a space before the InfoType's CDATA)."""
    return (
        f"<xml><SuiteId><![CDATA[{SUITE}]]></SuiteId>"
        "<InfoType> <![CDATA[suite_ticket]]></InfoType>"
        f"<TimeStamp>{stamp}</TimeStamp>"
        f"<SuiteTicket><![CDATA[{ticket}]]></SuiteTicket></xml>"
    )


CREATE_AUTH = (
    f"<xml><SuiteId><![CDATA[{SUITE}]]></SuiteId><AuthCode><![CDATA[{AUTH_CODE}]]></AuthCode>"
    "<InfoType><![CDATA[create_auth]]></InfoType><TimeStamp>1403610513</TimeStamp>"
    "<State><![CDATA[STATE]]></State><ExtraInfo><AuthOpenKfIdList>"
    "<OpenKfId><![CDATA[wk11111]]></OpenKfId><OpenKfId><![CDATA[wk22222]]></OpenKfId>"
    "<OpenKfId><![CDATA[wk33333]]></OpenKfId></AuthOpenKfIdList></ExtraInfo></xml>"
)
CHANGE_AUTH = (
    f"<xml><SuiteId><![CDATA[{SUITE}]]></SuiteId><InfoType><![CDATA[change_auth]]></InfoType>"
    "<TimeStamp>1403610514</TimeStamp><AuthCorpId><![CDATA[wxCorp1]]></AuthCorpId>"
    "<State><![CDATA[STATE]]></State><ExtraInfo><AuthOpenKfIdList>"
    "<OpenKfId><![CDATA[wk11111]]></OpenKfId></AuthOpenKfIdList></ExtraInfo></xml>"
)
CANCEL_AUTH = (
    f"<xml><SuiteId><![CDATA[{SUITE}]]></SuiteId><InfoType><![CDATA[cancel_auth]]></InfoType>"
    "<TimeStamp>1403610515</TimeStamp><AuthCorpId><![CDATA[wxCorp1]]></AuthCorpId></xml>"
)
RESET = (
    f"<xml><SuiteId><![CDATA[{SUITE}]]></SuiteId><AuthCode><![CDATA[{AUTH_CODE}]]></AuthCode>"
    "<InfoType><![CDATA[reset_permanent_code]]></InfoType><TimeStamp>1403610516</TimeStamp></xml>"
)
UNKNOWN = (
    f"<xml><SuiteId><![CDATA[{SUITE}]]></SuiteId><InfoType>change_contact</InfoType>"
    "<TimeStamp>1403610517</TimeStamp><ChangeType>create_user</ChangeType></xml>"
)


def no_secrets(text: str) -> None:
    """*text* shows neither the ticket nor the auth code."""
    for secret in SECRETS:
        assert secret not in text


# -- the parser ------------------------------------------------------------------------


def test_suite_ticket() -> None:
    """suite_ticket (page 90628): its fields, InfoType stripped, the ticket not in the repr."""
    found = parse_instruction(ticket_xml())
    assert found == SuiteTicketInstruction(suite_id=SUITE, ticket=TICKET, timestamp=1403610513)
    assert found.info_type == "suite_ticket"
    no_secrets(repr(found))


def test_create_auth_with_the_kf_accounts() -> None:
    """create_auth (90642) with ExtraInfo.AuthOpenKfIdList (99401); the code not in the repr."""
    found = parse_instruction(CREATE_AUTH)
    assert found == CreateAuth(
        suite_id=SUITE,
        auth_code=AUTH_CODE,
        timestamp=1403610513,
        state="STATE",
        open_kfids=("wk11111", "wk22222", "wk33333"),
    )
    no_secrets(repr(found))


def test_change_and_cancel_auth() -> None:
    """change_auth carries the corp and the accounts; cancel_auth the corp."""
    assert parse_instruction(CHANGE_AUTH) == ChangeAuth(
        suite_id=SUITE,
        auth_corp_id="wxCorp1",
        timestamp=1403610514,
        state="STATE",
        open_kfids=("wk11111",),
    )
    assert parse_instruction(CANCEL_AUTH) == CancelAuth(
        suite_id=SUITE, auth_corp_id="wxCorp1", timestamp=1403610515
    )


def test_create_auth_without_extra_info_or_state() -> None:
    """A plain third-party app's create_auth: no accounts, state None."""
    xml = (
        f"<xml><SuiteId>{SUITE}</SuiteId><AuthCode>{AUTH_CODE}</AuthCode>"
        "<InfoType>create_auth</InfoType><TimeStamp>1</TimeStamp><State></State>"
        "<ExtraInfo></ExtraInfo></xml>"
    )
    found = parse_instruction(xml)
    assert isinstance(found, CreateAuth)
    assert (found.state, found.open_kfids) == (None, ())


def test_reset_permanent_code() -> None:
    """reset_permanent_code (page 97175) keeps its auth code, hidden."""
    found = parse_instruction(RESET)
    assert found == ResetPermanentCode(suite_id=SUITE, auth_code=AUTH_CODE, timestamp=1403610516)
    no_secrets(repr(found))


def test_an_unknown_info_type_is_kept() -> None:
    """An InfoType not known here survives, every element in raw (hidden from the repr)."""
    found = parse_instruction(UNKNOWN)
    assert isinstance(found, UnknownInstruction)
    assert (found.info_type, found.suite_id, found.timestamp) == (
        "change_contact",
        SUITE,
        1403610517,
    )
    assert found.raw["ChangeType"] == "create_user"
    assert "create_user" not in repr(found)


@pytest.mark.parametrize(
    ("xml", "field"),
    [
        ("<xml><InfoType>suite_ticket</InfoType><TimeStamp>1</TimeStamp></xml>", "SuiteId"),
        ("<xml><SuiteId> </SuiteId><InfoType>x</InfoType></xml>", "SuiteId"),
        (f"<xml><SuiteId>{SUITE}</SuiteId><TimeStamp>1</TimeStamp></xml>", "InfoType"),
        (f"<xml><SuiteId>{SUITE}</SuiteId><InfoType>x</InfoType></xml>", "TimeStamp"),
        (
            f"<xml><SuiteId>{SUITE}</SuiteId><InfoType>x</InfoType><TimeStamp>1.5</TimeStamp></xml>",
            "TimeStamp",
        ),
        (ticket_xml(ticket=""), "SuiteTicket"),
        (CREATE_AUTH.replace(f"<![CDATA[{AUTH_CODE}]]>", ""), "AuthCode"),
        (RESET.replace(f"<![CDATA[{AUTH_CODE}]]>", " "), "AuthCode"),
        (CHANGE_AUTH.replace("wxCorp1", ""), "AuthCorpId"),
        (CANCEL_AUTH.replace("<AuthCorpId><![CDATA[wxCorp1]]></AuthCorpId>", ""), "AuthCorpId"),
    ],
)
def test_a_missing_field_is_named(xml: str, field: str) -> None:
    """A missing or blank field the InfoType needs: a ValueError naming it."""
    with pytest.raises(ValueError, match=field) as caught:
        parse_instruction(xml)
    assert isinstance(caught.value, InstructionError)


@pytest.mark.parametrize(
    "xml",
    [
        "<xml><SuiteId>",
        '<!DOCTYPE x [<!ENTITY a "b">]><xml><SuiteId>&a;</SuiteId></xml>',
        "<xml>" + "x" * 70_000 + "</xml>",
    ],
)
def test_bad_xml_is_refused(xml: str) -> None:
    """Malformed XML, a DTD or an oversized document: InstructionError (a ValueError)."""
    with pytest.raises(InstructionError):
        parse_instruction(xml)


def test_the_errors_never_echo_a_secret() -> None:
    """The messages name the field, never quote the document."""
    bad = CREATE_AUTH.replace("<TimeStamp>1403610513", f"<TimeStamp>{AUTH_CODE}")
    with pytest.raises(InstructionError) as caught:
        parse_instruction(bad)
    no_secrets(str(caught.value))


# -- the app -----------------------------------------------------------------------------


@pytest.fixture
def crypto() -> CallbackCrypto:
    """WeCom's side of the instruction callback: receiveid = suite_id."""
    return CallbackCrypto(TOKEN, KEY, receive_id=SUITE)


def signed_post(crypto: CallbackCrypto, plaintext: str) -> tuple[dict[str, str], str]:
    """The query and body WeCom would POST for *plaintext*, signed now."""
    now = str(int(time.time()))
    envelope = read_envelope(crypto.encrypt(plaintext, timestamp=now, nonce="n0nce"))
    body = (
        f"<xml><ToUserName><![CDATA[{SUITE}]]></ToUserName>"
        f"<Encrypt><![CDATA[{envelope.encrypt}]]></Encrypt><AgentID></AgentID></xml>"
    )
    query = {"msg_signature": envelope.msg_signature or "", "timestamp": now, "nonce": "n0nce"}
    return query, body


class Recorder:
    """A handler that records instructions; it can be held back or made to fail."""

    def __init__(self) -> None:
        self.seen: list[Instruction] = []
        self.release: asyncio.Event | None = None
        self.fail_on: set[str] = set()

    async def __call__(self, instruction: Instruction) -> None:
        if self.release is not None:
            await self.release.wait()
        if instruction.info_type in self.fail_on:
            raise RuntimeError("the provider's store is down")
        self.seen.append(instruction)


@pytest.fixture
async def served() -> AsyncIterator[tuple[InstructionApp, httpx.AsyncClient, Recorder]]:
    """The app with a recording handler, behind an httpx client."""
    handler = Recorder()
    app = instruction_app(suite_id=SUITE, token=TOKEN, encoding_aes_key=KEY, handle=handler)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://provider"
    ) as client:
        yield app, client, handler
    await app.aclose()


Served = tuple[InstructionApp, httpx.AsyncClient, Recorder]


async def post(client: httpx.AsyncClient, crypto: CallbackCrypto, xml: str) -> httpx.Response:
    query, body = signed_post(crypto, xml)
    return await client.post("/", params=query, content=body)


async def test_url_verification(served: Served, crypto: CallbackCrypto) -> None:
    """GET with a signed echostr: 200 and the bare plaintext."""
    _, client, _ = served
    envelope = read_envelope(crypto.encrypt("5927782489442352469", timestamp="1", nonce="2"))
    query = {"msg_signature": envelope.msg_signature, "timestamp": "1", "nonce": "2"}
    answer = await client.get("/", params={**query, "echostr": envelope.encrypt})
    assert (answer.status_code, answer.content) == (200, b"5927782489442352469")
    tampered = {**query, "nonce": "3", "echostr": envelope.encrypt}
    assert (await client.get("/", params=tampered)).status_code == 403
    assert (await client.get("/", params=query)).status_code == 400


async def test_every_info_type_reaches_the_handler(served: Served, crypto: CallbackCrypto) -> None:
    """Each instruction is answered 'success' and handed over typed."""
    app, client, handler = served
    for xml in (ticket_xml(), CREATE_AUTH, CHANGE_AUTH, CANCEL_AUTH, RESET, UNKNOWN):
        answer = await post(client, crypto, xml)
        assert (answer.status_code, answer.content) == (200, b"success")
        assert answer.headers["content-type"].startswith("text/plain")
    await until(lambda: len(handler.seen) == 6)
    assert [type(i) for i in handler.seen] == [
        SuiteTicketInstruction,
        CreateAuth,
        ChangeAuth,
        CancelAuth,
        ResetPermanentCode,
        UnknownInstruction,
    ]
    assert handler.seen[1] == parse_instruction(CREATE_AUTH)
    await until(lambda: app.running == 0)


async def test_success_is_answered_before_a_slow_handler_ends(
    served: Served, crypto: CallbackCrypto
) -> None:
    """The answer does not wait for the handler."""
    app, client, handler = served
    handler.release = asyncio.Event()
    answer = await post(client, crypto, CREATE_AUTH)
    assert (answer.status_code, answer.content) == (200, b"success")
    assert handler.seen == []
    assert app.running == 1
    handler.release.set()
    await until(lambda: len(handler.seen) == 1)
    await until(lambda: app.running == 0)


async def test_a_failing_handler_is_logged_and_the_next_is_handled(
    served: Served, crypto: CallbackCrypto, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception is logged with its traceback, without the code; the app goes on."""
    caplog.set_level(logging.DEBUG, logger="wecom_kf_async")
    _, client, handler = served
    handler.fail_on = {"create_auth"}
    assert (await post(client, crypto, CREATE_AUTH)).content == b"success"
    await until(lambda: any(r.exc_info for r in caplog.records))
    failed = next(r for r in caplog.records if r.exc_info)
    assert failed.levelno == logging.ERROR
    assert "create_auth" in failed.getMessage()
    assert (await post(client, crypto, ticket_xml())).content == b"success"
    await until(lambda: len(handler.seen) == 1)
    assert isinstance(handler.seen[0], SuiteTicketInstruction)
    for record in caplog.records:
        no_secrets(record.getMessage())
    no_secrets(caplog.text)


async def test_repeats_are_dropped(
    served: Served, crypto: CallbackCrypto, caplog: pytest.LogCaptureFixture
) -> None:
    """The same instruction again (a fresh encryption and signature) is answered, not handled."""
    caplog.set_level(logging.DEBUG, logger="wecom_kf_async")
    _, client, handler = served
    for _ in range(3):
        assert (await post(client, crypto, ticket_xml())).content == b"success"
    assert (await post(client, crypto, ticket_xml(ticket=TICKET + "2"))).content == b"success"
    assert (await post(client, crypto, ticket_xml(stamp=1403611113))).content == b"success"
    await until(lambda: len(handler.seen) == 3)
    for _ in range(100):
        await asyncio.sleep(0)
    assert len(handler.seen) == 3
    assert "repeated" in caplog.text
    no_secrets(caplog.text)


def test_the_repeat_memory_forgets_after_ten_minutes_and_is_bounded() -> None:
    """Keys are remembered 600 s, and at most the last *size*."""
    now = [0.0]
    recent = _Recent(600.0, 3, lambda: now[0])
    assert recent.first(b"a")
    assert not recent.first(b"a")
    now[0] = 601.0
    assert recent.first(b"a")
    for key in (b"b", b"c", b"d", b"e"):
        assert recent.first(key)
    assert len(recent) == 3


@pytest.mark.parametrize(
    ("status", "make"),
    [
        (403, "bad signature"),
        (400, "foreign receive id"),
        (400, "malformed xml"),
        (400, "missing field"),
        (400, "no signature"),
        (413, "too large"),
        (403, "stale timestamp"),
    ],
)
async def test_refusals(
    served: Served,
    crypto: CallbackCrypto,
    caplog: pytest.LogCaptureFixture,
    status: int,
    make: str,
) -> None:
    """Refused with the KF callback app's statuses; nothing handled, no secret logged."""
    _, client, handler = served
    query, body = signed_post(crypto, ticket_xml())
    if make == "bad signature":
        query["nonce"] = "other"
    elif make == "foreign receive id":
        query, body = signed_post(CallbackCrypto(TOKEN, KEY, receive_id="wwOther"), ticket_xml())
    elif make == "malformed xml":
        query, body = signed_post(crypto, "<xml><SuiteId>")
    elif make == "missing field":
        query, body = signed_post(crypto, ticket_xml(ticket=""))
    elif make == "no signature":
        del query["msg_signature"]
    elif make == "too large":
        body = "x" * 70_000
    else:
        old = str(int(time.time()) - 3600)
        envelope = read_envelope(crypto.encrypt(ticket_xml(), timestamp=old, nonce="n0nce"))
        query = {"msg_signature": envelope.msg_signature or "", "timestamp": old, "nonce": "n0nce"}
        body = f"<xml><Encrypt><![CDATA[{envelope.encrypt}]]></Encrypt></xml>"
    answer = await client.post("/", params=query, content=body)
    assert answer.status_code == status
    for _ in range(10):
        await asyncio.sleep(0)
    assert handler.seen == []
    if make == "missing field":
        assert "SuiteTicket" in caplog.text
    no_secrets(caplog.text)


async def test_other_methods_are_refused(served: Served) -> None:
    """PUT: 405."""
    _, client, _ = served
    assert (await client.put("/")).status_code == 405


async def lifespan(app: InstructionApp, stop: asyncio.Event) -> list[str]:
    """Run the ASGI lifespan until *stop*; the messages the app sent."""
    sent: list[str] = []
    steps = iter(["lifespan.startup", "lifespan.shutdown"])

    async def receive() -> dict[str, Any]:
        kind = next(steps)
        if kind == "lifespan.shutdown":
            await stop.wait()
        return {"type": kind}

    async def send(message: Any) -> None:
        sent.append(message["type"])

    await app({"type": "lifespan"}, receive, send)
    return sent


async def test_shutdown_waits_for_handlers_then_cancels_the_rest(
    crypto: CallbackCrypto, caplog: pytest.LogCaptureFixture
) -> None:
    """Lifespan shutdown: a handler that ends in time finishes; one that hangs is cancelled."""
    cancelled = asyncio.Event()
    quick = asyncio.Event()

    async def handle(instruction: Instruction) -> None:
        if isinstance(instruction, CancelAuth):
            await quick.wait()
            return
        try:
            await asyncio.Event().wait()  # hangs
        except asyncio.CancelledError:
            cancelled.set()
            raise

    app = instruction_app(
        suite_id=SUITE, token=TOKEN, encoding_aes_key=KEY, handle=handle, shutdown_timeout=0.05
    )
    stop = asyncio.Event()
    running = asyncio.create_task(lifespan(app, stop))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://provider"
    ) as client:
        assert (await post(client, crypto, CANCEL_AUTH)).content == b"success"
        assert (await post(client, crypto, CREATE_AUTH)).content == b"success"
        assert app.running == 2
        quick.set()
        await until(lambda: app.running == 1)
        stop.set()
        assert await running == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert cancelled.is_set()
        assert app.running == 0
        assert "cancelled" in caplog.text
        # Closed: WeCom is told to come back later.
        assert (await post(client, crypto, CHANGE_AUTH)).status_code == 503


async def test_aclose_without_handlers_and_the_repr(served: Served) -> None:
    """aclose returns at once with nothing running; the repr shows no secret."""
    app, _, _ = served
    await app.aclose()
    await app.aclose()
    text = repr(app)
    assert SUITE in text
    assert TOKEN not in text
    assert KEY not in text
