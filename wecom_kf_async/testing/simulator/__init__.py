"""An in-memory simulator of WeCom's WeChat Customer Service API, as a raw ASGI 3 app.

It depends on nothing but the standard library so that it stays cheap per request
(it is used for benchmarks with a million ids) and importable on its own. It is
organised like the client: the core (routing, faults, errors) in ``_base``, the
fake corp in ``_state``, one mixin module per resource.
"""

from __future__ import annotations

from ._base import SimulatorBase
from ._control import ControlMixin
from ._msgcodes import (
    ERR_CURSOR_INVALID,
    ERR_EVENT_CODE_INVALID,
    ERR_MSGID_DUPLICATE,
    ERR_SEND_COUNT_LIMIT,
    ERR_SEND_TIME_LIMIT,
    ERR_SESSION_ENDED,
    ERR_STATE_FORBIDS_SEND,
    ERR_SYNC_TOKEN_INVALID,
    EventCode,
)
from ._state import SimSent
from ._stats import SimulatorStats
from ._types import SIM_CORP_ID, SIM_SECRET, ApiError, Call, Fault, Route
from ._wire import ASGIApp
from .accounts import ERR_ACCOUNT_LIMIT, AccountsMixin
from .auth_change import AuthChangeMixin
from .callbacks import CALLBACK_TIMEOUT, CallbackPush, CallbacksMixin, UrlCheck
from .customers import BATCHGET_MAX_IDS, CUSTOMER_BATCHGET, CustomersMixin
from .knowledge import KnowledgeMixin
from .media import MediaMixin
from .media_get import MediaGetMixin
from .messages import MessagesMixin
from .send import SEND_MSG, SEND_MSG_ON_EVENT, SendMixin
from .servicers import ServicersMixin
from .sessions import SessionsMixin
from .statistics import StatisticsMixin
from .sync import SYNC_MSG, SyncMixin
from .tokens import GETTOKEN, TokensMixin
from .upgrade import UpgradeMixin

__all__ = [
    "BATCHGET_MAX_IDS",
    "CALLBACK_TIMEOUT",
    "CUSTOMER_BATCHGET",
    "ERR_ACCOUNT_LIMIT",
    "ERR_CURSOR_INVALID",
    "ERR_EVENT_CODE_INVALID",
    "ERR_MSGID_DUPLICATE",
    "ERR_SEND_COUNT_LIMIT",
    "ERR_SEND_TIME_LIMIT",
    "ERR_SESSION_ENDED",
    "ERR_STATE_FORBIDS_SEND",
    "ERR_SYNC_TOKEN_INVALID",
    "GETTOKEN",
    "SEND_MSG",
    "SEND_MSG_ON_EVENT",
    "SIM_CORP_ID",
    "SIM_SECRET",
    "SYNC_MSG",
    "ASGIApp",
    "ApiError",
    "Call",
    "CallbackPush",
    "EventCode",
    "Fault",
    "Route",
    "SimSent",
    "SimulatorStats",
    "UrlCheck",
    "WeComSimulator",
]


# seed_demo() runs each mixin's part from the last base to the first: media first,
# then accounts (whose avatars are media), then what lives on accounts, and the
# message log last (its demo conversation needs the demo session). The message
# mixins come before ControlMixin: they add to configure() and /__sim__/messages.
# CallbacksMixin comes first: it wraps customer_says() / customer_enters() to push
# callbacks (auto_callback) around what MessagesMixin logs.
class WeComSimulator(
    AuthChangeMixin,
    CallbacksMixin,
    SendMixin,
    SyncMixin,
    MessagesMixin,
    ControlMixin,
    TokensMixin,
    CustomersMixin,
    UpgradeMixin,
    SessionsMixin,
    ServicersMixin,
    StatisticsMixin,
    AccountsMixin,
    KnowledgeMixin,
    MediaGetMixin,
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
    :meth:`expire_tokens`, :meth:`add_customer` and :meth:`forget`. Media (uploaded,
    sent by customers, or :meth:`add_media`) are served by ``media/get`` with Range;
    :meth:`media_bytes` and :meth:`media_sha256` say what a download gives. The fake corp
    behind the management endpoints is :attr:`corp`, seeded and read through the
    resource methods (:meth:`add_account`, :meth:`session`, ...). Its message log
    is written with :meth:`customer_says`, :meth:`customer_enters`,
    :meth:`servicer_says`, :meth:`add_event` and :meth:`fill`, served by
    ``sync_msg`` (knobs :attr:`empty_pages`, :meth:`script_pages`, :attr:`stall_pages`,
    :attr:`sync_msg_without_token_per_minute`, tokens from :meth:`callback_token`);
    what ``send_msg`` accepted is in :attr:`sent`. Counters are in :attr:`stats`.

    As WeCom, it pushes encrypted ``kf_msg_or_event`` callbacks to the app under
    test (a URL or an ASGI app): :meth:`set_callback`, :meth:`push_callback`,
    :meth:`repeat_callback`, :meth:`verify_callback_url`, :attr:`auto_callback` with
    :meth:`drain_callbacks`; what was sent and answered is in :attr:`callbacks`.

    Time comes from ``clock`` (seconds, like :func:`time.time`) and waiting goes
    through ``sleep`` (like :func:`asyncio.sleep`), so tests can drive both.
    ``seed`` makes random faults, shuffling and error hints reproducible; tokens are
    always unpredictable (:func:`secrets.token_urlsafe`).
    """
