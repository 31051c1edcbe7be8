"""Where a corp's access token comes from: one small protocol, and the apps that fetch by gettoken.

The pipeline asks its :class:`TokenSource` for a token and neither knows nor cares
how it is had: a self-built app and an agency-built app call ``gettoken`` with the
corp id and the app's secret; a third-party app's corp token comes through the
suite's token (:class:`wecom_kf_async.providers.ThirdPartyCorp`). The token
manager around a source (single flight, skew, failure memory, shared store) is the
same for every kind.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from . import _checks
from ._endpoints import ENDPOINTS, Endpoint
from ._sansio import check_token_answer
from ._token import token_key

__all__ = ["AgencyApp", "SelfBuiltApp", "TokenSource", "UnauthedCall"]

GETTOKEN = ENDPOINTS["gettoken"]

#: How a source sends a request that carries no access token of the client's own:
#: ``call(endpoint, params, body, check)`` with the client's retries, budget and
#: instrumentation; *check* looks at each answer inside the retry loop.
UnauthedCall = Callable[
    [Endpoint, Mapping[str, str], Mapping[str, Any] | None, Callable[[dict[str, Any]], Any]],
    Awaitable[dict[str, Any]],
]


@runtime_checkable
class TokenSource(Protocol):
    """Fetches a fresh token for one corp: ``(token, seconds it lives)``."""

    @property
    def corp_id(self) -> str:
        """The corp the token is for."""

    @property
    def cache_key(self) -> str:
        """The token's key in a token store: the same for every process that shares
        the token, and no secret in clear."""

    async def fetch(self, call: UnauthedCall) -> tuple[str, float]:
        """Ask WeCom for a new token (through *call*, or a client of its own)."""


class SelfBuiltApp:
    """A corp's self-built app (自建应用): ``gettoken`` with the corp id and its secret."""

    __slots__ = ("__secret", "_corp_id")

    def __init__(self, corp_id: str, secret: str) -> None:
        self._corp_id = _checks.text("corp_id", corp_id)
        self.__secret = _checks.text("secret", secret)

    @property
    def corp_id(self) -> str:
        """The corp the token is for."""
        return self._corp_id

    @property
    def cache_key(self) -> str:
        """``<corp_id>:<hash of corp id and secret>``."""
        return token_key(self._corp_id, self.__secret)

    async def fetch(self, call: UnauthedCall) -> tuple[str, float]:
        """``gettoken`` (page 91039)."""
        params = {"corpid": self._corp_id, "corpsecret": self.__secret}
        answer = await call(GETTOKEN, params, None, check_token_answer)
        return check_token_answer(answer)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(corp_id={self._corp_id!r})"


class AgencyApp(SelfBuiltApp):
    """An agency-built app (代开发自建应用) a provider runs in a corp.

    Its token comes from ``gettoken`` with the corp id and the secret WeCom gave the
    provider for that corp's app (see "代开发授权应用secret的获取", next to page 97162); from there
    on it is used like a self-built app's. What the app sees differs: see
    :class:`~wecom_kf_async.providers.AppKind`.
    """

    __slots__ = ()
