"""The provider simulator as WeCom's sender: instruction XML, encrypted POSTs, data callbacks.

Instructions (``suite_ticket``, page 90628; ``create_auth`` / ``change_auth`` /
``cancel_auth``, page 90642) go to the suite's instruction URL, encrypted with
the suite's Token and EncodingAESKey and ``receive_id = suite_id``. A corp's KF
data callbacks go to the suite's one data URL for every corp, with the same key
but ``receive_id`` = the authorising corp's id.

httpx and the crypto are imported inside the methods, like the simulator's own
callback pusher.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Final

from ._provider_api import ProviderApi
from ._provider_core import Install
from .simulator import CALLBACK_TIMEOUT, ASGIApp, CallbackPush

if TYPE_CHECKING:
    import httpx

    from ..callback import CallbackCrypto

__all__ = ["ProviderPush"]

_ASGI_BASE_URL: Final = "http://instructions.wecom-provider-simulator.invalid"
_USER_AGENT: Final = "wecom-kf-async-provider-simulator"


def _cdata(value: str) -> str:
    """*value* as CDATA, as WeCom writes strings (a ``]]>`` inside is split)."""
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


class ProviderPush(ProviderApi):
    """Instruction XML and its delivery; KF data callbacks through the suite's URL."""

    callback_timeout: float = CALLBACK_TIMEOUT
    """Seconds :meth:`deliver` waits for an answer."""

    # ---------------------------------------------------------------------- XML

    def _stamp(self, timestamp: int | None) -> int:
        return int(self.clock()) if timestamp is None else timestamp

    def ticket_xml(self, ticket: str, timestamp: int | None = None) -> str:
        """The plaintext ``suite_ticket`` instruction carrying *ticket* (page 90628)."""
        return (
            f"<xml><SuiteId>{_cdata(self.suite_id)}</SuiteId>"
            f"<InfoType>{_cdata('suite_ticket')}</InfoType>"
            f"<TimeStamp>{self._stamp(timestamp)}</TimeStamp>"
            f"<SuiteTicket>{_cdata(ticket)}</SuiteTicket></xml>"
        )

    def create_auth_xml(
        self,
        install: Install,
        *,
        state: str = "",
        open_kfids: Sequence[str] = (),
        timestamp: int | None = None,
    ) -> str:
        """The plaintext ``create_auth`` instruction of an :class:`Install` (page 90642).

        *open_kfids*, when given, are listed in ``ExtraInfo.AuthOpenKfIdList`` (the
        KF component's authorised accounts); left out otherwise.
        """
        return (
            f"<xml><SuiteId>{_cdata(self.suite_id)}</SuiteId>"
            f"<AuthCode>{_cdata(install.auth_code)}</AuthCode>"
            f"<InfoType>{_cdata('create_auth')}</InfoType>"
            f"<TimeStamp>{self._stamp(timestamp)}</TimeStamp>"
            f"<State>{_cdata(state)}</State>{_extra_info(open_kfids)}</xml>"
        )

    def change_auth_xml(
        self,
        corp_id: str,
        *,
        state: str = "",
        open_kfids: Sequence[str] = (),
        timestamp: int | None = None,
    ) -> str:
        """The plaintext ``change_auth`` instruction of corp *corp_id* (page 90642)."""
        return (
            f"<xml><SuiteId>{_cdata(self.suite_id)}</SuiteId>"
            f"<InfoType>{_cdata('change_auth')}</InfoType>"
            f"<TimeStamp>{self._stamp(timestamp)}</TimeStamp>"
            f"<AuthCorpId>{_cdata(corp_id)}</AuthCorpId>"
            f"<State>{_cdata(state)}</State>{_extra_info(open_kfids)}</xml>"
        )

    def cancel_auth_xml(self, corp_id: str, *, timestamp: int | None = None) -> str:
        """The plaintext ``cancel_auth`` instruction of corp *corp_id* (page 90642)."""
        return (
            f"<xml><SuiteId>{_cdata(self.suite_id)}</SuiteId>"
            f"<InfoType>{_cdata('cancel_auth')}</InfoType>"
            f"<TimeStamp>{self._stamp(timestamp)}</TimeStamp>"
            f"<AuthCorpId>{_cdata(corp_id)}</AuthCorpId></xml>"
        )

    # ----------------------------------------------------------------- delivery

    def instruction_crypto(self) -> CallbackCrypto:
        """The crypto of instructions (``receive_id = suite_id``): the receiver's twin."""
        from ..callback import CallbackCrypto

        return CallbackCrypto(self.token, self.encoding_aes_key, self.suite_id)

    def data_crypto(self, corp_id: str) -> CallbackCrypto:
        """The crypto of corp *corp_id*'s data callbacks (``receive_id = corp_id``)."""
        from ..callback import CallbackCrypto

        return CallbackCrypto(self.token, self.encoding_aes_key, corp_id)

    def seal(self, xml: str) -> tuple[dict[str, str], str]:
        """The query string and POST body of instruction *xml*, encrypted and signed."""
        from ..callback import read_envelope

        envelope = read_envelope(
            self.instruction_crypto().encrypt(xml, timestamp=int(self.clock()))
        )
        body = (
            f"<xml><ToUserName>{_cdata(self.suite_id)}</ToUserName>"
            f"<Encrypt>{_cdata(envelope.encrypt)}</Encrypt>"
            f"<AgentID>{_cdata('')}</AgentID></xml>"
        )
        query = {
            "msg_signature": envelope.msg_signature or "",
            "timestamp": envelope.timestamp or "",
            "nonce": envelope.nonce or "",
        }
        return query, body

    async def deliver(self, xml: str, to: str | ASGIApp, *, path: str = "/") -> httpx.Response:
        """POST instruction *xml*, encrypted, to *to*; return the answer (read).

        *to* is a URL (POSTed to as is) or an ASGI app (called in process at *path*,
        its lifespan not run; an app that raises answers 500). Connection errors
        and timeouts (:attr:`callback_timeout`) raise httpx's exceptions.
        """
        import httpx

        query, body = self.seal(xml)
        headers = {"User-Agent": _USER_AGENT, "Content-Type": "text/xml; charset=utf-8"}
        if isinstance(to, str):
            client = httpx.AsyncClient(trust_env=False, timeout=self.callback_timeout)
            url = to
        elif callable(to):
            transport = httpx.ASGITransport(app=to, raise_app_exceptions=False)
            client = httpx.AsyncClient(
                transport=transport, base_url=_ASGI_BASE_URL, timeout=self.callback_timeout
            )
            url = path
        else:
            raise TypeError(f"to must be a URL or an ASGI app, not {type(to).__name__}")
        async with client:
            return await client.post(url, params=query, content=body.encode(), headers=headers)

    async def push_ticket_to(self, to: str | ASGIApp, *, path: str = "/") -> str:
        """Mint a ticket (:meth:`push_ticket`) and :meth:`deliver` it to *to*; return it."""
        ticket = self.push_ticket()
        await self.deliver(self.ticket_xml(ticket), to, path=path)
        return ticket

    async def push_tickets(
        self,
        to: str | ASGIApp,
        *,
        every: float = 600.0,
        count: int | None = None,
        path: str = "/",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> int:
        """Push a new ticket to *to* now and then every *every* seconds, as WeCom does
        (every 10 minutes, page 90628), *count* times (``None``: until cancelled).

        Run it as a task beside the app under test; *sleep* may be a test's fake.
        A push the app refuses is pushed again on the next round, as WeCom would.
        Returns how many pushes the app answered ``success``.
        """
        if not every > 0:
            raise ValueError(f"every must be positive, got {every!r}")
        answered = 0
        rounds = 0
        while count is None or rounds < count:
            if rounds:
                await sleep(every)
            rounds += 1
            ticket = self.push_ticket()
            response = await self.deliver(self.ticket_xml(ticket), to, path=path)
            answered += response.status_code == 200 and response.text == "success"
        return answered

    async def push_kf_callback(
        self, corp_id: str, open_kfid: str, to: str | ASGIApp, *, path: str = "/"
    ) -> CallbackPush:
        """POST corp *corp_id*'s ``kf_msg_or_event`` for *open_kfid* to the suite's data URL.

        The corp's simulator builds the callback (with a fresh ``Token`` that its
        ``sync_msg`` accepts), sealed with the suite's Token and key and
        ``receive_id = corp_id``; the outer ``ToUserName`` is *corp_id*. This sets
        the corp's callback target to *to* (so its ``auto_callback`` goes there too).
        Returns the corp simulator's record (also in its ``callbacks``).
        """
        sim = self.corp(corp_id)
        sim.set_callback(
            to,
            token=self.token,
            encoding_aes_key=self.encoding_aes_key,
            receive_id=corp_id,
            path=path,
        )
        return await sim.push_callback(open_kfid)


def _extra_info(open_kfids: Sequence[str]) -> str:
    if not open_kfids:
        return ""
    items = "".join(f"<OpenKfId>{_cdata(kfid)}</OpenKfId>" for kfid in open_kfids)
    return f"<ExtraInfo><AuthOpenKfIdList>{items}</AuthOpenKfIdList></ExtraInfo>"
