"""A ``KfClient`` wired to a simulator in process."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from .._client import KfClient
    from .simulator import WeComSimulator

__all__ = ["SIM_BASE_URL", "simulated_client"]

#: The base URL simulated clients use (never resolved: requests go through ASGI).
SIM_BASE_URL = "http://wecom-simulator.invalid"


def simulated_client(sim: WeComSimulator, **options: Any) -> KfClient:
    """Return a (not yet entered) :class:`KfClient` that talks to *sim* in process.

    The corp id and secret are the simulator's; *options* go to ``KfClient``
    (``max_concurrency``, ``rate_limit``, ``retry``, ...). The rate limits are off
    unless you pass some: ``rate_limit`` for every endpoint, and the strict budget
    of ``sync_msg`` without a token (``rate_limits``).
    """
    from .._client import KfClient

    options.setdefault("rate_limit", None)
    options.setdefault("rate_limits", {"kf/sync_msg:no_token": None})
    options.setdefault("secret", sim._secret)
    return KfClient(
        corp_id=sim.corp_id,
        base_url=SIM_BASE_URL,
        transport=httpx.ASGITransport(app=sim),
        **options,
    )
