"""A WeCom service provider's world as one ASGI app: a suite installed in many simulated corps.

:class:`ProviderSimulator` answers the suite's endpoints (``service/get_suite_token``,
``service/get_permanent_code`` and its v2, ``service/get_corp_token``,
``idconvert/open_kfid``, ``idconvert/unionid_to_external_userid``) and hands
every other ``/cgi-bin/`` call to the :class:`WeComSimulator` of the corp whose
``access_token`` it carries. It pushes instructions and data callbacks like
WeCom (:mod:`._provider_push`), and has ``/__sim__/provider/...`` controls for a
simulator served in another process (``serve_provider_in_subprocess``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Final
from urllib.parse import parse_qsl

from ._provider_api import (
    GET_CORP_TOKEN,
    GET_PERMANENT_CODE,
    GET_PERMANENT_CODE_V2,
    GET_SUITE_TOKEN,
    IDCONVERT_OPEN_KFID,
    IDCONVERT_UNIONID,
    OPEN_KFID_MAX,
)
from ._provider_core import (
    AUTH_CODE_TTL,
    ERR_AUTH_CODE,
    ERR_PERMANENT_CODE,
    ERR_SUITE_ID,
    ERR_SUITE_SECRET,
    ERR_SUITE_TICKET,
    ERR_SUITE_TOKEN,
    ERR_SUITE_TOKEN_EXPIRED,
    SIM_SUITE_AES_KEY,
    SIM_SUITE_ID,
    SIM_SUITE_SECRET,
    SIM_SUITE_TOKEN,
    TICKET_TTL,
    AppKind,
    Install,
)
from ._provider_push import ProviderPush
from .simulator import CUSTOMER_BATCHGET, ApiError, ASGIApp, Call
from .simulator._types import API_PREFIX
from .simulator._wire import JSON, TEXT, Message, Receive, Scope, Send, dumps, read_body, respond

__all__ = [
    "AUTH_CODE_TTL",
    "ERR_AUTH_CODE",
    "ERR_PERMANENT_CODE",
    "ERR_SUITE_ID",
    "ERR_SUITE_SECRET",
    "ERR_SUITE_TICKET",
    "ERR_SUITE_TOKEN",
    "ERR_SUITE_TOKEN_EXPIRED",
    "GET_CORP_TOKEN",
    "GET_PERMANENT_CODE",
    "GET_PERMANENT_CODE_V2",
    "GET_SUITE_TOKEN",
    "IDCONVERT_OPEN_KFID",
    "IDCONVERT_UNIONID",
    "OPEN_KFID_MAX",
    "SIM_SUITE_AES_KEY",
    "SIM_SUITE_ID",
    "SIM_SUITE_SECRET",
    "SIM_SUITE_TOKEN",
    "TICKET_TTL",
    "AppKind",
    "Install",
    "ProviderSimulator",
]

_CONTROL: Final = "/__sim__/provider/"
_CORP_CONTROL: Final = "/__sim__/corps/"


class ProviderSimulator(ProviderPush):
    """An ASGI 3 app playing WeCom for a service provider's suite installed in many corps.

    Each corp (:meth:`install`) is a full :class:`WeComSimulator` (:meth:`corp`),
    created with the corp's id and this simulator's ``clock``. The suite's flow:
    :meth:`push_ticket` (or :meth:`push_ticket_to`) → ``get_suite_token`` →
    ``get_permanent_code`` with an :class:`Install`'s ``auth_code`` →
    ``get_corp_token`` → any KF call with that corp's ``access_token``, routed to
    the corp's simulator. :meth:`uninstall` revokes a corp. Customers'
    profiles (``kf/customer/batchget``) follow ``app_kind``: a third-party app
    gets no avatar, no unionid and gender 0; an agency-built app no avatar and
    gender 0 (page kf-customer-batchget).

    Calls to ``/cgi-bin/...`` are counted in :attr:`stats` per endpoint (path
    after ``/cgi-bin/``; forwarded calls are counted by the corp's simulator too),
    ``get_corp_token`` calls per corp in :attr:`corp_token_calls`.
    """

    def __init__(
        self,
        *,
        suite_id: str = SIM_SUITE_ID,
        suite_secret: str = SIM_SUITE_SECRET,
        token: str = SIM_SUITE_TOKEN,
        encoding_aes_key: str = SIM_SUITE_AES_KEY,
        clock: Callable[[], float] = time.time,
        seed: int = 0,
        app_kind: AppKind = "third_party",
        token_ttl: float = 7200.0,
    ) -> None:
        super().__init__(
            suite_id=suite_id,
            suite_secret=suite_secret,
            token=token,
            encoding_aes_key=encoding_aes_key,
            clock=clock,
            seed=seed,
            app_kind=app_kind,
            token_ttl=token_ttl,
        )

    # ---------------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one ASGI connection scope (``http`` or ``lifespan``)."""
        kind = scope["type"]
        if kind == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if kind != "http":
            return
        path: str = scope["path"]
        if path.startswith(API_PREFIX):
            endpoint = path[len(API_PREFIX) :]
            self.stats._arrive(endpoint, self.clock())
            try:
                await self._api(endpoint, scope, receive, send)
            finally:
                self.stats._depart(endpoint)
        elif path.startswith(_CONTROL):
            await self._control(path[len(_CONTROL) :], scope, receive, send)
        elif path.startswith(_CORP_CONTROL):
            await self._corp_control(path[len(_CORP_CONTROL) :], scope, receive, send)
        else:
            await respond(send, 404, TEXT, b"not found\n")

    async def _api(self, endpoint: str, scope: Scope, receive: Receive, send: Send) -> None:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
        now = self.clock()
        client = scope.get("client")
        client_ip = client[0] if client else "127.0.0.1"
        if endpoint in self.ROUTES:
            if scope["method"] != "POST":
                await respond(send, 405, TEXT, b"method not allowed\n")
                return
            body = await read_body(receive)
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            try:
                payload = self._handle(endpoint, Call(endpoint, query, body, now, headers))
            except ApiError as error:
                answer = self._error_body(error.errcode, error.detail, now, client_ip)
            else:
                answer = dumps(payload)
            await respond(send, 200, JSON, answer)
            return
        try:
            corp = self._corp_of_token(query.get("access_token"))
        except ApiError as error:
            await respond(send, 200, JSON, self._error_body(error.errcode, None, now, client_ip))
            return
        if endpoint == CUSTOMER_BATCHGET:
            await self._filtered(corp.sim, scope, receive, send)
        else:
            await corp.sim(scope, receive, send)

    async def _filtered(self, app: ASGIApp, scope: Scope, receive: Receive, send: Send) -> None:
        """Call *app*, then strip its ``customer/batchget`` answer as ``app_kind`` says."""
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await app(scope, receive, capture)
        if start is None:
            return
        original = b"".join(chunks)
        body = self._strip_customers(original)
        if body is original:  # not a customer list (an error, a fault): passed on as is
            await send(start)
        else:
            headers = [
                (k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"
            ]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _strip_customers(self, body: bytes) -> bytes:
        """*body* with what ``app_kind`` may not see dropped (as is if not a customer list)."""
        try:
            answer = json.loads(body)
        except ValueError:
            return body
        customers = answer.get("customer_list") if isinstance(answer, dict) else None
        if not isinstance(customers, list):
            return body
        for customer in customers:
            if isinstance(customer, dict):
                customer.pop("avatar", None)
                customer["gender"] = 0
                if self.app_kind == "third_party":
                    customer.pop("unionid", None)
        return dumps(answer)

    # ------------------------------------------------------------------ control

    async def _control(self, action: str, scope: Scope, receive: Receive, send: Send) -> None:
        """``/__sim__/provider/{action}``: the controls of a simulator in another process."""
        method = scope["method"]
        query = dict(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace")))
        body = await read_body(receive) if method == "POST" else b""
        result: dict[str, Any]
        try:
            if (method, action) == ("GET", "stats"):
                result = {
                    "calls": dict(self.stats.calls),
                    "corp_token_calls": dict(self.corp_token_calls),
                    "suite_token_calls": self.suite_token_calls,
                }
            elif (method, action) == ("GET", "permanent_codes"):
                result = self.permanent_codes()
            elif (method, action) == ("GET", "corps"):
                result = {"corps": list(self.corps)}
            elif (method, action) == ("POST", "ticket"):
                result = {"ticket": self.push_ticket()}
            elif (method, action) == ("POST", "install"):
                request = json.loads(body) if body else {}
                name = request.get("name") if isinstance(request, dict) else None
                install = self.install(name if isinstance(name, str) else None)
                result = {"corp_id": install.corp_id, "auth_code": install.auth_code}
            elif (method, action) == ("POST", "uninstall"):
                self.uninstall(query.get("corp_id", ""))
                result = {"ok": True}
            elif (method, action) == ("POST", "expire_suite_tokens"):
                self.expire_suite_tokens()
                result = {"ok": True}
            else:
                await respond(send, 404, TEXT, b"not found\n")
                return
        except (KeyError, ValueError) as error:
            await respond(send, 400, JSON, dumps({"ok": False, "error": str(error)}))
            return
        await respond(send, 200, JSON, dumps(result))

    def permanent_codes(self) -> dict[str, str]:
        """``{corp_id: permanent_code}`` of the installed corps.

        Test-only: WeCom never lists these; a test that does not run the whole
        ``create_auth`` flow (e.g. against ``serve_provider_in_subprocess``) uses them
        to call ``get_corp_token`` directly (``GET /__sim__/provider/permanent_codes``).
        """
        return {corp_id: self.permanent_code(corp_id) for corp_id in self.corps}

    async def _corp_control(self, rest: str, scope: Scope, receive: Receive, send: Send) -> None:
        """``/__sim__/corps/{corp_id}/{action}``: the corp simulator's ``/__sim__/{action}``."""
        corp_id, _, action = rest.partition("/")
        corp = self._corps.get(corp_id)
        if corp is None or not action:
            await respond(send, 404, TEXT, b"not found\n")
            return
        await corp.sim({**scope, "path": f"/__sim__/{action}"}, receive, send)
