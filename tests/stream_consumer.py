"""A consumer process for the stream tests: ``python -m tests.stream_consumer CONFIG_JSON``.

It streams one account's messages from the simulator at ``base_url`` with a cursor
store (``"file"``: a FileCursorStore at ``cursor_file``; ``"redis"``: a
RedisCursorStore), and for each message appends one line ``{name} {msgid}`` to
``out`` (flushed, so a parent reading the file sees it before the next message is
asked for). It prints ``done`` and exits 0 when the stream ends. The parent may
kill it with SIGKILL at any point.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from wecom_kf_async import FileCursorStore, KfClient
from wecom_kf_async.messages.cursors import CursorStore
from wecom_kf_async.testing import SIM_CORP_ID, SIM_SECRET


def _store(config: dict[str, Any]) -> CursorStore:
    if config["store"] == "redis":
        from wecom_kf_async.fleet import RedisCursorStore

        return RedisCursorStore(
            config["redis_url"], namespace=config["namespace"], lease_ttl=config["lease_ttl"]
        )
    return FileCursorStore(config["cursor_file"])


async def main(config: dict[str, Any]) -> None:
    """Consume the account once, to its end."""
    store = _store(config)
    async with KfClient(
        corp_id=SIM_CORP_ID,
        secret=SIM_SECRET,
        base_url=config["base_url"],
        rate_limit=None,
        rate_limits={"kf/sync_msg:no_token": None},
    ) as kf:
        with open(config["out"], "a", encoding="utf-8") as out:  # noqa: ASYNC230 - a test log
            stream = kf.messages.stream(config["open_kfid"], cursors=store, limit=config["limit"])
            async for message in stream:
                out.write(f"{config['name']} {message.msgid}\n")
                out.flush()
                delay = config.get("handle_seconds", 0.0)
                if delay:
                    await asyncio.sleep(delay)
    closer = getattr(store, "aclose", None)
    if closer is not None:
        await closer()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(main(json.loads(sys.argv[1])))
