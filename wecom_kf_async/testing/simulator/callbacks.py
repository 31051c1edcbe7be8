"""The simulator as WeCom's callback sender: encrypted ``kf_msg_or_event`` POSTs, URL checks.

WeCom tells an app that messages wait by POSTing an encrypted ``kf_msg_or_event``
to the app's callback URL; it repeats a callback it thinks was missed and checks
the URL with a GET when an admin saves it. This mixin does the same, with the
library's own :class:`~wecom_kf_async.callback.CallbackCrypto`, to an ``http(s)://``
URL (a real server, e.g. under uvicorn) or to an ASGI app in process.

The crypto (``cryptography``) and httpx are imported inside the methods, so the
simulator stays importable with the standard library alone.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from ._msgcodes import SendBuilder
from ._types import Route
from ._wire import ASGIApp
from .messages import MessagesMixin

if TYPE_CHECKING:
    from ...callback import CallbackCrypto

__all__ = ["CALLBACK_TIMEOUT", "CallbackPush", "CallbacksMixin", "UrlCheck"]

CALLBACK_TIMEOUT: Final = 5.0
"""Seconds WeCom waits for a callback's answer before it gives up (and may repeat it)."""

_ASGI_BASE_URL: Final = "http://callback.wecom-simulator.invalid"
_USER_AGENT: Final = "wecom-kf-async-simulator"


@dataclass(frozen=True)
class CallbackPush:
    """One ``kf_msg_or_event`` POST the simulator sent, and the app's answer."""

    #: The account the callback named (``OpenKfId``).
    open_kfid: str
    #: The ``Token`` it carried: ``sync_msg`` accepts it once, within 10 minutes.
    token: str
    #: The query string sent: ``msg_signature``, ``timestamp`` and ``nonce``.
    query: Mapping[str, str]
    #: The POSTed XML: ``<xml><ToUserName/><Encrypt/><AgentID/></xml>``.
    xml: str
    #: 1 for the first delivery, 2, 3, ... for repeats (:meth:`CallbacksMixin.repeat_callback`).
    attempt: int
    #: The answer's HTTP status, or None when no answer came (see :attr:`error`).
    status: int | None
    #: The answer's body as text ("" when no answer came).
    answer: str
    #: Why no answer came (``"timeout"``, a connection error), else None.
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the app answered HTTP 200 (what WeCom counts as delivered)."""
        return self.status == 200


@dataclass(frozen=True)
class UrlCheck:
    """One URL verification GET the simulator sent, and the app's answer."""

    #: The plaintext hidden in ``echostr``: what the app must answer.
    echo: str
    #: The query string sent: ``msg_signature``, ``timestamp``, ``nonce``, ``echostr``.
    query: Mapping[str, str]
    #: The answer's HTTP status, or None when no answer came.
    status: int | None
    #: The answer's body as text.
    answer: str
    #: Why no answer came, else None.
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the app answered HTTP 200 with exactly the plaintext (as WeCom demands)."""
        return self.status == 200 and self.answer == self.echo


@dataclass(frozen=True)
class _Target:
    where: str | ASGIApp
    path: str
    crypto: CallbackCrypto
    agent_id: str


class CallbacksMixin(MessagesMixin):
    """Push encrypted callbacks to the app under test, as WeCom does.

    Configure with :meth:`set_callback`, then :meth:`push_callback` (one callback
    with a fresh Token), :meth:`repeat_callback` (WeCom's retries: the same
    request again) and :meth:`verify_callback_url` (the GET of a saved URL). With
    :attr:`auto_callback` set, :meth:`customer_says` and :meth:`customer_enters`
    push on their own; :meth:`drain_callbacks` waits for those pushes. Every POST
    and its answer is recorded in :attr:`callbacks`, every GET in :attr:`url_checks`.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {}

    def _setup(self) -> None:
        super()._setup()
        self._callback_target: _Target | None = None
        self._callback_tasks: dict[asyncio.Task[CallbackPush], None] = {}
        self.callbacks: list[CallbackPush] = []
        """Every callback POST sent (pushes and repeats) with its answer, in order of answer."""
        self.url_checks: list[UrlCheck] = []
        """Every URL verification GET sent, with its answer."""
        self.auto_callback = False
        """Push a callback (as a task on the running loop) after each :meth:`customer_says`
        and :meth:`customer_enters`; :meth:`drain_callbacks` waits for them."""
        self.callback_timeout = CALLBACK_TIMEOUT
        """Seconds to wait for an answer; past it the push is recorded with ``error="timeout"``."""

    # -------------------------------------------------------------- configuring

    def set_callback(
        self,
        target: str | ASGIApp,
        *,
        token: str,
        encoding_aes_key: str,
        receive_id: str | None = None,
        path: str = "/",
        agent_id: str = "",
    ) -> None:
        """Say where callbacks go and how they are encrypted, as an admin does in WeCom.

        Args:
            target: The callback URL (``http://`` or ``https://``), or an ASGI app
                called in process (its lifespan is not run: start the app yourself,
                e.g. ``async with bot:``).
            token: The callback's ``Token`` setting (signs every request).
            encoding_aes_key: The callback's ``EncodingAESKey`` (43 characters).
            receive_id: The id sealed into each message (default: the corp id).
            path: The request path when *target* is an ASGI app (a URL has its own).
            agent_id: The ``AgentID`` of the POSTed XML (default empty).

        Raises:
            ValueError: A URL that is not ``http(s)://``, a path without a leading
                ``/``, or a token or key ``CallbackCrypto`` refuses.
            TypeError: *target* is neither a string nor callable.
        """
        from ...callback import CallbackCrypto

        if isinstance(target, str):
            if not target.startswith(("http://", "https://")):
                raise ValueError(f"target must be an http(s):// URL or an ASGI app, got {target!r}")
        elif not callable(target):
            raise TypeError(f"target must be a URL or an ASGI app, not {type(target).__name__}")
        if not path.startswith("/"):
            raise ValueError(f"path must start with '/', got {path!r}")
        crypto = CallbackCrypto(token, encoding_aes_key, receive_id or self.corp_id)
        self._callback_target = _Target(target, path, crypto, agent_id)

    @property
    def callback_crypto(self) -> CallbackCrypto | None:
        """The crypto :meth:`set_callback` configured (None before): the app's twin."""
        target = self._callback_target
        return None if target is None else target.crypto

    # ------------------------------------------------------------------ pushing

    async def push_callback(self, open_kfid: str) -> CallbackPush:
        """POST one ``kf_msg_or_event`` for *open_kfid*, with a fresh Token; return the record.

        The request is WeCom's: ``msg_signature``, ``timestamp`` and ``nonce`` in the
        query string, ``<xml><ToUserName/><Encrypt/><AgentID/></xml>`` as the body,
        the encrypted event carrying a new :meth:`callback_token`. A failed delivery
        (no answer within :attr:`callback_timeout`, a refused connection) does not
        raise: it is recorded with ``status=None`` and the :attr:`CallbackPush.error`.

        Raises:
            RuntimeError: :meth:`set_callback` was not called.
            ValueError: *open_kfid* is not an account of the corp.
        """
        target = self._require_callback_target()
        token = self.callback_token(open_kfid)
        query, xml = self._sealed(
            target,
            f"<Event>{_cdata('kf_msg_or_event')}</Event><Token>{_cdata(token)}</Token>"
            f"<OpenKfId>{_cdata(open_kfid)}</OpenKfId>",
        )
        return await self._deliver(target, open_kfid, token, query, xml, attempt=1)

    def _sealed(self, target: _Target, event: str) -> tuple[dict[str, str], str]:
        """The query string and POST body of an event callback whose own elements are *event*."""
        now = int(self.clock())
        inner = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName>"
            f"<CreateTime>{now}</CreateTime><MsgType>{_cdata('event')}</MsgType>{event}</xml>"
        )
        fields = _envelope(target.crypto.encrypt(inner, timestamp=str(now), nonce=_nonce()))
        xml = (
            f"<xml><ToUserName>{_cdata(self.corp_id)}</ToUserName>"
            f"<Encrypt>{_cdata(fields['Encrypt'])}</Encrypt>"
            f"<AgentID>{_cdata(target.agent_id)}</AgentID></xml>"
        )
        query = {
            "msg_signature": fields["MsgSignature"],
            "timestamp": fields["TimeStamp"],
            "nonce": fields["Nonce"],
        }
        return query, xml

    async def repeat_callback(self, push: CallbackPush, times: int = 3) -> list[CallbackPush]:
        """Send *push*'s request again *times* times, one after the other, as WeCom retries.

        Each repeat is the very same request (query string and body, so the same
        Token), as WeCom sends when it thought the callback was missed. Returns the
        new records (``attempt`` 2, 3, ... after *push*'s), also added to
        :attr:`callbacks`.

        Raises:
            RuntimeError: :meth:`set_callback` was not called.
            ValueError: *times* is below 1.
        """
        if isinstance(times, bool) or not isinstance(times, int) or times < 1:
            raise ValueError(f"times must be an integer >= 1, got {times!r}")
        target = self._require_callback_target()
        return [
            await self._deliver(
                target, push.open_kfid, push.token, push.query, push.xml, push.attempt + n
            )
            for n in range(1, times + 1)
        ]

    async def verify_callback_url(self) -> str:
        """Send the GET WeCom sends when an admin saves the callback URL; return the answer body.

        The query string carries ``msg_signature``, ``timestamp``, ``nonce`` and an
        encrypted ``echostr``; a correct app answers the bare plaintext (the
        recorded :attr:`UrlCheck.echo`, see :attr:`url_checks`). Returns ``""``
        when no answer came (the record says why).

        Raises:
            RuntimeError: :meth:`set_callback` was not called.
        """
        target = self._require_callback_target()
        echo = str(secrets.randbelow(10**19))
        now = str(int(self.clock()))
        fields = _envelope(target.crypto.encrypt(echo, timestamp=now, nonce=_nonce()))
        query = {
            "msg_signature": fields["MsgSignature"],
            "timestamp": fields["TimeStamp"],
            "nonce": fields["Nonce"],
            "echostr": fields["Encrypt"],
        }
        status, answer, error = await self._request(target, "GET", query, None)
        self.url_checks.append(UrlCheck(echo, query, status, answer, error))
        return answer

    async def drain_callbacks(self) -> list[CallbackPush]:
        """Wait until every push :attr:`auto_callback` scheduled is answered; return them.

        Pushes scheduled while waiting are waited for too. An exception from a
        push task (none is expected: failed deliveries are recorded) is raised here.
        """
        done: list[CallbackPush] = []
        while self._callback_tasks:
            done.extend(await asyncio.gather(*self._callback_tasks))
        return done

    # ------------------------------------------------- automatic pushes (overrides)

    def customer_says(
        self, open_kfid: str, external_userid: str, message: SendBuilder | Mapping[str, Any]
    ) -> str:
        """As :meth:`MessagesMixin.customer_says`; with :attr:`auto_callback`, also push."""
        loop = self._auto_loop()
        msgid = super().customer_says(open_kfid, external_userid, message)
        if loop is not None:
            self._schedule_push(loop, open_kfid)
        return msgid

    def customer_enters(
        self,
        open_kfid: str,
        external_userid: str,
        *,
        scene: str = "",
        scene_param: str = "",
        wechat_channels: Mapping[str, Any] | None = None,
    ) -> str | None:
        """As :meth:`MessagesMixin.customer_enters`; with :attr:`auto_callback`, also push."""
        loop = self._auto_loop()
        code = super().customer_enters(
            open_kfid,
            external_userid,
            scene=scene,
            scene_param=scene_param,
            wechat_channels=wechat_channels,
        )
        if loop is not None:
            self._schedule_push(loop, open_kfid)
        return code

    # ---------------------------------------------------------------- internals

    def _require_callback_target(self) -> _Target:
        if self._callback_target is None:
            raise RuntimeError("no callback target: call sim.set_callback(url_or_app, ...) first")
        return self._callback_target

    def _auto_loop(self) -> asyncio.AbstractEventLoop | None:
        if not self.auto_callback:
            return None
        self._require_callback_target()
        try:
            return asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                "auto_callback pushes from a task: call this inside a running event loop"
            ) from None

    def _schedule_push(self, loop: asyncio.AbstractEventLoop, open_kfid: str) -> None:
        task = loop.create_task(self.push_callback(open_kfid), name=f"wecom-sim push {open_kfid}")
        self._callback_tasks[task] = None
        task.add_done_callback(lambda done: self._callback_tasks.pop(done, None))

    async def _deliver(
        self,
        target: _Target,
        open_kfid: str,
        token: str,
        query: Mapping[str, str],
        xml: str,
        attempt: int,
    ) -> CallbackPush:
        status, answer, error = await self._request(target, "POST", query, xml.encode())
        push = CallbackPush(open_kfid, token, dict(query), xml, attempt, status, answer, error)
        self.callbacks.append(push)
        return push

    async def _request(
        self, target: _Target, method: str, query: Mapping[str, str], body: bytes | None
    ) -> tuple[int | None, str, str | None]:
        """Send one request to the target: (status, answer text, error)."""
        import httpx

        headers = {"User-Agent": _USER_AGENT}
        if body is not None:
            headers["Content-Type"] = "text/xml; charset=utf-8"
        if isinstance(target.where, str):
            client = httpx.AsyncClient(trust_env=False, timeout=self.callback_timeout)
            url = target.where
        else:
            # An app that raises answers 500, as it would behind a real server.
            transport = httpx.ASGITransport(app=target.where, raise_app_exceptions=False)
            client = httpx.AsyncClient(
                transport=transport, base_url=_ASGI_BASE_URL, timeout=self.callback_timeout
            )
            url = target.path
        try:
            async with client, asyncio.timeout(self.callback_timeout):
                response = await client.request(
                    method, url, params=dict(query), content=body, headers=headers
                )
        except (TimeoutError, httpx.TimeoutException):
            return None, "", "timeout"
        except httpx.HTTPError as exc:
            return None, "", f"{type(exc).__name__}: {exc}"
        return response.status_code, response.text, None


def _cdata(value: str) -> str:
    """*value* as CDATA, as WeCom writes strings (a ``]]>`` inside is split)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _nonce() -> str:
    """A nonce like WeCom's: a random decimal string."""
    return str(secrets.randbelow(9 * 10**9) + 10**9)


def _envelope(envelope: str) -> dict[str, str]:
    """The fields of ``CallbackCrypto.encrypt``'s XML envelope, by WeCom's names."""
    from ...callback import read_envelope

    parsed = read_envelope(envelope)
    fields = {
        "Encrypt": parsed.encrypt,
        "MsgSignature": parsed.msg_signature or "",
        "TimeStamp": parsed.timestamp or "",
        "Nonce": parsed.nonce or "",
    }
    missing = [name for name, value in fields.items() if not value]
    if missing:
        raise RuntimeError(f"CallbackCrypto.encrypt returned an envelope without {missing}")
    return fields
