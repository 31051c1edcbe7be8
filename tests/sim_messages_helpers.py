"""Raw HTTP access to a simulator for the simulator's message tests (no client resource)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from wecom_kf_async.testing import WeComSimulator


class RawApi:
    """Calls the simulator's endpoints over ASGI with a fresh access token, returns JSON."""

    def __init__(self, sim: WeComSimulator, client: httpx.AsyncClient) -> None:
        self.sim = sim
        self.client = client

    async def call(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST *body* to ``/cgi-bin/{path}``; return the answer's JSON object."""
        response = await self.client.post(
            f"/cgi-bin/{path}", params={"access_token": self.sim.issue_token()}, json=body
        )
        answer: dict[str, Any] = response.json()
        return answer

    async def sync(self, **body: Any) -> dict[str, Any]:
        """One ``kf/sync_msg`` call."""
        return await self.call("kf/sync_msg", body)

    async def drain(self, open_kfid: str | None = None, **body: Any) -> list[dict[str, Any]]:
        """Read every page from the start (no cursor) until ``has_more`` is 0."""
        cursor: str | None = None
        items: list[dict[str, Any]] = []
        for _ in range(10_000):
            request = dict(body)
            if open_kfid is not None:
                request["open_kfid"] = open_kfid
            if cursor is not None:
                request["cursor"] = cursor
            page = await self.sync(**request)
            assert page["errcode"] == 0, page
            items.extend(page["msg_list"])
            cursor = page["next_cursor"]
            if not page["has_more"]:
                return items
        raise AssertionError("sync_msg never said has_more=0")

    async def send(self, open_kfid: str, touser: str, **body: Any) -> dict[str, Any]:
        """One ``kf/send_msg`` call (a text "hi" unless the body says otherwise)."""
        request: dict[str, Any] = {"touser": touser, "open_kfid": open_kfid}
        if "msgtype" not in body:
            request.update(msgtype="text", text={"content": "hi"})
        request.update(body)
        return await self.call("kf/send_msg", request)


@asynccontextmanager
async def raw_api(sim: WeComSimulator) -> AsyncIterator[RawApi]:
    """A :class:`RawApi` on *sim*, its HTTP client closed on exit."""
    transport = httpx.ASGITransport(app=sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://wecom.sim") as client:
        yield RawApi(sim, client)
