"""A web worker for the bot fleet test: ``python -m tests.bot_worker CONFIG_JSON``.

It runs a ``KfBot`` with a ``RedisCursorStore`` under a real uvicorn on a loopback
port, prints ``LISTENING <url>``, appends ``{name} {msgid}`` to ``out`` for each
text it handles (then takes ``handle_seconds``, default 0), and stops when its stdin
closes or says ``quit``. ``lease_ttl`` is the store's (default ``DEFAULT_LEASE_TTL``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from wecom_kf_async import CallbackCrypto, KfBot, KfClient, TextMessage
from wecom_kf_async.fleet import DEFAULT_LEASE_TTL, RedisCursorStore
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET, serve


async def main(config: dict[str, Any]) -> None:
    """Serve callbacks until told to stop."""
    store = RedisCursorStore(
        config["redis_url"],
        namespace=config["namespace"],
        lease_ttl=config.get("lease_ttl", DEFAULT_LEASE_TTL),
    )
    crypto = CallbackCrypto(config["token"], config["aes_key"], SIM_CORP_ID)
    async with KfClient(
        corp_id=SIM_CORP_ID,
        secret=SIM_SECRET,
        base_url=config["base_url"],
        rate_limit=None,
        rate_limits={"kf/sync_msg:no_token": None},
    ) as kf:
        bot = KfBot(kf, crypto, cursors=store)

        @bot.on(TextMessage)
        async def record(msg: TextMessage) -> None:
            with open(config["out"], "a", encoding="utf-8") as out:  # noqa: ASYNC230 - test log
                out.write(f"{config['name']} {msg.msgid}\n")
            await asyncio.sleep(config.get("handle_seconds", 0.0))

        async with bot, serve(bot.asgi_app()) as url:
            print(f"LISTENING {url}", flush=True)
            while (await asyncio.to_thread(sys.stdin.readline)).strip() not in ("", "quit"):
                pass
    await store.aclose()


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
