"""The callback under load: p99 answer latency at 500 callbacks/s over loopback.

Two servers, each a real uvicorn in a process of its own
(``python -m benchmarks.callback_latency --serve KIND``):

- ``bare``: an ASGI app that reads the body and answers ``success``;
- ``bot``: ``KfBot(...).asgi_app()``: verify, decrypt, parse, wake the bot, answer
  ``success``. The bot then pulls from the simulator (another process) in the
  background, on the same event loop, as in production.

The load generator (this process, aiohttp) sends prepared signed callbacks, each
with its own Token, at a fixed rate of 500/s for a few seconds, and measures each
answer's latency. The subjects alternate, twice each. Target: the bot's p99 within
2x of the bare endpoint's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from wecom_kf_async.callback import CallbackCrypto

from ._common import Settings, median, print_header, print_table, verdict

RATE = 500
TARGET = 2.0
_TOKEN = "QDG6eK"  # noqa: S105 - a made-up callback token
_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


async def _bare(scope: dict[str, object], receive: object, send: object) -> None:
    if scope["type"] != "http":
        return
    while True:
        message = await receive()  # type: ignore[operator]
        if not message.get("more_body", False):
            break
    await send(  # type: ignore[operator]
        {"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"7")]}
    )
    await send({"type": "http.response.body", "body": b"success"})  # type: ignore[operator]


async def _serve(kind: str, sim_url: str) -> None:
    from wecom_kf_async import KfBot, Message
    from wecom_kf_async.testing import SIM_CORP_ID, serve

    from ._common import sim_client

    if kind == "bare":
        async with serve(_bare) as url:  # type: ignore[arg-type]
            print(f"LISTENING {url}", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
        return
    async with sim_client(sim_url, rate_limits={"kf/sync_msg:no_token": None}) as kf:
        bot = KfBot(kf, CallbackCrypto(_TOKEN, _KEY, SIM_CORP_ID))

        @bot.on(Message)
        async def handle(msg: Message) -> None:
            return None

        async with bot, serve(bot.asgi_app()) as url:
            print(f"LISTENING {url}", flush=True)
            await asyncio.to_thread(sys.stdin.readline)


@contextlib.contextmanager
def _server(kind: str, sim_url: str) -> Iterator[str]:
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH")) if p)
    process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
        [sys.executable, "-m", "benchmarks.callback_latency", "--serve", kind, sim_url],
        cwd=root,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdin is not None
    try:
        line = process.stdout.readline()
        if not line.startswith("LISTENING "):
            raise RuntimeError(f"the {kind} server did not start: {line!r}")
        yield line.split()[1]
    finally:
        process.stdin.close()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _requests(
    sim_corp: str, open_kfid: str, tokens: list[str]
) -> list[tuple[dict[str, str], bytes]]:
    crypto = CallbackCrypto(_TOKEN, _KEY, sim_corp)
    out = []
    for n, token in enumerate(tokens):
        inner = (
            f"<xml><ToUserName>{sim_corp}</ToUserName><CreateTime>{1700000000 + n}</CreateTime>"
            "<MsgType>event</MsgType><Event>kf_msg_or_event</Event>"
            f"<Token>{token}</Token><OpenKfId>{open_kfid}</OpenKfId></xml>"
        )
        envelope = crypto.encrypt(inner, timestamp=str(1700000000 + n), nonce=f"n{n}")
        encrypt = envelope.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
        signature = envelope.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
        body = (
            f"<xml><ToUserName><![CDATA[{sim_corp}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID>1</AgentID></xml>"
        ).encode()
        query = {"msg_signature": signature, "timestamp": str(1700000000 + n), "nonce": f"n{n}"}
        out.append((query, body))
    return out


async def _load(url: str, requests: list[tuple[dict[str, str], bytes]]) -> list[float]:
    """Send *requests* at RATE per second; return each answer's latency in seconds."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(query: dict[str, str], body: bytes) -> None:
            started = time.perf_counter()
            async with session.post(url + "/", params=query, data=body) as answer:
                text = await answer.read()
            if answer.status != 200 or text != b"success":
                raise RuntimeError(f"answer {answer.status} {text[:40]!r}")
            latencies.append(time.perf_counter() - started)

        loop = asyncio.get_running_loop()
        start = loop.time()
        tasks = []
        for n, (query, body) in enumerate(requests):
            delay = start + n / RATE - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(query, body)))
        await asyncio.gather(*tasks)
    return latencies


def _p(latencies: list[float], q: float) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(settings: Settings) -> bool:
    """Part ``latency``: p99 at 500 callbacks/s, the bot's app against a bare endpoint."""
    import httpx

    from wecom_kf_async.testing import SIM_CORP_ID, serve_in_subprocess

    seconds = settings.pick(default=6, quick=3)
    count = RATE * seconds
    p99: dict[str, list[float]] = {"bare": [], "bot": []}
    p50: dict[str, list[float]] = {"bare": [], "bot": []}
    with serve_in_subprocess(latency=0.0) as sim_url:
        with httpx.Client(base_url=sim_url) as http:
            http.post("/__sim__/config", json={"sync_msg_without_token_per_minute": None})
            added = http.post("/__sim__/messages", json={"op": "add_account", "name": "Bench"})
            open_kfid = added.json()["open_kfid"]
            tokens = [  # real ones: each pull is one sync_msg call, as in production
                http.post(
                    "/__sim__/messages", json={"op": "callback_token", "open_kfid": open_kfid}
                ).json()["token"]
                for _ in range(2 * (RATE + count))  # each bot run its own
            ]
        requests = _requests(SIM_CORP_ID, open_kfid, tokens)
        for run, kind in enumerate(("bare", "bot", "bare", "bot")):
            first = (run // 2) * (RATE + count)
            warm, timed = (
                requests[first : first + RATE],
                requests[first + RATE : first + RATE + count],
            )
            with _server(kind, sim_url) as url:
                asyncio.run(_load(url, warm))  # warm-up: connections, caches
                latencies = asyncio.run(_load(url, timed))
            p99[kind].append(_p(latencies, 0.99))
            p50[kind].append(_p(latencies, 0.50))
    print_header(
        "callback latency",
        f"{count:,} signed callbacks at {RATE}/s over loopback to a real uvicorn, each "
        "subject twice (alternating), answer latency measured by the sender",
    )
    rows = []
    for kind in ("bare", "bot"):
        rows.append(
            (
                "bare ASGI 'success'" if kind == "bare" else "KfBot.asgi_app()",
                f"{median(p50[kind]) * 1000:.2f}",
                f"{median(p99[kind]) * 1000:.2f}",
                f"{median(p99[kind]) / median(p99['bare']):.2f}x",
            )
        )
    print_table(["server", "p50 ms", "p99 ms", "p99 vs bare"], rows)
    worst = median(p99["bot"]) / median(p99["bare"])
    return verdict(worst <= TARGET, f"bot p99 / bare p99 = {worst:.2f}x (target <= {TARGET:.1f}x)")


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.callback_latency")
    parser.add_argument("--serve", nargs=2, metavar=("KIND", "SIM_URL"), help="internal")
    args = parser.parse_args(argv)
    if args.serve is None:
        return 0 if latency(Settings()) else 1
    asyncio.run(_serve(*args.serve))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
