"""``--corp``: the CLI on one corp of a provider's app (third-party or agency-built).

A third-party app's corp: ``WECOM_SUITE_ID``, ``WECOM_SUITE_SECRET``, the newest
pushed ``WECOM_SUITE_TICKET`` and the corp's ``WECOM_PERMANENT_CODE``. An
agency-built app's corp: ``WECOM_KF_SECRET`` is that corp's app secret. With
``--simulate``, the provider simulator's demo corps (``wwcorp000001``...).
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any, Self

from .._client import KfClient
from .._sources import AgencyApp
from ..providers.suite import Suite, SuiteClient, ThirdPartyCorp
from ..providers.tickets import InMemorySuiteTicketStore, SuiteTicket

__all__ = [
    "ENV_PERMANENT_CODE",
    "ENV_SUITE_ID",
    "ENV_SUITE_SECRET",
    "ENV_SUITE_TICKET",
    "corp_client",
]

ENV_SUITE_ID = "WECOM_SUITE_ID"
ENV_SUITE_SECRET = "WECOM_SUITE_SECRET"  # noqa: S105 - the name of a variable
ENV_SUITE_TICKET = "WECOM_SUITE_TICKET"
ENV_PERMANENT_CODE = "WECOM_PERMANENT_CODE"
#: Corps the simulator installs for ``--simulate --corp``.
SIMULATED_CORPS = 3


class _CorpClient(KfClient):
    """A third-party corp's client that opens and closes its suite's client with it."""

    def __init__(self, suite_client: SuiteClient, **options: Any) -> None:
        super().__init__(**options)
        self._suite_client = suite_client

    async def __aenter__(self) -> Self:
        await self._suite_client.__aenter__()
        return await super().__aenter__()

    async def aclose(self) -> None:
        try:
            await super().aclose()
        finally:
            await self._suite_client.aclose()


def _third_party(
    corp_id: str, suite: Suite, ticket: str, code: str, options: dict[str, Any]
) -> KfClient:
    now = time.time()
    pushed = SuiteTicket(value=ticket, timestamp=int(now), received_at=now)
    suite.tickets = InMemorySuiteTicketStore({suite.suite_id: pushed})
    suite_client = SuiteClient(token_source=suite, **options)
    return _CorpClient(
        suite_client, token_source=ThirdPartyCorp(suite_client, corp_id, code), **options
    )


def corp_client(
    args: argparse.Namespace, options: dict[str, Any], usage: type[Exception]
) -> KfClient:
    """The client of corp ``args.corp`` (see the module)."""
    corp_id: str = args.corp
    if args.simulate:
        import httpx

        from ..testing import SIM_BASE_URL
        from ..testing.provider import SIM_SUITE_ID, SIM_SUITE_SECRET, ProviderSimulator

        sim = ProviderSimulator()
        for _ in range(SIMULATED_CORPS):
            sim.install().sim.seed_demo()
        if corp_id not in sim.corps:
            raise usage(f"--simulate knows the corps {', '.join(sim.corps)}, not {corp_id}")
        options = {
            "rate_limit": None,
            "rate_limits": {"kf/sync_msg:no_token": None},
            **options,
            "base_url": SIM_BASE_URL,
            "transport": httpx.ASGITransport(app=sim),
        }
        suite = Suite(SIM_SUITE_ID, SIM_SUITE_SECRET)
        return _third_party(corp_id, suite, sim.push_ticket(), sim.permanent_code(corp_id), options)
    env = os.environ
    if env.get(ENV_SUITE_ID):
        missing = [
            name
            for name in (ENV_SUITE_SECRET, ENV_SUITE_TICKET, ENV_PERMANENT_CODE)
            if not env.get(name)
        ]
        if missing:
            raise usage(
                f"--corp with {ENV_SUITE_ID} (a third-party app) also needs {', '.join(missing)}"
            )
        suite = Suite(env[ENV_SUITE_ID], env[ENV_SUITE_SECRET])
        return _third_party(corp_id, suite, env[ENV_SUITE_TICKET], env[ENV_PERMANENT_CODE], options)
    secret = env.get("WECOM_KF_SECRET", "")
    if not secret:
        raise usage(
            f"--corp needs a provider's credentials: {ENV_SUITE_ID}, {ENV_SUITE_SECRET}, "
            f"{ENV_SUITE_TICKET} and {ENV_PERMANENT_CODE} (third-party app), or "
            "WECOM_KF_SECRET (the corp's agency-built app)"
        )
    return KfClient(token_source=AgencyApp(corp_id, secret), **options)
