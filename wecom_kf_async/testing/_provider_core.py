"""The provider simulator's state: the suite, its tickets and tokens, the corps that installed it.

A service provider's third-party app ("suite") is installed in many corps. Each
corp here is a full :class:`~wecom_kf_async.testing.WeComSimulator` (its own
accounts, messages, customers), created with the corp's id. This module keeps
what WeCom keeps about the suite: the ``suite_ticket`` values pushed (page
90628), the ``suite_access_token`` values handed out (page 90600), the
single-use ``auth_code`` of each install and the corp's ``permanent_code``
(page 90603), and which corp minted which corp ``access_token`` (page 90605).
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, TypeAlias

import attrs

from .simulator import ApiError, SimulatorStats, WeComSimulator
from .simulator._types import ERRMSG, MORE_INFO
from .simulator._wire import dumps

__all__ = [
    "AUTH_CODE_TTL",
    "ERR_AUTH_CODE",
    "ERR_PERMANENT_CODE",
    "ERR_SUITE_ID",
    "ERR_SUITE_SECRET",
    "ERR_SUITE_TICKET",
    "ERR_SUITE_TOKEN",
    "ERR_SUITE_TOKEN_EXPIRED",
    "SIM_SUITE_AES_KEY",
    "SIM_SUITE_ID",
    "SIM_SUITE_SECRET",
    "SIM_SUITE_TOKEN",
    "TICKET_TTL",
    "AppKind",
    "Install",
]

SIM_SUITE_ID: Final = "wwsuite0123456789a"
"""Suite id the provider simulator accepts by default."""
SIM_SUITE_SECRET: Final = "sim-suite-secret-0123456789abcdef"  # noqa: S105 - a public test value
"""Suite secret the provider simulator accepts by default."""
SIM_SUITE_TOKEN: Final = "SuiteToken"  # noqa: S105 - a public test value
"""The suite's callback ``Token`` (signs instructions and data callbacks)."""
SIM_SUITE_AES_KEY: Final = "SuiteEncodingAesKey0123456789abcdefghijklmn"
"""The suite's callback ``EncodingAESKey`` (43 characters)."""

TICKET_TTL: Final = 1800.0
"""Seconds a ``suite_ticket`` stays accepted (page 90628: valid 30 minutes)."""
AUTH_CODE_TTL: Final = 600.0
"""Seconds an ``auth_code`` stays exchangeable (page 90642: valid 10 minutes)."""

# The suite's own errcodes. The names are those of WeCom's global errcode table as
# SDKs reproduce it (不合法的suiteid, ...); the endpoint pages do not say which code
# each failure answers, so every choice below is unverified unless said otherwise.
ERR_SUITE_ID: Final = 40083
"""Wrong ``suite_id`` (unverified: the table's 不合法的suiteid; the endpoint's page names none)."""
ERR_SUITE_SECRET: Final = 40080
"""Wrong ``suite_secret`` (unverified: the table's 不合法的suitesecret)."""
ERR_SUITE_TICKET: Final = 40085
"""Unknown or expired ``suite_ticket`` ("invalid suite_ticket")."""
ERR_SUITE_TOKEN: Final = 40082
"""Unknown ``suite_access_token`` (WeCom's errmsg: "invalid suite_acccess_token ...")."""
ERR_SUITE_TOKEN_EXPIRED: Final = 42009
"""Expired ``suite_access_token`` (the table's suitetoken过期)."""
# errcode unverified: seen in WeCom's community answers (and the table's 不合法的临时授权码),
# not on get_permanent_code's page.
ERR_AUTH_CODE: Final = 40078
"""Used, unknown or expired ``auth_code``."""
# errcode unverified: no official page names the code for a cancelled authorisation
# (40084 is the table's 不合法的永久授权码).
ERR_PERMANENT_CODE: Final = 40084
"""Wrong or revoked ``permanent_code`` (or a corp the suite is not installed in)."""

_ERRMSG: Final[Mapping[int, str]] = {
    **ERRMSG,
    ERR_AUTH_CODE: "invalid auth_code",
    ERR_SUITE_SECRET: "invalid suite_secret",
    ERR_SUITE_TOKEN: "invalid suite_access_token",
    ERR_SUITE_ID: "invalid suite_id",
    ERR_PERMANENT_CODE: "invalid permanent_code",
    ERR_SUITE_TICKET: "invalid suite_ticket",
    ERR_SUITE_TOKEN_EXPIRED: "suite_access_token expired",
}

AppKind: TypeAlias = Literal["third_party", "agency"]
"""What the suite is: a third-party app (第三方应用) or an agency-built app (代开发应用)."""


@attrs.frozen
class Install:
    """One corp that installed the suite: what the ``create_auth`` instruction tells.

    The repr hides ``auth_code`` (a credential, if short-lived).
    """

    #: The corp's id (``AuthCorpId``).
    corp_id: str
    #: The single-use temporary authorisation code (10 minutes), for ``get_permanent_code``.
    auth_code: str = attrs.field(repr=False)
    #: The corp's own simulator: its KF accounts, messages and customers.
    sim: WeComSimulator = attrs.field(repr=False, eq=False)


@attrs.define(eq=False)
class _Corp:
    name: str
    sim: WeComSimulator
    permanent_code: str
    installed: bool = True


class ProviderCore:
    """State of :class:`~wecom_kf_async.testing.ProviderSimulator` (see there)."""

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
        if app_kind not in ("third_party", "agency"):
            raise ValueError(f"app_kind must be 'third_party' or 'agency', got {app_kind!r}")
        if token_ttl <= 0:
            raise ValueError("token_ttl must be positive")
        self.suite_id = suite_id
        """The suite's id (``SuiteId``; the ``receive_id`` of instructions)."""
        self._suite_secret = suite_secret
        self.token = token
        """The suite's callback ``Token``."""
        self.encoding_aes_key = encoding_aes_key
        """The suite's callback ``EncodingAESKey``."""
        self.clock = clock
        """Source of the current time in seconds (shared with every corp's simulator)."""
        self.app_kind: AppKind = app_kind
        """What customers' profiles leave out: ``"third_party"`` (no avatar, no unionid,
        gender 0) or ``"agency"`` (no avatar, gender 0)."""
        self._token_ttl = token_ttl
        self._seed = seed
        self._hint_rng = random.Random(f"{seed}:provider-hints")  # noqa: S311 - not security
        self._hint_seq = 0
        self._corps: dict[str, _Corp] = {}
        self._auth_codes: dict[str, tuple[str, float]] = {}
        self._tickets: dict[str, float] = {}
        self._suite_tokens: dict[str, float] = {}
        self._current_suite_token: str | None = None
        self._token_corps: dict[str, str] = {}
        self.stats = SimulatorStats()
        """Calls per endpoint (path after ``/cgi-bin/``), forwarded calls included."""
        self.corp_token_calls: Counter[str] = Counter()
        """``get_corp_token`` calls per ``auth_corpid`` asked for (failed ones included)."""

    def __repr__(self) -> str:
        return f"<ProviderSimulator suite_id={self.suite_id!r} corps={list(self.corps)}>"

    # -------------------------------------------------------------------- corps

    @property
    def token_ttl(self) -> float:
        """Lifetime in seconds of new suite tokens and corp tokens (every corp follows)."""
        return self._token_ttl

    @token_ttl.setter
    def token_ttl(self, value: float) -> None:
        if value <= 0:
            raise ValueError("token_ttl must be positive")
        self._token_ttl = value
        for corp in self._corps.values():
            corp.sim.token_ttl = value

    @property
    def corps(self) -> tuple[str, ...]:
        """Ids of the corps the suite is installed in (uninstalled ones left out)."""
        return tuple(corp_id for corp_id, corp in self._corps.items() if corp.installed)

    @property
    def suite_token_calls(self) -> int:
        """``get_suite_token`` calls received (failed ones included)."""
        return self.stats.calls["service/get_suite_token"]

    def install(self, name: str | None = None) -> Install:
        """A new corp installs the suite: its simulator, an ``auth_code`` (10 minutes).

        Corp ids follow the order of installs (``wwcorp000001``, ...). The corp's
        ``permanent_code`` exists from here on; ``get_permanent_code`` reveals it.
        """
        number = len(self._corps) + 1
        corp_id = f"wwcorp{number:06d}"
        sim = WeComSimulator(
            corp_id,
            secrets.token_urlsafe(16),
            token_ttl=self._token_ttl,
            clock=self.clock,
            seed=self._seed * 1_000_003 + number,
            third_party=self.app_kind == "third_party",
        )
        self._corps[corp_id] = _Corp(name or f"Sim Corp {number}", sim, secrets.token_urlsafe(32))
        auth_code = secrets.token_urlsafe(48)
        self._auth_codes[auth_code] = (corp_id, self.clock() + AUTH_CODE_TTL)
        return Install(corp_id, auth_code, sim)

    def corp(self, corp_id: str) -> WeComSimulator:
        """The simulator of corp *corp_id* (an uninstalled corp's too); KeyError if none."""
        try:
            return self._corps[corp_id].sim
        except KeyError:
            raise KeyError(f"no corp {corp_id!r}; known: {', '.join(self._corps)}") from None

    def corp_name(self, corp_id: str) -> str:
        """The name of corp *corp_id* (``auth_corp_info.corp_name``)."""
        self.corp(corp_id)
        return self._corps[corp_id].name

    def permanent_code(self, corp_id: str) -> str:
        """The ``permanent_code`` of corp *corp_id* (revoked once it uninstalled)."""
        self.corp(corp_id)
        return self._corps[corp_id].permanent_code

    def uninstall(self, corp_id: str) -> None:
        """Corp *corp_id* cancels its authorisation (what ``cancel_auth`` tells).

        Its permanent code is revoked (``get_corp_token`` answers 40084), its access
        tokens are refused from now on (40014), its unused auth codes die.
        """
        self.corp(corp_id)
        corp = self._corps[corp_id]
        corp.installed = False
        corp.sim.rotate_token()
        for code in [code for code, (owner, _) in self._auth_codes.items() if owner == corp_id]:
            del self._auth_codes[code]

    # ------------------------------------------------------------------ tickets

    def push_ticket(self) -> str:
        """Mint a new ``suite_ticket`` (accepted for 30 minutes by ``clock``); return it.

        Every unexpired ticket stays accepted, as WeCom accepts the latest ones
        during their 30 minutes. Deliver it with :meth:`deliver` and :meth:`ticket_xml`,
        or use ``push_ticket_to``.
        """
        now = self.clock()
        for ticket in [ticket for ticket, expiry in self._tickets.items() if now >= expiry]:
            del self._tickets[ticket]
        ticket = secrets.token_urlsafe(48)
        self._tickets[ticket] = now + TICKET_TTL
        return ticket

    # ------------------------------------------------------------------- tokens

    def _suite_token_for(self, now: float) -> tuple[str, int]:
        token = self._current_suite_token
        if token is not None:
            expiry = self._suite_tokens.get(token, -math.inf)
            if now < expiry:
                return token, math.ceil(expiry - now)
        token = secrets.token_urlsafe(48)
        self._suite_tokens[token] = now + self._token_ttl
        self._current_suite_token = token
        return token, math.ceil(self._token_ttl)

    def expire_suite_tokens(self) -> None:
        """Mark every suite token as expired: they answer 42009 from here on."""
        for token in self._suite_tokens:
            self._suite_tokens[token] = -math.inf
        self._current_suite_token = None

    def _check_suite_token(self, token: str | None, now: float) -> None:
        if not token:
            # errcode unverified: WeCom's "access_token missing" is the closest code.
            raise ApiError(41001, "suite_access_token missing")
        expiry = self._suite_tokens.get(token)
        if expiry is None:
            raise ApiError(ERR_SUITE_TOKEN)
        if now >= expiry:
            raise ApiError(ERR_SUITE_TOKEN_EXPIRED)

    def _corp_token(self, corp_id: str, now: float) -> tuple[str, int]:
        """A corp access token, as the corp's ``gettoken`` would mint it, and its lifetime."""
        # issue_token() with the seconds left: the same token until it expires.
        token, expires_in = self._corps[corp_id].sim._token_for(now)
        self._token_corps[token] = corp_id
        return token, expires_in

    def _corp_of_token(self, token: str | None) -> _Corp:
        """The corp whose simulator minted *token*; 41001 / 40014 if none."""
        if not token:
            raise ApiError(41001)
        corp_id = self._token_corps.get(token)
        if corp_id is None:
            raise ApiError(40014)
        return self._corps[corp_id]

    # --------------------------------------------------------------------- misc

    def _digest(self, *parts: str) -> str:
        """A deterministic hex digest of *parts* under this simulator's seed."""
        material = "\x00".join((str(self._seed), self.suite_id, *parts))
        return hashlib.sha256(material.encode()).hexdigest()

    def _error_body(self, errcode: int, detail: str | None, now: float, client_ip: str) -> bytes:
        """The error answer, in WeComSimulator's format (errmsg with hint and more info)."""
        self.stats.errors[errcode] += 1
        self._hint_seq += 1
        hint = f"{int(now)}_{self._hint_seq}_{self._hint_rng.getrandbits(48):012x}"
        text = detail or _ERRMSG.get(errcode, "unknown error")
        errmsg = f"{text}, hint: [{hint}], from ip: {client_ip}, more info at {MORE_INFO}{errcode}"
        payload: dict[str, Any] = {"errcode": errcode, "errmsg": errmsg}
        return dumps(payload)
