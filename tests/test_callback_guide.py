"""The callback guide's echo bot, exactly as docs/callback.md shows it, under a real uvicorn.

The guide's first block is run unchanged; its ``app`` is served by uvicorn with the
ASGI lifespan on (what ``uvicorn module:app`` does), and the simulator, served on
another loopback port, plays WeCom: it POSTs a real callback and records the reply.
The guide's client keeps WeCom's URL; only the connection is routed to the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from wecom_kf_async import Text, _client
from wecom_kf_async.testing import WeComSimulator, serve

from .snippets import DOCS_CORP_ID, DOCS_SECRET, blocks

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "callback.md"
#: Seconds before a test counts the bot as silent (never waited when it works).
PATIENCE = 10.0


class _ToLoopback(httpx.AsyncBaseTransport):
    """Sends each request to *base* (a loopback server) instead of its own host."""

    def __init__(self, base: str) -> None:
        self._base = httpx.URL(base)
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(
            scheme=self._base.scheme, host=self._base.host, port=self._base.port
        )
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.asynccontextmanager
async def uvicorn_serving(app: Any) -> AsyncIterator[str]:
    """Serve *app* under uvicorn with its lifespan on, on a loopback port; yield its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app, lifespan="on", log_level="warning", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        async with asyncio.timeout(PATIENCE):
            while not server.started:
                if task.done():
                    task.result()
                    raise RuntimeError("uvicorn stopped while starting")
                await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        async with asyncio.timeout(PATIENCE):
            await task
        sock.close()


async def test_the_guides_echo_bot_replies_under_uvicorn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guide's code under uvicorn: a real callback, a pull, an echo sent."""
    sim = WeComSimulator(corp_id=DOCS_CORP_ID, secret=DOCS_SECRET)
    sim.sync_msg_without_token_per_minute = None
    kfid = sim.add_account("Support")
    monkeypatch.chdir(tmp_path)  # the guide's kf_cursors.json lands here
    guide = blocks(GUIDE)[0]
    assert "app = bot.asgi_app()" in guide.source
    async with serve(sim) as sim_url:
        monkeypatch.setattr(_client, "default_transport", lambda _: _ToLoopback(sim_url))
        namespace: dict[str, Any] = {"__name__": "guide"}
        exec(compile(guide.source, str(GUIDE), "exec"), namespace)  # noqa: S102 - our docs
        async with uvicorn_serving(namespace["app"]) as url:
            sim.set_callback(
                url + "/",
                token="callbackToken",
                encoding_aes_key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR",
            )
            sim.customer_says(kfid, "wmAlice", Text("Hello!"))
            push = await sim.push_callback(kfid)
            assert (push.status, push.answer) == (200, "success")
            async with asyncio.timeout(PATIENCE):
                # The bot answers in the background; the simulator records sends
                # without an event to wait on, so look again until the deadline.
                while not sim.sent:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        kf = namespace["kf"]
    assert [(s.touser, s.body) for s in sim.sent] == [("wmAlice", {"content": "Hello!"})]
    assert kf.state == "closed"  # the lifespan closed what it opened
