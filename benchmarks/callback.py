"""The callback: CPU per request of the POST path against an equivalent built on wechatpy.

Part ``post path``: 2,000 prepared ``kf_msg_or_event`` callbacks, each encrypted and
signed for its own account, timestamp and nonce, in the shape WeCom POSTs
(``<xml><ToUserName/><Encrypt/><AgentID/></xml>`` as bytes, the signature,
timestamp and nonce from the query string). Subject:
``parse_callback(crypto.decrypt(msg_signature, timestamp, nonce, body))``. Baseline:
wechatpy 1.8 (the most used Python WeChat SDK): ``WeChatCrypto.decrypt_message`` (its
xmltodict read of ``Encrypt``, signature, AES) then ``xmltodict.parse`` of the
decrypted XML, reading the same six fields (``CreateTime`` as an aware datetime).
Both run in this process over the same bytes, interleaved, and must agree on every
field before timing. URL verification (``verify_url`` against wechatpy's
``check_signature``) is printed too, without a target. Target: subject <= 1.0x
wechatpy per request.

Part ``latency`` (``benchmarks/callback_latency.py``): p99 answer latency at 500
callbacks/s over loopback, ``KfBot.asgi_app()`` against a bare ASGI endpoint.

Each part is a function ``(Settings) -> bool``; :data:`PARTS` lists them in order.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto

from wecom_kf_async.callback import CallbackCrypto, parse_callback

from ._common import (
    Settings,
    median,
    print_header,
    print_table,
    ratio,
    time_interleaved,
    verdict,
)
from .callback_latency import latency

REQUESTS = 2_000
TARGET = 1.0

TOKEN = "QDG6eK"  # noqa: S105 - a made-up callback token
ENCODING_AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP_ID = "ww5823bf96d3bd56c7"

#: One request: (msg_signature, timestamp, nonce, body).
Request = tuple[str, str, str, bytes]
#: What both subjects read from a callback.
Fields = tuple[str | None, datetime | None, str | None, str | None, str | None, str | None]


def _kf_event(rng: random.Random, number: int) -> str:
    token = "ENC" + "".join(
        rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", k=43)
    )
    return (
        f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
        f"<CreateTime>{1_700_000_000 + number}</CreateTime>"
        "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[kf_msg_or_event]]></Event>"
        f"<Token><![CDATA[{token}]]></Token>"
        f"<OpenKfId><![CDATA[wkAJ2GCAAA{rng.randrange(10**22):022d}]]></OpenKfId></xml>"
    )


def prepare_requests(crypto: CallbackCrypto, count: int, seed: int = 11) -> list[Request]:
    """*count* signed POSTs of ``kf_msg_or_event``, as WeCom sends them."""
    rng = random.Random(seed)
    requests = []
    for number in range(count):
        encrypt = crypto.encrypt_payload(_kf_event(rng, number))
        timestamp, nonce = str(1_700_000_000 + number), str(rng.randrange(10**9, 10**10))
        body = (
            f"<xml><ToUserName><![CDATA[{CORP_ID}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID><![CDATA[]]></AgentID></xml>"
        ).encode()
        requests.append((crypto.signature(timestamp, nonce, encrypt), timestamp, nonce, body))
    return requests


def library_post(crypto: CallbackCrypto) -> Callable[[Request], Fields]:
    """The library's POST path for one request."""

    def handle(request: Request) -> Fields:
        signature, timestamp, nonce, body = request
        callback = parse_callback(crypto.decrypt(signature, timestamp, nonce, body))
        return (
            callback.to_user_name,
            callback.create_time,
            callback.msg_type,
            callback.event,
            callback.token,
            callback.open_kfid,
        )

    return handle


def wechatpy_post(wechat: WeChatCrypto) -> Callable[[Request], Fields]:
    """The same POST path built on wechatpy's crypto and xmltodict."""

    def handle(request: Request) -> Fields:
        signature, timestamp, nonce, body = request
        xml = wechat.decrypt_message(body, signature, timestamp, nonce)
        data: dict[str, Any] = xmltodict.parse(xml)["xml"]
        created = data.get("CreateTime")
        return (
            data.get("ToUserName"),
            datetime.fromtimestamp(int(created), UTC) if created else None,
            data.get("MsgType"),
            data.get("Event"),
            data.get("Token"),
            data.get("OpenKfId"),
        )

    return handle


def _over(requests: list[Any], handle: Callable[[Any], object]) -> Callable[[], int]:
    def go() -> int:
        for request in requests:
            handle(request)
        return len(requests)

    return go


def _timed(subjects: dict[str, Callable[[], int]], repeats: int, count: int) -> dict[str, float]:
    """Median seconds of each subject over interleaved repeats (after one warm-up)."""
    seconds = time_interleaved(subjects, repeats, count)
    return {name: median(values) for name, values in seconds.items()}


def post_path(settings: Settings) -> bool:
    """POST (verify + decrypt + parse) and GET (verify_url) per request, vs wechatpy."""
    repeats = settings.pick(default=9, quick=3)
    crypto = CallbackCrypto(TOKEN, ENCODING_AES_KEY, CORP_ID)
    wechat = WeChatCrypto(TOKEN, ENCODING_AES_KEY, CORP_ID)
    requests = prepare_requests(crypto, REQUESTS)
    ours, theirs = library_post(crypto), wechatpy_post(wechat)
    for request in requests:
        if ours(request) != theirs(request):
            raise RuntimeError("the library and wechatpy read a callback differently")

    echoes = [
        (crypto.signature(ts, nonce, payload), ts, nonce, payload)
        for ts, nonce, payload in (
            (str(1_700_000_000 + n), str(n), crypto.encrypt_payload(str(n * 7919)))
            for n in range(REQUESTS)
        )
    ]
    subjects = {
        "POST, wechatpy + xmltodict": _over(requests, theirs),
        "POST, wecom_kf_async": _over(requests, ours),
        "GET, wechatpy check_signature": _over(
            echoes, lambda e: wechat.check_signature(e[0], e[1], e[2], e[3])
        ),
        "GET, wecom_kf_async verify_url": _over(echoes, lambda e: crypto.verify_url(*e)),
    }
    medians = _timed(subjects, repeats, REQUESTS)

    print_header(
        "callback",
        f"{REQUESTS:,} signed kf_msg_or_event callbacks as WeCom POSTs them "
        f"({sum(len(r[3]) for r in requests) / REQUESTS:.0f} bytes a body), in process, "
        f"{repeats} interleaved repeats",
    )
    rows = []
    for method in ("POST", "GET"):
        base_name = next(
            name for name in subjects if name.startswith(method) and "wechatpy" in name
        )
        base = medians[base_name]
        for name in subjects:
            if name.startswith(method):
                value = medians[name]
                rows.append(
                    (name, value, f"{value / REQUESTS * 1e6:.2f}", f"{ratio(value, base):.2f}x")
                )
    print_table(["subject", "median s", "µs/request", "vs wechatpy"], rows)
    post_ratio = ratio(medians["POST, wecom_kf_async"], medians["POST, wechatpy + xmltodict"])
    return verdict(
        post_ratio <= TARGET,
        f"POST path (verify + decrypt + parse) = {post_ratio:.2f}x wechatpy per request "
        f"(target <= {TARGET:.1f}x)",
    )


#: The parts of this benchmark, run in order by :func:`run`.
PARTS: list[Callable[[Settings], bool]] = [post_path, latency]


def run(settings: Settings) -> bool:
    """Run every part; return True when each meets its target."""
    results = [part(settings) for part in PARTS]
    return all(results)


if __name__ == "__main__":
    sys.exit(0 if run(Settings(quick="--quick" in sys.argv)) else 1)
