"""An in-memory simulator of WeCom's WeChat Customer Service API, as a raw ASGI 3 app.

It depends on nothing but the standard library so that it stays cheap per request
(it is used for benchmarks with a million ids) and importable on its own. It is
organised like the client: the core (routing, faults, errors) in ``_base``, the
fake corp in ``_state``, one mixin module per resource.
"""

from __future__ import annotations

from ._base import SimulatorBase
from ._control import ControlMixin
from ._stats import SimulatorStats
from ._types import SIM_CORP_ID, SIM_SECRET, ApiError, Call, Fault, Route
from ._wire import ASGIApp
from .accounts import AccountsMixin
from .customers import BATCHGET_MAX_IDS, CUSTOMER_BATCHGET, CustomersMixin
from .media import MediaMixin
from .servicers import ServicersMixin
from .sessions import SessionsMixin
from .statistics import StatisticsMixin
from .tokens import GETTOKEN, TokensMixin
from .upgrade import UpgradeMixin

__all__ = [
    "BATCHGET_MAX_IDS",
    "CUSTOMER_BATCHGET",
    "GETTOKEN",
    "SIM_CORP_ID",
    "SIM_SECRET",
    "ASGIApp",
    "ApiError",
    "Call",
    "Fault",
    "Route",
    "SimulatorStats",
    "WeComSimulator",
]


# seed_demo() runs each mixin's part from the last base to the first: media first,
# then accounts (whose avatars are media), then what lives on accounts.
class WeComSimulator(
    ControlMixin,
    TokensMixin,
    CustomersMixin,
    UpgradeMixin,
    SessionsMixin,
    ServicersMixin,
    StatisticsMixin,
    AccountsMixin,
    MediaMixin,
    SimulatorBase,
):
    """An ASGI 3 app that answers like WeCom's ``gettoken`` and KF endpoints.

    Serve it in process with ``httpx.ASGITransport(app=sim)``, on a loopback port with
    :func:`~wecom_kf_async.testing.serve`, or in another process with
    :func:`~wecom_kf_async.testing.serve_in_subprocess`.

    Behaviour is scripted through plain attributes and methods that may be changed
    between requests: ``latency``, ``shuffle``, ``calls_per_second_limit``, ``hold``,
    ``hang_seconds``, ``drip_interval``, ``extra_fields``, ``third_party``,
    ``known_prefix``, :meth:`script`, :meth:`set_fault_rate`, :meth:`rotate_token`,
    :meth:`expire_tokens`, :meth:`add_customer` and :meth:`forget`. The fake corp
    behind the management endpoints is :attr:`corp`, seeded and read through the
    resource methods (:meth:`add_account`, :meth:`session`, ...). Counters are in
    :attr:`stats`.

    Time comes from ``clock`` (seconds, like :func:`time.time`) and waiting goes
    through ``sleep`` (like :func:`asyncio.sleep`), so tests can drive both.
    ``seed`` makes random faults, shuffling and error hints reproducible; tokens are
    always unpredictable (:func:`secrets.token_urlsafe`).
    """
