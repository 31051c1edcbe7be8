"""A third-party app's suite: its token (from the newest ticket), and the corp tokens it gives.

The suite_access_token is a token like any other: a :class:`SuiteClient` holds it
with the same token manager as a corp's client (one refresh at a time, refreshed
ahead of expiry, a failure remembered for a second, shared through the same token
store, so a fleet on Redis fetches it once). Its requests carry it as
``suite_access_token``. A corp's token then comes from ``service/get_corp_token``
with the corp's permanent code (:class:`ThirdPartyCorp`, a token source).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import attrs

from .. import _checks
from .._client import KfClient
from .._endpoints import ENDPOINTS
from .._sansio import check_token_answer
from .._sources import UnauthedCall
from .._token import token_key
from .tickets import InMemorySuiteTicketStore, SuiteTicket, SuiteTicketStore, usable_ticket

__all__ = ["AuthorizedCorp", "Suite", "SuiteClient", "ThirdPartyCorp"]

GET_SUITE_TOKEN = ENDPOINTS["service/get_suite_token"]
GET_PERMANENT_CODE = ENDPOINTS["service/get_permanent_code"]
GET_CORP_TOKEN = ENDPOINTS["service/get_corp_token"]


def _suite_answer(answer: dict[str, Any]) -> tuple[str, float]:
    return check_token_answer(answer, field="suite_access_token", path=GET_SUITE_TOKEN.path)


def _corp_answer(answer: dict[str, Any]) -> tuple[str, float]:
    return check_token_answer(answer, path=GET_CORP_TOKEN.path)


class Suite:
    """A third-party app (第三方应用) or an agency-built app's template: the source of the
    suite_access_token (page 90600; page 97162 for a template).

    Args:
        suite_id: The app's suite id (``ww...``/``wx...``; a template's ``dk...``).
        suite_secret: Its secret. Never logged or shown.
        tickets: Where the pushed suite tickets are kept (default: in memory; a
            fleet shares a :class:`~wecom_kf_async.fleet.RedisSuiteTicketStore`).
        clock: Wall clock (epoch seconds), to tell an expired ticket.
    """

    __slots__ = ("__secret", "_clock", "suite_id", "tickets")

    def __init__(
        self,
        suite_id: str,
        suite_secret: str,
        *,
        tickets: SuiteTicketStore | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not isinstance(suite_id, str) or not suite_id:
            raise ValueError("suite_id must be a non-empty string")
        if not isinstance(suite_secret, str) or not suite_secret:
            raise ValueError("suite_secret must be a non-empty string")
        #: The suite's id.
        self.suite_id = _checks.text("suite_id", suite_id)
        self.__secret = _checks.text("suite_secret", suite_secret)
        #: Where its tickets are kept.
        self.tickets: SuiteTicketStore = tickets or InMemorySuiteTicketStore()
        self._clock = clock

    def __repr__(self) -> str:
        return f"Suite(suite_id={self.suite_id!r})"

    @property
    def corp_id(self) -> str:
        """The suite's id (whose token this source fetches)."""
        return self.suite_id

    @property
    def cache_key(self) -> str:
        """``suite:<suite_id>:<hash>``: the suite token's key in a token store."""
        return f"suite:{token_key(self.suite_id, self.__secret)}"

    async def receive_ticket(self, value: str, timestamp: int) -> bool:
        """Keep a pushed ticket (the newest wins); return whether it was kept."""
        ticket = SuiteTicket(value=value, timestamp=timestamp, received_at=self._clock())
        return await self.tickets.put(self.suite_id, ticket)

    async def fetch(self, call: UnauthedCall) -> tuple[str, float]:
        """``service/get_suite_token`` with the newest valid ticket.

        Raises :class:`~wecom_kf_async.providers.SuiteTicketMissingError`, before any
        request, when no ticket has arrived or the newest has expired.
        """
        ticket = usable_ticket(self.suite_id, await self.tickets.get(self.suite_id), self._clock)
        body = {
            "suite_id": self.suite_id,
            "suite_secret": self.__secret,
            "suite_ticket": ticket.value,
        }
        return _suite_answer(await call(GET_SUITE_TOKEN, {}, body, _suite_answer))


@attrs.frozen(kw_only=True)
class AuthorizedCorp:
    """A corp that installed the app: what ``service/get_permanent_code`` answered.

    Keep :attr:`permanent_code` where the fleet can read it (it is the corp's
    credential for as long as the app stays installed); the repr never shows it.
    """

    corp_id: str
    corp_name: str
    permanent_code: str = attrs.field(repr=False)
    #: The whole answer, less the permanent code and the access token.
    raw: Mapping[str, Any] = attrs.field(repr=False, factory=dict)


class SuiteClient(KfClient):
    """The client of the suite itself: its requests carry the ``suite_access_token``.

    Made by :class:`~wecom_kf_async.providers.KfProvider`; shares its HTTP pool.
    """

    _TOKEN_PARAM = "suite_access_token"  # noqa: S105 - a parameter's name

    @property
    def suite(self) -> Suite:
        """The suite whose token this client holds."""
        source = self._pipeline.source
        if not isinstance(source, Suite):  # pragma: no cover - made only with a Suite
            raise TypeError("a SuiteClient's token source is its Suite")
        return source

    async def permanent_code(self, auth_code: str) -> AuthorizedCorp:
        """Exchange an install's single-use ``auth_code`` (page 90603)."""
        code = _checks.text("auth_code", auth_code, max_bytes=512)
        answer = await self._pipeline.call(GET_PERMANENT_CODE, {"auth_code": code})
        permanent = answer.get("permanent_code")
        info = answer.get("auth_corp_info")
        if not isinstance(permanent, str) or not permanent or not isinstance(info, Mapping):
            raise _bad_answer("without a permanent_code and auth_corp_info")
        corp_id = info.get("corpid")
        if not isinstance(corp_id, str) or not corp_id:
            raise _bad_answer("without auth_corp_info.corpid")
        kept = {k: v for k, v in answer.items() if k not in ("permanent_code", "access_token")}
        return AuthorizedCorp(
            corp_id=corp_id,
            corp_name=str(info.get("corp_name", "")),
            permanent_code=permanent,
            raw=kept,
        )

    async def corp_token(self, corp_id: str, permanent_code: str) -> tuple[str, float]:
        """A corp's access token (page 90605: ``errcode`` only on failure)."""
        body = {"auth_corpid": corp_id, "permanent_code": permanent_code}
        return _corp_answer(await self._pipeline.call(GET_CORP_TOKEN, body, check=_corp_answer))


def _bad_answer(what: str) -> Exception:
    from .._errors import InvalidResponseError

    return InvalidResponseError(
        f"{GET_PERMANENT_CODE.path} answered {what}",
        path=GET_PERMANENT_CODE.path,
        reason="bad answer",
    )


class ThirdPartyCorp:
    """The token source of a corp that installed a third-party app: its access token
    comes from the suite (``service/get_corp_token``), whose own token comes from the
    newest suite ticket."""

    __slots__ = ("__code", "_corp_id", "_suite")

    def __init__(self, suite: SuiteClient, corp_id: str, permanent_code: str) -> None:
        self._suite = suite
        self._corp_id = _checks.text("corp_id", corp_id)
        self.__code = _checks.text("permanent_code", permanent_code, max_bytes=512)

    def __repr__(self) -> str:
        return f"ThirdPartyCorp(suite_id={self._suite.suite.suite_id!r}, corp_id={self._corp_id!r})"

    @property
    def corp_id(self) -> str:
        """The authorised corp."""
        return self._corp_id

    @property
    def cache_key(self) -> str:
        """``<corp_id>:<hash of the suite, corp and permanent code>``."""
        return token_key(self._corp_id, f"{self._suite.suite.suite_id}\x00{self.__code}")

    async def fetch(self, call: UnauthedCall) -> tuple[str, float]:
        """Through the suite's client (its retries, and its token refreshed when refused)."""
        return await self._suite.corp_token(self._corp_id, self.__code)
