"""The simulator as WeCom's callback sender: encrypted pushes, repeats, URL checks, auto mode."""

from __future__ import annotations

import asyncio
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from wecom_kf_async import InvalidSyncTokenError, KfClient, Text
from wecom_kf_async.callback import CallbackCrypto, KfCallback, ReceiveIdError, parse_callback
from wecom_kf_async.testing import WeComSimulator, serve
from wecom_kf_async.testing.simulator import CallbackPush

from .conftest import run_python

TOKEN = "receiverToken42"
AES_KEY = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"


@dataclass
class Received:
    """One request the stand-in receiver got."""

    method: str
    path: str
    query: dict[str, str]
    body: bytes
    callback: KfCallback | None = None


@dataclass
class Receiver:
    """A stand-in callback app: checks and decrypts with CallbackCrypto, records, answers.

    It is independent of the library's bot: GET answers the ``echostr`` plaintext,
    POST answers ``success`` once the body decrypts; any crypto failure answers 403.
    """

    crypto: CallbackCrypto
    got: list[Received] = field(default_factory=list)
    #: If set, POSTs wait on it before answering (to test timeouts).
    hold: asyncio.Event | None = None
    #: Answer GETs with this instead of the plaintext (a broken app).
    wrong_echo: str | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        query = {k: v[0] for k, v in parse_qs(scope["query_string"].decode()).items()}
        record = Received(scope["method"], scope["path"], query, body)
        self.got.append(record)
        status, answer = 200, b"success"
        try:
            if scope["method"] == "GET":
                echo = self.crypto.verify_url(
                    query["msg_signature"], query["timestamp"], query["nonce"], query["echostr"]
                )
                answer = (self.wrong_echo or echo).encode()
            else:
                xml = self.crypto.decrypt(
                    query["msg_signature"], query["timestamp"], query["nonce"], body
                )
                record.callback = parse_callback(xml)
                if self.hold is not None:
                    await self.hold.wait()
        except Exception as exc:
            status, answer = 403, type(exc).__name__.encode()
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": answer})


def receiver_for(sim: WeComSimulator, receive_id: str | None = None) -> Receiver:
    """A receiver with the same settings the simulator is given."""
    return Receiver(CallbackCrypto(TOKEN, AES_KEY, receive_id or sim.corp_id))


@pytest.fixture
def kfid(sim: WeComSimulator) -> str:
    """One KF account of the simulated corp."""
    return sim.add_account("Support")


@pytest.fixture
def receiver(sim: WeComSimulator) -> Receiver:
    """A stand-in app the simulator pushes to in process (ASGI)."""
    app = receiver_for(sim)
    sim.set_callback(app, token=TOKEN, encoding_aes_key=AES_KEY)
    return app


async def test_push_decrypts_to_a_fresh_token_for_the_account(
    sim: WeComSimulator, kfid: str, receiver: Receiver
) -> None:
    """A push is WeCom's POST: signed query, outer XML, a kf_msg_or_event with a fresh Token."""
    push = await sim.push_callback(kfid)

    assert (push.status, push.answer, push.error, push.ok) == (200, "success", None, True)
    assert sim.callbacks == [push]
    [got] = receiver.got
    assert (got.method, got.path) == ("POST", "/")
    assert set(got.query) == {"msg_signature", "timestamp", "nonce"}
    assert got.query == push.query
    assert got.body.decode() == push.xml
    assert push.xml.startswith(f"<xml><ToUserName><![CDATA[{sim.corp_id}]]></ToUserName><Encrypt>")
    assert "<AgentID>" in push.xml
    callback = got.callback
    assert callback is not None
    assert (callback.token, callback.open_kfid) == (push.token, kfid)
    assert (callback.msg_type, callback.event) == ("event", "kf_msg_or_event")
    assert callback.to_user_name == sim.corp_id
    assert callback.create_time is not None
    assert int(callback.create_time.timestamp()) == int(got.query["timestamp"])

    second = await sim.push_callback(kfid)
    assert second.token != push.token


async def test_pushed_token_pulls_once_with_sync_msg(
    sim: WeComSimulator, kf: KfClient, kfid: str, receiver: Receiver
) -> None:
    """The Token the app decrypts is one sync_msg accepts, once."""
    sim.customer_says(kfid, "wmAlice", Text("hello"))
    await sim.push_callback(kfid)
    callback = receiver.got[0].callback
    assert callback is not None
    assert callback.token is not None

    page = await kf.messages.sync(token=callback.token, open_kfid=kfid)
    assert [m.msgid for m in page.messages] == [m["msgid"] for m in sim.messages(kfid)]
    with pytest.raises(InvalidSyncTokenError):
        await kf.messages.sync(token=callback.token, open_kfid=kfid)


async def test_repeat_sends_the_same_request_with_the_same_token(
    sim: WeComSimulator, kfid: str, receiver: Receiver
) -> None:
    """repeat_callback sends the very same POST again, as WeCom does when it thinks it was lost."""
    push = await sim.push_callback(kfid)
    repeats = await sim.repeat_callback(push, times=3)

    assert [r.attempt for r in repeats] == [2, 3, 4]
    assert all(r.token == push.token and r.xml == push.xml for r in repeats)
    assert sim.callbacks == [push, *repeats]
    assert len(receiver.got) == 4
    assert {(g.body, tuple(g.query.items())) for g in receiver.got} == {
        (push.xml.encode(), tuple(push.query.items()))
    }
    assert {g.callback.token for g in receiver.got if g.callback} == {push.token}
    with pytest.raises(ValueError, match="times"):
        await sim.repeat_callback(push, times=0)


async def test_url_verification_get_expects_the_plaintext(
    sim: WeComSimulator, receiver: Receiver
) -> None:
    """verify_callback_url sends WeCom's GET and returns the app's answer: the echostr plaintext."""
    answer = await sim.verify_callback_url()

    [check] = sim.url_checks
    assert answer == check.echo
    assert check.echo.isdigit()
    assert check.ok
    [got] = receiver.got
    assert got.method == "GET"
    assert set(got.query) == {"msg_signature", "timestamp", "nonce", "echostr"}
    assert got.query["echostr"] == check.query["echostr"]

    receiver.wrong_echo = "not-it"
    assert await sim.verify_callback_url() == "not-it"
    assert not sim.url_checks[-1].ok


async def test_push_to_a_url_on_a_loopback_port(sim: WeComSimulator, kfid: str) -> None:
    """To a URL: real HTTP, the URL's path kept, given up after the timeout."""
    app = receiver_for(sim)
    async with serve(app) as url:
        sim.set_callback(f"{url}/wecom/callback", token=TOKEN, encoding_aes_key=AES_KEY)
        push = await sim.push_callback(kfid)
        answer = await sim.verify_callback_url()
        app.hold, sim.callback_timeout = asyncio.Event(), 0.05
        late = await sim.push_callback(kfid)
        app.hold.set()

    assert (push.status, push.answer) == (200, "success")
    assert (late.status, late.error) == (None, "timeout")
    assert answer == sim.url_checks[-1].echo
    assert [(g.method, g.path) for g in app.got] == [
        ("POST", "/wecom/callback"),
        ("GET", "/wecom/callback"),
        ("POST", "/wecom/callback"),
    ]
    callback = app.got[0].callback
    assert callback is not None
    assert (callback.token, callback.open_kfid) == (push.token, kfid)


async def test_asgi_target_gets_the_given_path(sim: WeComSimulator, kfid: str) -> None:
    """An ASGI target is called at ``path`` (e.g. where a framework mounts the bot)."""
    app = receiver_for(sim)
    sim.set_callback(app, token=TOKEN, encoding_aes_key=AES_KEY, path="/callback/")
    await sim.push_callback(kfid)
    assert app.got[0].path == "/callback/"


async def test_auto_callback_pushes_after_customer_messages(
    sim: WeComSimulator, kfid: str, receiver: Receiver
) -> None:
    """With auto_callback, customer_says and customer_enters each push; drain waits for them."""
    sim.auto_callback = True
    sim.customer_enters(kfid, "wmAlice", scene="ad")
    sim.customer_says(kfid, "wmAlice", Text("hi"))
    sim.servicer_says(kfid, "wmAlice", "zhangsan", Text("hello"))  # WeCom's own side: no push
    pushes = await sim.drain_callbacks()

    assert len(pushes) == 2
    assert sorted(p.token for p in pushes) == sorted(p.token for p in sim.callbacks)
    assert all(p.ok and p.open_kfid == kfid for p in pushes)
    assert len({p.token for p in pushes}) == 2
    assert {g.callback.token for g in receiver.got if g.callback} == {p.token for p in pushes}
    assert await sim.drain_callbacks() == []

    sim.auto_callback = False
    sim.customer_says(kfid, "wmAlice", Text("again"))
    assert await sim.drain_callbacks() == []
    assert len(receiver.got) == 2


def test_auto_callback_needs_a_target_and_a_running_loop(sim: WeComSimulator, kfid: str) -> None:
    """Without a target or outside a loop, auto mode refuses before logging anything."""
    sim.auto_callback = True
    with pytest.raises(RuntimeError, match="set_callback"):
        sim.customer_says(kfid, "wmAlice", Text("hi"))
    sim.set_callback(receiver_for(sim), token=TOKEN, encoding_aes_key=AES_KEY)
    with pytest.raises(RuntimeError, match="running event loop"):
        sim.customer_enters(kfid, "wmAlice")
    assert sim.messages(kfid) == []


async def test_failed_deliveries_are_recorded_not_raised(
    sim: WeComSimulator, kfid: str, receiver: Receiver
) -> None:
    """No answer in time, a refused connection or a crashing app: recorded, like WeCom would."""
    receiver.hold = asyncio.Event()
    sim.callback_timeout = 0.05
    push = await sim.push_callback(kfid)
    receiver.hold.set()
    assert (push.status, push.answer, push.error, push.ok) == (None, "", "timeout", False)

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sim.set_callback(f"http://127.0.0.1:{port}/", token=TOKEN, encoding_aes_key=AES_KEY)
    refused = await sim.push_callback(kfid)
    assert refused.status is None
    assert refused.error is not None
    assert refused.error.startswith("ConnectError")

    async def crashing(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    sim.set_callback(crashing, token=TOKEN, encoding_aes_key=AES_KEY)
    crashed = await sim.push_callback(kfid)
    assert (crashed.status, crashed.error) == (500, None)
    assert sim.callbacks == [push, refused, crashed]


async def test_receive_id_defaults_to_the_corp_id(sim: WeComSimulator, kfid: str) -> None:
    """The sealed receive_id is the corp id unless set; a receiver expecting another refuses."""
    suite = receiver_for(sim, receive_id="wwsuite")
    sim.set_callback(suite, token=TOKEN, encoding_aes_key=AES_KEY, receive_id="wwsuite")
    assert (await sim.push_callback(kfid)).ok

    sim.set_callback(suite, token=TOKEN, encoding_aes_key=AES_KEY)
    refused = await sim.push_callback(kfid)
    assert (refused.status, refused.answer) == (403, ReceiveIdError.__name__)


async def test_set_callback_and_push_check_their_arguments(sim: WeComSimulator, kfid: str) -> None:
    """Bad targets, keys or accounts raise; pushing before set_callback raises."""
    with pytest.raises(RuntimeError, match="set_callback"):
        await sim.push_callback(kfid)
    with pytest.raises(RuntimeError, match="set_callback"):
        await sim.verify_callback_url()
    assert sim.callback_crypto is None
    with pytest.raises(ValueError, match="http"):
        sim.set_callback("ftp://host/cb", token=TOKEN, encoding_aes_key=AES_KEY)
    with pytest.raises(TypeError):
        sim.set_callback(42, token=TOKEN, encoding_aes_key=AES_KEY)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="43"):
        sim.set_callback("http://127.0.0.1/", token=TOKEN, encoding_aes_key="short")
    with pytest.raises(ValueError, match="path"):
        sim.set_callback(receiver_for(sim), token=TOKEN, encoding_aes_key=AES_KEY, path="cb")
    sim.set_callback(receiver_for(sim), token=TOKEN, encoding_aes_key=AES_KEY)
    assert isinstance(sim.callback_crypto, CallbackCrypto)
    with pytest.raises(ValueError, match="no account"):
        await sim.push_callback("wkunknown")
    assert sim.callbacks == []
    assert TOKEN not in repr(sim)
    assert AES_KEY not in repr(sim.callback_crypto)


def test_callback_push_is_a_plain_record() -> None:
    """A CallbackPush is ok only on HTTP 200."""
    base = {"open_kfid": "wk1", "token": "t", "query": {}, "xml": "<xml/>", "attempt": 1}
    assert CallbackPush(**base, status=200, answer="success").ok
    assert not CallbackPush(**base, status=403, answer="forbidden").ok
    assert not CallbackPush(**base, status=None, answer="", error="timeout").ok


def test_the_guide_example_runs_as_written(tmp_path: Path) -> None:
    """The first Python block of docs/simulator-callbacks.md runs and prints what it says."""
    guide = Path(__file__).resolve().parents[1] / "docs" / "simulator-callbacks.md"
    (block, *_) = re.findall(r"```python\n(.*?)```", guide.read_text(encoding="utf-8"), re.S)
    done = run_python(block, tmp_path, "guide.py")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "True",
        "200 success",
        "5 [{'content': 'Hello!'}, {'content': 'Hi!'}]",
    ]
