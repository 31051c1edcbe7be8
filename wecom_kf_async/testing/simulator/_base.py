"""The simulator's core: routing, scripted faults, rate windows, errors, the ASGI app.

Each resource lives in a mixin module of its own (``customers``, ``accounts``,
...), which declares its routes in ``ROUTES`` and keeps its state on the corp
(:mod:`._state`); this module knows none of them.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from ._state import Corp
from ._stats import SimulatorStats
from ._types import (
    API_PREFIX,
    CONTROL_PREFIX,
    DEEP,
    ERRMSG,
    MORE_INFO,
    SIM_CORP_ID,
    SIM_SECRET,
    TRUNCATED,
    ApiError,
    Call,
    Fault,
    Route,
    check_fault,
)
from ._wire import (
    HTML,
    JSON,
    TEXT,
    Binary,
    Receive,
    Scope,
    Send,
    Waitable,
    drip,
    drop,
    dumps,
    hang,
    html_error,
    read_body,
    respond,
    send_binary,
)

__all__ = ["SimulatorBase"]


class SimulatorBase:
    """The core of :class:`~wecom_kf_async.testing.WeComSimulator` (see there)."""

    #: Endpoints a mixin serves: ``{endpoint: Route}``; collected along the MRO.
    ROUTES: ClassVar[Mapping[str, Route]] = {}

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
        """Answer as to a third-party app: no avatar, no unionid, gender 0 (an
        agency-built app gets no avatar and gender 0 too, page 96429)."""
        self.latency: float | Callable[[str], float] = 0.0
        """Seconds to wait before answering, or a function of the endpoint name."""
        self.shuffle = False
        """Return ``customer_list`` in a random (seeded) order."""
        self.calls_per_second_limit: int | None = None
        """Per endpoint: calls beyond this many in one clock second get errcode 45009."""
        self.hold: Waitable | None = None
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
        self._routes: dict[str, Route] = {}
        for klass in reversed(type(self).__mro__):
            self._routes.update(vars(klass).get("ROUTES", {}))
        self.corp = Corp()
        """The fake corp behind the endpoints: members, accounts, sessions, media."""
        self._setup()

    def _setup(self) -> None:
        """Mixins set up their own state here (each calling ``super()._setup()``)."""

    def seed_demo(self) -> None:
        """Fill the corp with a little demo data: what ``wecom-kf ... --simulate`` shows.

        Each resource adds its own part (calling ``super().seed_demo()``).
        """

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
        items = [check_fault(item) for item in faults]
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
        choices = tuple(check_fault(item) for item in faults)
        if rate == 0.0:
            self._fault_rates.pop(endpoint, None)
            return
        if not choices:
            raise ValueError("faults must not be empty")
        self._fault_rates[endpoint] = (rate, choices)

    # ---------------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection scope (``http`` or ``lifespan``)."""
        kind = scope["type"]
        if kind == "http":
            path: str = scope["path"]
            if path.startswith(API_PREFIX):
                endpoint = path[len(API_PREFIX) :]
                route = self._routes.get(endpoint)
                if route is not None:
                    if scope["method"] != route.method:
                        await respond(send, 405, TEXT, b"method not allowed\n")
                        return
                    await self._api(endpoint, route, scope, receive, send)
                    return
            elif path.startswith(CONTROL_PREFIX):
                await self._control(path[len(CONTROL_PREFIX) :], scope, receive, send)
                return
            await respond(send, 404, TEXT, b"not found\n")
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
        self, endpoint: str, route: Route, scope: Scope, receive: Receive, send: Send
    ) -> None:
        stats = self.stats
        now = self.clock()
        stats._arrive(endpoint, now)
        try:
            # Decided synchronously at arrival, so outcomes follow arrival order.
            fault = self._pick_fault(endpoint)
            throttled = self._throttled(endpoint, now)
            body = await read_body(receive) if route.method == "POST" else b""
            hold = self.hold
            if hold is not None:
                await hold.wait()
            delay = self._latency(endpoint)
            if delay > 0:
                await self.sleep(delay)
            if fault in ("timeout", "drip", "drop", "lost"):
                stats.faults[str(fault)] += 1
            if fault == "timeout":
                if await hang(receive, self.hang_seconds, self.sleep):
                    return  # the client gave up: nobody to answer
                fault = None
            how, fault = (fault, None) if fault in ("drip", "drop", "lost") else (None, fault)
            answer = self._answer(endpoint, route, scope, body, fault, throttled)
            if isinstance(answer, Binary):
                if how == "lost":
                    await hang(receive, self.hang_seconds, self.sleep)
                else:
                    interval = self.drip_interval if how == "drip" else 0.0
                    await send_binary(
                        send, answer, cut=how == "drop", interval=interval, sleep=self.sleep
                    )
                return
            status, content_type, payload = answer
            if how == "drip":
                await drip(
                    receive, send, status, content_type, payload, self.drip_interval, self.sleep
                )
            elif how == "lost":
                # The work is done, the answer never comes: the client times out.
                await hang(receive, self.hang_seconds, self.sleep)
            elif how == "drop":
                # The work is done; the answer is cut off half way and the connection
                # closed: the client cannot know what happened.
                await drop(send, status, content_type, payload)
            else:
                await respond(send, status, content_type, payload)
        finally:
            stats._depart(endpoint)

    def _answer(
        self,
        endpoint: str,
        route: Route,
        scope: Scope,
        body: bytes,
        fault: Fault | None,
        throttled: bool,
    ) -> tuple[int, bytes, bytes] | Binary:
        """The answer to one call: ``(status, content type, body)``, or a :class:`Binary`
        download (a handler may return one instead of a dict)."""
        now = self.clock()
        client = scope.get("client")
        client_ip = client[0] if client else "127.0.0.1"
        if isinstance(fault, Mapping):
            self.stats.faults["fields"] += 1
            normal = self._answer(endpoint, route, scope, body, None, throttled)
            if isinstance(normal, Binary):
                return normal  # no fields to replace in a download
            status, content_type, answer = normal
            return status, content_type, dumps({**json.loads(answer), **fault})
        if isinstance(fault, str):
            self.stats.faults[fault] += 1
            if fault == "truncated":
                return 200, JSON, TRUNCATED
            if fault == "deep":
                return 200, JSON, DEEP
            return int(fault[4:]), HTML, html_error(int(fault[4:]))
        if fault:
            return 200, JSON, self._error_body(fault, None, now, client_ip)
        if throttled:
            return 200, JSON, self._error_body(45009, None, now, client_ip)
        query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
        try:
            if route.needs_token:
                self._check_token(query.get("access_token"), now)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            handler: Callable[[Call], dict[str, Any] | Binary] = getattr(self, route.handler)
            payload = handler(Call(endpoint, query, body, now, headers))
        except ApiError as error:
            return 200, JSON, self._error_body(error.errcode, error.detail, now, client_ip)
        if isinstance(payload, Binary):
            return payload
        return 200, JSON, dumps({"errcode": 0, "errmsg": "ok", **payload})

    async def _control(self, action: str, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer ``/__sim__/{action}`` (``ControlMixin`` knows the actions)."""
        await respond(send, 404, TEXT, b"not found\n")

    def _check_token(self, token: str | None, now: float) -> None:
        """Raise the errcode WeCom gives for *token* (``TokensMixin`` knows the tokens)."""
        raise NotImplementedError

    def _error_body(self, errcode: int, detail: str | None, now: float, client_ip: str) -> bytes:
        self.stats.errors[errcode] += 1
        self._hint_seq += 1
        hint = f"{int(now)}_{self._hint_seq}_{self._hint_rng.getrandbits(48):012x}"
        text = detail or ERRMSG.get(errcode, "unknown error")
        errmsg = f"{text}, hint: [{hint}], from ip: {client_ip}, more info at {MORE_INFO}{errcode}"
        return dumps({"errcode": errcode, "errmsg": errmsg})
