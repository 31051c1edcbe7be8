"""An in-memory simulator of WeCom's WeChat Customer Service API, as a raw ASGI 3 app.

It depends on nothing but the standard library so that it stays cheap per request
(it is used for benchmarks with a million ids) and importable on its own.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import random
import secrets
import time
import zlib
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final, Protocol, TypeAlias
from urllib.parse import parse_qsl

__all__ = [
    "CUSTOMER_BATCHGET",
    "GETTOKEN",
    "SIM_CORP_ID",
    "SIM_SECRET",
    "ASGIApp",
    "Fault",
    "SimulatorStats",
    "WeComSimulator",
]

SIM_CORP_ID: Final = "wwsimcorp"
"""Corp id the simulator accepts by default."""

SIM_SECRET: Final = "sim-secret"  # noqa: S105 - a public test value
"""App secret the simulator accepts by default."""

GETTOKEN: Final = "gettoken"
"""Endpoint name (path after ``/cgi-bin/``) of the access-token endpoint."""

CUSTOMER_BATCHGET: Final = "kf/customer/batchget"
"""Endpoint name (path after ``/cgi-bin/``) of the customer batch lookup."""

BATCHGET_MAX_IDS: Final = 100
"""Most ``external_userid`` values one ``customer/batchget`` call may carry."""

Fault: TypeAlias = int | str | Mapping[str, Any]
"""A fault to inject: an errcode (``0`` means "behave normally"), ``"httpNNN"`` (an
HTML error page with that HTTP status, e.g. ``"http502"``), ``"truncated"`` (HTTP 200
with a cut-off JSON body), ``"timeout"`` (hang for ``hang_seconds`` first),
``"drip"`` (send the headers, then the normal body one byte every
``drip_interval`` seconds), or a mapping of fields that replace those of the normal
answer (malformed answers: ``{"expires_in": 0}`` for ``gettoken``,
``{"invalid_external_userid": [{}]}`` for ``customer/batchget``)."""

Scope: TypeAlias = MutableMapping[str, Any]
Message: TypeAlias = MutableMapping[str, Any]
Receive: TypeAlias = Callable[[], Awaitable[Message]]
Send: TypeAlias = Callable[[Message], Awaitable[None]]
ASGIApp: TypeAlias = Callable[[Scope, Receive, Send], Awaitable[None]]
"""Type of an ASGI 3 application callable."""

_API_PREFIX: Final = "/cgi-bin/"
_CONTROL_PREFIX: Final = "/__sim__/"
_JSON: Final = b"application/json; charset=utf-8"
_TEXT: Final = b"text/plain; charset=utf-8"
_HTML: Final = b"text/html"
_TRUNCATED: Final = b'{"errcode":0,"errmsg":"ok","customer_list":[{"external_userid":"wm'
_MORE_INFO: Final = "https://open.work.weixin.qq.com/devtool/query?e="

_ERRMSG: Final[Mapping[int, str]] = {
    -1: "system busy",
    6000: "data version conflict",
    40001: "invalid credential",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40035: "invalid parameter",
    40058: "invalid Request Parameter",
    40063: "parameter is empty",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    42001: "access_token expired",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    47001: "data format error",
    48002: "api forbidden",
    60020: "not allow to access from your ip",
    95000: "invalid open_kfid",
}

_NICKNAMES: Final = (
    ("客户", ""),
    ("Customer ", ""),
    ("小", "🌸"),
    ("user_", ""),
    ("王", ""),
    ("Émile ", ""),
)
_CHANNEL_NAMES: Final = ("视频号", "Channel ", "频道🎬")
_SHOP_NAMES: Final = ("小店", "Shop ")


class _Waitable(Protocol):
    """Anything with an awaitable ``wait()``, such as :class:`asyncio.Event`."""

    def wait(self) -> Awaitable[object]: ...


class _ApiError(Exception):
    """Raised by handlers to answer with a non-zero errcode."""

    def __init__(self, errcode: int, detail: str | None = None) -> None:
        super().__init__(errcode, detail)
        self.errcode = errcode
        self.detail = detail


@dataclass(slots=True)
class _Call:
    """One API call as a handler sees it."""

    endpoint: str
    query: dict[str, str]
    body: bytes
    now: float


_Handler: TypeAlias = Callable[[_Call], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class _Route:
    method: str
    handler: _Handler
    needs_token: bool


class _LatencyTable(dict[str, float]):
    """Per-endpoint latencies (seconds) usable as ``WeComSimulator.latency``."""

    def __call__(self, endpoint: str) -> float:
        return self.get(endpoint, 0.0)


@dataclass(eq=False)
class SimulatorStats:
    """Counters the simulator keeps about the calls it received.

    Only calls to API endpoints under ``/cgi-bin/`` are counted; control endpoints
    (``/__sim__/...``) and unknown paths are not.
    """

    calls: Counter[str] = field(default_factory=Counter)
    """Calls per endpoint name, including failed, faulted and throttled ones."""
    in_flight: int = 0
    """Calls currently being answered (all endpoints)."""
    max_in_flight: int = 0
    """Highest ``in_flight`` seen since the last reset."""
    in_flight_by_endpoint: Counter[str] = field(default_factory=Counter)
    """Calls currently being answered, per endpoint."""
    max_in_flight_by_endpoint: dict[str, int] = field(default_factory=dict)
    """Highest in-flight count per endpoint since the last reset."""
    call_times: dict[str, list[float]] = field(default_factory=dict, repr=False)
    """Arrival timestamps (per the simulator's clock) per endpoint."""
    ids_requested: int = 0
    """Ids carried by ``customer/batchget`` calls that were answered with errcode 0
    (duplicates within a call included)."""
    errors: Counter[int] = field(default_factory=Counter)
    """Non-zero errcodes answered, by errcode."""
    faults: Counter[str] = field(default_factory=Counter)
    """Faults served: transport-level ones (``"http502"``, ``"truncated"``, ``"timeout"``,
    ``"drip"``) by name, field-replacing ones as ``"fields"``."""

    def _arrive(self, endpoint: str, now: float) -> None:
        self.calls[endpoint] += 1
        times = self.call_times.get(endpoint)
        if times is None:
            times = self.call_times[endpoint] = []
        times.append(now)
        self.in_flight += 1
        if self.in_flight > self.max_in_flight:
            self.max_in_flight = self.in_flight
        by_endpoint = self.in_flight_by_endpoint
        by_endpoint[endpoint] += 1
        if by_endpoint[endpoint] > self.max_in_flight_by_endpoint.get(endpoint, 0):
            self.max_in_flight_by_endpoint[endpoint] = by_endpoint[endpoint]

    def _depart(self, endpoint: str) -> None:
        self.in_flight -= 1
        self.in_flight_by_endpoint[endpoint] -= 1

    def busiest_window(self, endpoint: str | None = None, seconds: float = 1.0) -> int:
        """Return the most calls that arrived within any half-open window of ``seconds``.

        ``endpoint=None`` looks at the arrivals of all endpoints together.
        """
        if seconds <= 0:
            raise ValueError("seconds must be positive")
        if endpoint is None:
            times = sorted(t for per_endpoint in self.call_times.values() for t in per_endpoint)
        else:
            times = sorted(self.call_times.get(endpoint, ()))
        best = 0
        start = 0
        for end, arrival in enumerate(times):
            while arrival - times[start] >= seconds:
                start += 1
            best = max(best, end - start + 1)
        return best

    def reset(self) -> None:
        """Forget every counter; calls still in flight stay counted in ``in_flight``."""
        self.calls.clear()
        self.call_times.clear()
        self.ids_requested = 0
        self.errors.clear()
        self.faults.clear()
        self.max_in_flight = self.in_flight
        self.in_flight_by_endpoint = +self.in_flight_by_endpoint
        self.max_in_flight_by_endpoint = dict(self.in_flight_by_endpoint)

    def to_dict(self, *, include_times: bool = False) -> dict[str, Any]:
        """Return a JSON-able snapshot, with the busiest 1-second window per endpoint.

        Arrival timestamps are left out unless ``include_times`` is true.
        """
        snapshot: dict[str, Any] = {
            "calls": dict(self.calls),
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "max_in_flight_by_endpoint": dict(self.max_in_flight_by_endpoint),
            "ids_requested": self.ids_requested,
            "errors": {str(code): count for code, count in self.errors.items()},
            "faults": dict(self.faults),
            "busiest_window_1s": {
                endpoint: self.busiest_window(endpoint, 1.0) for endpoint in self.call_times
            },
        }
        if include_times:
            snapshot["call_times"] = {ep: list(ts) for ep, ts in self.call_times.items()}
        return snapshot


def _check_fault(fault: object) -> Fault:
    if isinstance(fault, Mapping):
        if not all(isinstance(key, str) for key in fault):
            raise ValueError("a field-replacing fault maps field names to values")
        return dict(fault)
    if isinstance(fault, bool) or not isinstance(fault, int | str):
        raise ValueError(f"a fault is an errcode, a string or a mapping, not {fault!r}")
    if isinstance(fault, str) and fault not in ("truncated", "timeout", "drip"):
        code = fault[4:]
        if not (fault.startswith("http") and code.isdigit() and 400 <= int(code) <= 599):
            raise ValueError(
                f"unknown fault {fault!r}; use 'httpNNN', 'truncated', 'timeout' or 'drip'"
            )
    return fault


def _html_error(status: int) -> bytes:
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    title = f"{status} {phrase}"
    return (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n"
        "</body>\r\n</html>\r\n"
    ).encode()


def _dumps(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def _respond(send: Send, status: int, content_type: bytes, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class WeComSimulator:
    """An ASGI 3 app that answers like WeCom's ``gettoken`` and KF endpoints.

    Serve it in process with ``httpx.ASGITransport(app=sim)``, on a loopback port with
    :func:`~wecom_kf_async.testing.serve`, or in another process with
    :func:`~wecom_kf_async.testing.serve_in_subprocess`.

    Behaviour is scripted through plain attributes and methods that may be changed
    between requests: ``latency``, ``shuffle``, ``calls_per_second_limit``, ``hold``,
    ``hang_seconds``, ``extra_fields``, ``third_party``, ``known_prefix``,
    :meth:`script`, :meth:`set_fault_rate`, :meth:`rotate_token`,
    :meth:`expire_tokens`, :meth:`add_customer` and :meth:`forget`. Counters are in
    :attr:`stats`.

    Time comes from ``clock`` (seconds, like :func:`time.time`) and waiting goes
    through ``sleep`` (like :func:`asyncio.sleep`), so tests can drive both.
    ``seed`` makes random faults, shuffling and error hints reproducible; tokens are
    always unpredictable (:func:`secrets.token_urlsafe`).
    """

    def __init__(
        self,
        corp_id: str = SIM_CORP_ID,
        secret: str = SIM_SECRET,
        *,
        token_ttl: float = 7200.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        seed: int = 0,
        known_prefix: str | None = "wm",
        third_party: bool = False,
    ) -> None:
        if token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
        self.corp_id = corp_id
        """Corp id ``gettoken`` accepts."""
        self._secret = secret
        self.token_ttl = token_ttl
        """Lifetime in seconds of newly issued tokens."""
        self.clock = clock
        """Source of the current time in seconds."""
        self.sleep: Callable[[float], Awaitable[object]] = sleep
        """Coroutine function used for latency and hangs."""
        self.known_prefix = known_prefix
        """Ids starting with this prefix are known customers unless forgotten (None: off)."""
        self.third_party = third_party
        """Answer as to a third-party app: no avatar, no unionid, gender 0."""
        self.latency: float | Callable[[str], float] = 0.0
        """Seconds to wait before answering, or a function of the endpoint name."""
        self.shuffle = False
        """Return ``customer_list`` in a random (seeded) order."""
        self.calls_per_second_limit: int | None = None
        """Per endpoint: calls beyond this many in one clock second get errcode 45009."""
        self.hold: _Waitable | None = None
        """If set (e.g. an :class:`asyncio.Event`), calls wait on it once counted in flight."""
        self.hang_seconds = 3600.0
        """How long a ``"timeout"`` fault hangs before answering."""
        self.drip_interval = 0.5
        """Seconds between two bytes of a ``"drip"`` fault's body."""
        self.extra_fields: dict[str, Any] = {}
        """Extra (unknown to clients) fields added to every returned customer."""
        self.stats = SimulatorStats()
        """Counters about the calls received."""

        self._fault_rng = random.Random(f"{seed}:faults")  # noqa: S311 - not security
        self._shuffle_rng = random.Random(f"{seed}:shuffle")  # noqa: S311
        self._hint_rng = random.Random(f"{seed}:hints")  # noqa: S311
        self._hint_seq = 0
        self._tokens: dict[str, float] = {}
        self.issued_tokens: set[str] = set()
        """Every token this simulator ever handed out (for leak checks in tests)."""
        self._current_token: str | None = None
        self._scripts: dict[str, deque[Fault]] = {}
        self._fault_rates: dict[str, tuple[float, tuple[Fault, ...]]] = {}
        self._windows: dict[str, tuple[int, int]] = {}
        self._customers: dict[str, dict[str, Any]] = {}
        self._forgotten: set[str] = set()
        self._routes: dict[str, _Route] = {
            GETTOKEN: _Route("GET", self._gettoken, needs_token=False),
            CUSTOMER_BATCHGET: _Route("POST", self._batchget, needs_token=True),
        }

    def __repr__(self) -> str:
        return f"<WeComSimulator corp_id={self.corp_id!r} calls={dict(self.stats.calls)}>"

    # ----------------------------------------------------------------- scripting

    @property
    def endpoints(self) -> tuple[str, ...]:
        """Names of the API endpoints the simulator answers (paths after ``/cgi-bin/``)."""
        return tuple(self._routes)

    def _check_endpoint(self, endpoint: str) -> None:
        if endpoint not in self._routes:
            raise ValueError(f"unknown endpoint {endpoint!r}; known: {', '.join(self._routes)}")

    def script(self, endpoint: str, faults: Iterable[Fault]) -> None:
        """Queue faults for the next calls of ``endpoint``, one consumed per call.

        Each item is a :data:`Fault`; ``0`` lets that call behave normally. Scripted
        items win over random faults. Calling again appends to the queue.
        """
        self._check_endpoint(endpoint)
        items = [_check_fault(item) for item in faults]
        self._scripts.setdefault(endpoint, deque()).extend(items)

    def clear_script(self, endpoint: str | None = None) -> None:
        """Drop the queued faults of ``endpoint`` (of every endpoint if None)."""
        if endpoint is None:
            self._scripts.clear()
        else:
            self._scripts.pop(endpoint, None)

    def pending_script(self, endpoint: str) -> list[Fault]:
        """Return the faults still queued for ``endpoint``."""
        return list(self._scripts.get(endpoint, ()))

    def set_fault_rate(
        self,
        endpoint: str,
        rate: float,
        faults: Sequence[Fault] = (-1, 45009, "http502"),
    ) -> None:
        """Make each call of ``endpoint`` fail with probability ``rate``.

        The fault is drawn (with the seeded RNG) from ``faults``. A rate of 0 turns
        random faults off for that endpoint.
        """
        self._check_endpoint(endpoint)
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be between 0 and 1")
        choices = tuple(_check_fault(item) for item in faults)
        if rate == 0.0:
            self._fault_rates.pop(endpoint, None)
            return
        if not choices:
            raise ValueError("faults must not be empty")
        self._fault_rates[endpoint] = (rate, choices)

    # -------------------------------------------------------------------- tokens

    @property
    def current_token(self) -> str | None:
        """The token ``gettoken`` would hand out now, or None if a new one is due."""
        token = self._current_token
        if token is None or self.clock() >= self._tokens.get(token, -math.inf):
            return None
        return token

    def issue_token(self) -> str:
        """Return a valid token as ``gettoken`` would, without a request (not counted)."""
        return self._token_for(self.clock())[0]

    def rotate_token(self) -> None:
        """Invalidate every issued token now: they answer 40014 from here on."""
        self._tokens.clear()
        self._current_token = None

    def expire_tokens(self) -> None:
        """Mark every issued token as expired: they answer 42001 from here on."""
        expired = -math.inf
        for token in self._tokens:
            self._tokens[token] = expired
        self._current_token = None

    def _token_for(self, now: float) -> tuple[str, int]:
        token = self._current_token
        if token is not None:
            expiry = self._tokens.get(token, -math.inf)
            if now < expiry:
                return token, math.ceil(expiry - now)
        token = secrets.token_urlsafe(48)
        self._tokens[token] = now + self.token_ttl
        self.issued_tokens.add(token)
        self._current_token = token
        return token, math.ceil(self.token_ttl)

    # ----------------------------------------------------------------- customers

    def add_customer(self, external_userid: str, **fields: Any) -> None:
        """Make ``external_userid`` a known customer (within its 48-hour window).

        ``fields`` override the derived profile (``nickname``, ``avatar``, ``gender``,
        ``unionid``, ``enter_session_context`` or anything else).
        """
        self._customers[external_userid] = dict(fields)
        self._forgotten.discard(external_userid)

    def forget(self, external_userid: str) -> None:
        """Make ``external_userid`` unknown, as if its 48-hour window had passed."""
        self._customers.pop(external_userid, None)
        self._forgotten.add(external_userid)

    def is_known(self, external_userid: str) -> bool:
        """Tell whether ``customer/batchget`` would resolve ``external_userid``."""
        if external_userid in self._customers:
            return True
        prefix = self.known_prefix
        return (
            prefix is not None
            and external_userid.startswith(prefix)
            and external_userid not in self._forgotten
        )

    def profile(self, external_userid: str, *, with_context: bool = False) -> dict[str, Any]:
        """Return the customer object ``customer/batchget`` answers for a known id.

        Auto-known customers get a profile derived deterministically from the id;
        fields given to :meth:`add_customer` override it.
        """
        customer = _derive_profile(external_userid, self.third_party, with_context)
        if self.extra_fields:
            customer.update(self.extra_fields)
        overrides = self._customers.get(external_userid)
        if overrides:
            customer.update(overrides)
            if not with_context:
                customer.pop("enter_session_context", None)
        return customer

    # ------------------------------------------------------------------ handlers

    def _gettoken(self, call: _Call) -> dict[str, Any]:
        corp_id = call.query.get("corpid")
        if not corp_id:
            raise _ApiError(41002)
        secret = call.query.get("corpsecret")
        if not secret:
            raise _ApiError(41004)
        if corp_id != self.corp_id:
            raise _ApiError(40013)
        if not secrets.compare_digest(secret.encode(), self._secret.encode()):
            raise _ApiError(40001)
        token, expires_in = self._token_for(call.now)
        return {"access_token": token, "expires_in": expires_in}

    def _batchget(self, call: _Call) -> dict[str, Any]:
        try:
            request = json.loads(call.body)
        except ValueError:
            raise _ApiError(47001) from None
        if not isinstance(request, dict):
            raise _ApiError(47001)
        ids = request.get("external_userid_list")
        if not isinstance(ids, list) or not ids:
            raise _ApiError(40058, "external_userid_list must be a non-empty list")
        if len(ids) > BATCHGET_MAX_IDS:
            raise _ApiError(
                40058,
                f"external_userid_list size {len(ids)} exceeds the limit of {BATCHGET_MAX_IDS}",
            )
        if not all(isinstance(uid, str) for uid in ids):
            raise _ApiError(40058, "external_userid_list items must be strings")
        with_context = bool(request.get("need_enter_session_context", 0))
        customers: list[dict[str, Any]] = []
        invalid: list[str] = []
        added = self._customers
        forgotten = self._forgotten
        prefix = self.known_prefix
        third_party = self.third_party
        extra = self.extra_fields
        for uid in dict.fromkeys(ids):
            if uid in added:
                customers.append(self.profile(uid, with_context=with_context))
            elif prefix is not None and uid.startswith(prefix) and uid not in forgotten:
                customer = _derive_profile(uid, third_party, with_context)
                if extra:
                    customer.update(extra)
                customers.append(customer)
            else:
                invalid.append(uid)
        if self.shuffle:
            self._shuffle_rng.shuffle(customers)
        self.stats.ids_requested += len(ids)
        return {"customer_list": customers, "invalid_external_userid": invalid}

    # ---------------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection scope (``http`` or ``lifespan``)."""
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(_API_PREFIX):
                endpoint = path[len(_API_PREFIX) :]
                route = self._routes.get(endpoint)
                if route is not None:
                    if scope["method"] != route.method:
                        await _respond(send, 405, _TEXT, b"method not allowed\n")
                        return
                    await self._api(endpoint, route, scope, receive, send)
                    return
            elif path.startswith(_CONTROL_PREFIX):
                await self._control(path[len(_CONTROL_PREFIX) :], scope, receive, send)
                return
            await _respond(send, 404, _TEXT, b"not found\n")
        elif kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return

    def _pick_fault(self, endpoint: str) -> Fault | None:
        queue = self._scripts.get(endpoint)
        if queue:
            return queue.popleft()
        configured = self._fault_rates.get(endpoint)
        if configured is not None:
            rate, choices = configured
            if self._fault_rng.random() < rate:
                return self._fault_rng.choice(choices)
        return None

    def _throttled(self, endpoint: str, now: float) -> bool:
        window = math.floor(now)
        current, count = self._windows.get(endpoint, (window, 0))
        count = count + 1 if current == window else 1
        self._windows[endpoint] = (window, count)
        limit = self.calls_per_second_limit
        return limit is not None and count > limit

    def _latency(self, endpoint: str) -> float:
        latency = self.latency
        return latency(endpoint) if callable(latency) else latency

    async def _api(
        self, endpoint: str, route: _Route, scope: Scope, receive: Receive, send: Send
    ) -> None:
        stats = self.stats
        now = self.clock()
        stats._arrive(endpoint, now)
        try:
            # Decided synchronously at arrival, so outcomes follow arrival order.
            fault = self._pick_fault(endpoint)
            throttled = self._throttled(endpoint, now)
            body = await _read_body(receive) if route.method == "POST" else b""
            hold = self.hold
            if hold is not None:
                await hold.wait()
            delay = self._latency(endpoint)
            if delay > 0:
                await self.sleep(delay)
            if fault == "timeout":
                stats.faults["timeout"] += 1
                if await self._hang(receive):
                    return  # the client gave up: nobody to answer
                fault = None
            drip = fault == "drip"
            if drip:
                stats.faults["drip"] += 1
                fault = None
            status, content_type, payload = self._answer(
                endpoint, route, scope, body, fault, throttled
            )
            if drip:
                await self._drip(receive, send, status, content_type, payload)
            else:
                await _respond(send, status, content_type, payload)
        finally:
            stats._depart(endpoint)

    async def _drip(
        self, receive: Receive, send: Send, status: int, content_type: bytes, payload: bytes
    ) -> None:
        """Send the headers, then *payload* a byte at a time, until done or disconnected."""
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", content_type),
                    (b"content-length", str(len(payload)).encode()),
                ],
            }
        )
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            for index in range(len(payload)):
                if watcher.done():
                    return  # the client gave up
                last = index == len(payload) - 1
                await send(
                    {
                        "type": "http.response.body",
                        "body": payload[index : index + 1],
                        "more_body": not last,
                    }
                )
                if not last:
                    await self.sleep(self.drip_interval)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)

    async def _hang(self, receive: Receive) -> bool:
        """Sleep ``hang_seconds``; return True early if the client disconnects first."""
        sleeper = asyncio.ensure_future(self.sleep(self.hang_seconds))
        watcher = asyncio.ensure_future(_wait_disconnect(receive))
        try:
            done, _ = await asyncio.wait((sleeper, watcher), return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (sleeper, watcher):
                task.cancel()
            await asyncio.gather(sleeper, watcher, return_exceptions=True)
        return sleeper not in done

    def _answer(
        self,
        endpoint: str,
        route: _Route,
        scope: Scope,
        body: bytes,
        fault: Fault | None,
        throttled: bool,
    ) -> tuple[int, bytes, bytes]:
        now = self.clock()
        client = scope.get("client")
        client_ip = client[0] if client else "127.0.0.1"
        if isinstance(fault, Mapping):
            self.stats.faults["fields"] += 1
            status, content_type, normal = self._answer(
                endpoint, route, scope, body, None, throttled
            )
            return status, content_type, _dumps({**json.loads(normal), **fault})
        if isinstance(fault, str):
            self.stats.faults[fault] += 1
            if fault == "truncated":
                return 200, _JSON, _TRUNCATED
            return int(fault[4:]), _HTML, _html_error(int(fault[4:]))
        if fault:
            return 200, _JSON, self._error_body(fault, None, now, client_ip)
        if throttled:
            return 200, _JSON, self._error_body(45009, None, now, client_ip)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
        try:
            if route.needs_token:
                self._check_token(query.get("access_token"), now)
            payload = route.handler(_Call(endpoint, query, body, now))
        except _ApiError as error:
            return 200, _JSON, self._error_body(error.errcode, error.detail, now, client_ip)
        return 200, _JSON, _dumps({"errcode": 0, "errmsg": "ok", **payload})

    def _check_token(self, token: str | None, now: float) -> None:
        if not token:
            raise _ApiError(41001)
        expiry = self._tokens.get(token)
        if expiry is None:
            raise _ApiError(40014)
        if now >= expiry:
            raise _ApiError(42001)

    def _error_body(self, errcode: int, detail: str | None, now: float, client_ip: str) -> bytes:
        self.stats.errors[errcode] += 1
        self._hint_seq += 1
        hint = f"{int(now)}_{self._hint_seq}_{self._hint_rng.getrandbits(48):012x}"
        text = detail or _ERRMSG.get(errcode, "unknown error")
        errmsg = f"{text}, hint: [{hint}], from ip: {client_ip}, more info at {_MORE_INFO}{errcode}"
        return _dumps({"errcode": errcode, "errmsg": errmsg})

    # ------------------------------------------------------------------- control

    async def _control(self, action: str, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        body = await _read_body(receive) if method == "POST" else b""
        try:
            if action == "stats" and method == "GET":
                query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
                result = self.stats.to_dict(include_times=query.get("times") in ("1", "true"))
            elif method != "POST":
                await _respond(send, 404, _TEXT, b"not found\n")
                return
            elif action == "reset":
                self.stats.reset()
                result = {"ok": True}
            elif action == "rotate":
                self.rotate_token()
                result = {"ok": True}
            elif action == "expire":
                self.expire_tokens()
                result = {"ok": True}
            elif action == "config":
                self.configure(_json_object(body))
                result = {"ok": True}
            elif action == "customers":
                self._control_customers(_json_object(body))
                result = {"ok": True}
            else:
                await _respond(send, 404, _TEXT, b"not found\n")
                return
        except (ValueError, TypeError) as error:
            await _respond(send, 400, _JSON, _dumps({"ok": False, "error": str(error)}))
            return
        await _respond(send, 200, _JSON, _dumps(result))

    def configure(self, config: Mapping[str, Any]) -> None:
        """Apply settings given as JSON-like data (what ``POST /__sim__/config`` takes).

        Keys: ``latency`` (seconds, or ``{endpoint: seconds}``), ``shuffle``,
        ``calls_per_second_limit`` (int or null), ``fault_rate`` with optional
        ``faults`` and ``fault_endpoint`` (default ``kf/customer/batchget``),
        ``script`` (``{endpoint: [fault, ...]}``), ``hang_seconds``, ``drip_interval``,
        ``extra_fields``, ``third_party`` and ``known_prefix``. Everything is
        validated before anything is applied; bad input raises ValueError.
        """
        unknown = set(config) - {
            "latency",
            "shuffle",
            "calls_per_second_limit",
            "fault_rate",
            "faults",
            "fault_endpoint",
            "script",
            "hang_seconds",
            "drip_interval",
            "extra_fields",
            "third_party",
            "known_prefix",
        }
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        steps: list[Callable[[], None]] = []
        if "latency" in config:
            steps.append(_setter(self, "latency", _parse_latency(config["latency"])))
        if "shuffle" in config:
            steps.append(_setter(self, "shuffle", _require(config["shuffle"], bool)))
        if "calls_per_second_limit" in config:
            limit = config["calls_per_second_limit"]
            if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)):
                raise ValueError("calls_per_second_limit must be an integer or null")
            steps.append(_setter(self, "calls_per_second_limit", limit))
        if "hang_seconds" in config:
            steps.append(_setter(self, "hang_seconds", _number(config["hang_seconds"])))
        if "drip_interval" in config:
            steps.append(_setter(self, "drip_interval", _number(config["drip_interval"])))
        if "extra_fields" in config:
            extra = config["extra_fields"] or {}
            steps.append(_setter(self, "extra_fields", dict(_require(extra, dict))))
        if "third_party" in config:
            steps.append(_setter(self, "third_party", _require(config["third_party"], bool)))
        if "known_prefix" in config:
            prefix = config["known_prefix"]
            if prefix is not None and not isinstance(prefix, str):
                raise ValueError("known_prefix must be a string or null")
            steps.append(_setter(self, "known_prefix", prefix))
        if "fault_rate" in config or "faults" in config:
            endpoint = str(config.get("fault_endpoint", CUSTOMER_BATCHGET))
            self._check_endpoint(endpoint)
            rate = _number(config.get("fault_rate", 0.0))
            if not 0.0 <= rate <= 1.0:
                raise ValueError("fault_rate must be between 0 and 1")
            faults = tuple(
                _check_fault(item) for item in config.get("faults", (-1, 45009, "http502"))
            )
            steps.append(lambda: self.set_fault_rate(endpoint, rate, faults))
        if "script" in config:
            scripts = _require(config["script"], dict)
            for endpoint, items in scripts.items():
                self._check_endpoint(endpoint)
                checked = [_check_fault(item) for item in _require(items, list)]
                steps.append(functools.partial(self.script, endpoint, checked))
        for step in steps:
            step()

    def _control_customers(self, request: Mapping[str, Any]) -> None:
        added = _require(request.get("add", {}), dict)
        forgotten = _require(request.get("forget", []), list)
        for fields in added.values():
            _require(fields, dict)
        for uid, fields in added.items():
            self.add_customer(uid, **fields)
        for uid in forgotten:
            self.forget(str(uid))


def _derive_profile(external_userid: str, third_party: bool, with_context: bool) -> dict[str, Any]:
    """Build the deterministic profile of an auto-known customer (hot path: keep it lean)."""
    raw = external_userid.encode()
    digest = zlib.crc32(raw)
    prefix, suffix = _NICKNAMES[digest % 6]
    customer: dict[str, Any] = {
        "external_userid": external_userid,
        "nickname": f"{prefix}{digest % 100_000}{suffix}",
    }
    if third_party:
        customer["gender"] = 0
    else:
        hex_digest = f"{digest:08x}"
        customer["avatar"] = f"https://wework.sim.invalid/avatar/{hex_digest}/0"
        customer["gender"] = (digest >> 4) % 3
        customer["unionid"] = f"osim{hex_digest}{zlib.crc32(raw, 0x5EED):08x}"
    if with_context:
        customer["enter_session_context"] = _session_context(digest)
    return customer


def _session_context(digest: int) -> dict[str, Any]:
    variant = (digest >> 8) % 4
    if variant == 0:
        return {"scene": "", "scene_param": ""}
    number = (digest >> 12) % 1000
    context: dict[str, Any] = {
        "scene": f"sim_scene_{number % 7}",
        "scene_param": f"from%3Dsim{number}" if variant != 3 else "",
    }
    if variant == 1:
        prefix = _CHANNEL_NAMES[number % 3]
        context["wechat_channels"] = {"nickname": f"{prefix}{number}", "scene": 1 + number % 3}
    elif variant == 2:
        prefix = _SHOP_NAMES[number % 2]
        context["wechat_channels"] = {"shop_nickname": f"{prefix}{number}", "scene": 4 + number % 2}
    return context


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body) if body else {}
    except ValueError:
        raise ValueError("body is not valid JSON") from None
    checked: dict[str, Any] = _require(value, dict)
    return checked


def _require(value: Any, kind: type[Any]) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ValueError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"expected a non-negative number, got {value!r}")
    return float(value)


def _parse_latency(value: Any) -> float | Callable[[str], float]:
    if value is None:
        return 0.0
    if isinstance(value, dict):
        return _LatencyTable({str(key): _number(seconds) for key, seconds in value.items()})
    return _number(value)


def _setter(target: object, name: str, value: object) -> Callable[[], None]:
    return lambda: setattr(target, name, value)
