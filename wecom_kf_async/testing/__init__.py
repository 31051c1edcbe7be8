"""Test helpers for code that talks to WeCom's WeChat Customer Service API.

:class:`WeComSimulator` is a dependency-free ASGI 3 app that answers like WeCom's
``gettoken`` and ``kf/customer/batchget`` endpoints, with scriptable latency,
faults, rate limits and token expiry, and counters in :class:`SimulatorStats`.
Use it in process through ``httpx.ASGITransport(app=sim)``, on a loopback port
with :func:`serve`, or in another process with :func:`serve_in_subprocess`
(``python -m wecom_kf_async.testing``); the last two need the ``simulator`` extra.

:func:`simulated_client` returns a ``KfClient`` wired to a simulator in process, and
the pytest plugin (``wecom_kf_async.testing.pytest_plugin``, registered on install)
offers the fixtures ``wecom_simulator``, ``wecom_testing`` and ``wecom_kf``.
"""

from ._client import SIM_BASE_URL, simulated_client
from ._provider_server import serve_provider_in_subprocess
from ._server import LISTENING_PREFIX, main, serve, serve_in_subprocess
from .provider import (
    SIM_SUITE_AES_KEY,
    SIM_SUITE_ID,
    SIM_SUITE_SECRET,
    SIM_SUITE_TOKEN,
    AppKind,
    Install,
    ProviderSimulator,
)
from .simulator import (
    BATCHGET_MAX_IDS,
    CUSTOMER_BATCHGET,
    GETTOKEN,
    SIM_CORP_ID,
    SIM_SECRET,
    ASGIApp,
    Fault,
    SimulatorStats,
    WeComSimulator,
)

__all__ = [
    "BATCHGET_MAX_IDS",
    "CUSTOMER_BATCHGET",
    "GETTOKEN",
    "LISTENING_PREFIX",
    "SIM_BASE_URL",
    "SIM_CORP_ID",
    "SIM_SECRET",
    "SIM_SUITE_AES_KEY",
    "SIM_SUITE_ID",
    "SIM_SUITE_SECRET",
    "SIM_SUITE_TOKEN",
    "ASGIApp",
    "AppKind",
    "Fault",
    "Install",
    "ProviderSimulator",
    "SimulatorStats",
    "WeComSimulator",
    "main",
    "serve",
    "serve_in_subprocess",
    "serve_provider_in_subprocess",
    "simulated_client",
]
