"""The simulator's sessions and their state machine (``service_state/*``).

A session is kept per (open_kfid, external_userid) on the shared corp
(``sim.corp.sessions``). The moves ``service_state/trans`` allows come from the
client's own table, :data:`wecom_kf_async.models.ALLOWED_TRANSFERS`, so the
simulator and the client cannot disagree about the state machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ...models.sessions import ServiceState, transfer_allowed
from ._base import SimulatorBase
from ._state import SimAccount, SimSession
from ._types import ApiError, Call, Route
from .accounts import DEMO_ACCOUNT_NAME

__all__ = [
    "DEMO_CUSTOMER",
    "ERR_NOT_RECEIVING",
    "ERR_NOT_SERVICER",
    "ERR_TRANSFER_NOT_ALLOWED",
    "NO_MSG_CODE_MOVES",
    "SERVICE_STATE_GET",
    "SERVICE_STATE_TRANS",
    "SessionsMixin",
]

SERVICE_STATE_GET: Final = "kf/service_state/get"
"""Endpoint name of the session state lookup."""

SERVICE_STATE_TRANS: Final = "kf/service_state/trans"
"""Endpoint name of the session move."""

# Errcodes below come from the official global errcode page (90313) as a generated
# SDK table transcribes it (xen0n/go-workwx errcodes); not checked against the page.
ERR_TRANSFER_NOT_ALLOWED: Final = 95016
"""A move the state machine forbids (不允许这种状态转移; unverified)."""

ERR_NOT_SERVICER: Final = 95014
"""``servicer_userid`` is not a servicer of the account (用户不是接待人员; unverified)."""

ERR_NOT_RECEIVING: Final = 95019
"""The servicer stopped receiving or is suspended (接待人员已停止接待或暂时挂起; unverified)."""

NO_MSG_CODE_MOVES: Final = frozenset({(3, 3)})
"""(from, to) moves answered without a ``msg_code``. Page 96428 lists the scenes a
code comes in: the transfer API gives one on entering the queue (to 2), on a
servicer taking the session (to 3) and on ending it (to 4); a transfer from one
servicer to another (转接, 3 to 3) gives none. The codes' rules are in :mod:`.codes`."""

DEMO_CUSTOMER: Final = "wmsimdemocustomer0001"
"""The customer of the demo session :meth:`SessionsMixin.seed_demo` adds."""

_RECEIVING = 0


class SessionsMixin(SimulatorBase):
    """Serves sessions and their state machine (``service_state/*``).

    Seed and inspect with :meth:`session` (creates a state-0 session) and
    :meth:`set_session`. The account must exist in ``corp.accounts`` (95004
    otherwise) and the customer must be known (40096 otherwise; see
    :meth:`is_known`). ``service_state/trans`` answers a move
    :data:`~wecom_kf_async.models.ALLOWED_TRANSFERS` forbids with 95016, a
    ``servicer_userid`` that does not serve the account with 95014 and one who
    stopped receiving with 95019.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        SERVICE_STATE_GET: Route("POST", "_service_state_get"),
        SERVICE_STATE_TRANS: Route("POST", "_service_state_trans"),
    }

    def _setup(self) -> None:
        super()._setup()
        self._msg_code_seq = 0

    # The customers mixin answers these; declared for the type checker.
    def is_known(self, external_userid: str) -> bool:
        """Tell whether ``external_userid`` is a customer within its 48-hour window."""
        raise NotImplementedError

    def add_customer(self, external_userid: str, **fields: Any) -> None:
        """Make ``external_userid`` a known customer (see the customers mixin)."""
        raise NotImplementedError

    # ------------------------------------------------------------- seeding, reading

    def session(self, open_kfid: str, external_userid: str) -> SimSession:
        """Return the session of a customer with an account, creating it in state 0.

        Tests may set its ``state`` and ``servicer_userid`` directly. A customer that
        is not known yet becomes known (a customer with a session within 48 hours
        resolves in ``customer/batchget`` too). The account is not checked here:
        the endpoints answer 95004 for an account missing from ``corp.accounts``.
        """
        key = (open_kfid, external_userid)
        found = self.corp.sessions.get(key)
        if found is None:
            found = self.corp.sessions[key] = SimSession(open_kfid, external_userid)
        if not self.is_known(external_userid):
            self.add_customer(external_userid)
        return found

    def set_session(
        self,
        open_kfid: str,
        external_userid: str,
        state: int,
        servicer_userid: str | None = None,
    ) -> SimSession:
        """Put a session in ``state`` (with its servicer, for state 3) and return it.

        No state-machine check: this is seeding, not a move.
        """
        found = self.session(open_kfid, external_userid)
        found.state = int(state)
        found.servicer_userid = servicer_userid
        return found

    def seed_demo(self) -> None:
        """Add a demo session in state 1 (bot) on the demo account, if there is one.

        The demo account is the one named ``DEMO_ACCOUNT_NAME`` ("Demo support"),
        else the first account.
        Calling it again adds nothing: whichever mixin runs it after the accounts
        are seeded makes the session.
        """
        super().seed_demo()
        self._seed_demo_session()

    def _seed_demo_session(self) -> SimSession | None:
        account = _demo_account(self.corp.accounts)
        if account is None:
            return None
        key = (account.open_kfid, DEMO_CUSTOMER)
        if key in self.corp.sessions:
            return self.corp.sessions[key]
        return self.set_session(account.open_kfid, DEMO_CUSTOMER, ServiceState.BOT)

    # -------------------------------------------------------------------- checks

    def _session_account(self, request: Mapping[str, Any]) -> SimAccount:
        """The account ``open_kfid`` names: 95000 for a bad id, 95004 for an unknown one."""
        open_kfid = request.get("open_kfid")
        if not isinstance(open_kfid, str) or not open_kfid or len(open_kfid.encode()) > 64:
            raise ApiError(95000)
        account = self.corp.accounts.get(open_kfid)
        if account is None:
            raise ApiError(95004)
        return account

    def _session_customer(self, request: Mapping[str, Any]) -> str:
        """The customer ``external_userid`` names: 40096 unless known."""
        external_userid = request.get("external_userid")
        if not isinstance(external_userid, str) or not self.is_known(external_userid):
            raise ApiError(40096)
        return external_userid

    def _next_msg_code(self) -> str:
        self._msg_code_seq += 1
        return f"MSGCODE_sim_{self._msg_code_seq:06d}"

    # ------------------------------------------------------------------ handlers

    def _service_state_get(self, call: Call) -> dict[str, Any]:
        request = call.json()
        account = self._session_account(request)
        external_userid = self._session_customer(request)
        found = self.corp.sessions.get((account.open_kfid, external_userid))
        if found is None:
            return {"service_state": int(ServiceState.NEW)}
        answer: dict[str, Any] = {"service_state": found.state}
        if found.state == ServiceState.SERVICER and found.servicer_userid:
            answer["servicer_userid"] = found.servicer_userid
        return answer

    def _service_state_trans(self, call: Call) -> dict[str, Any]:
        request = call.json()
        account = self._session_account(request)
        external_userid = self._session_customer(request)
        target = request.get("service_state")
        if isinstance(target, bool) or not isinstance(target, int):
            raise ApiError(40058, "service_state must be an integer")
        current = self.corp.sessions.get((account.open_kfid, external_userid))
        state = ServiceState.NEW if current is None else current.state
        if not transfer_allowed(state, target):
            raise ApiError(ERR_TRANSFER_NOT_ALLOWED)
        servicer_userid = request.get("servicer_userid")
        if target == ServiceState.SERVICER:
            if not isinstance(servicer_userid, str) or not servicer_userid:
                raise ApiError(40058, "servicer_userid is required for service_state 3")
            servicer = account.servicers.get(servicer_userid)
            if servicer is None:
                raise ApiError(ERR_NOT_SERVICER)
            if servicer.status != _RECEIVING:
                raise ApiError(ERR_NOT_RECEIVING)
        else:
            servicer_userid = None
        found = self.session(account.open_kfid, external_userid)
        found.state = target
        found.servicer_userid = servicer_userid
        if (state, target) in NO_MSG_CODE_MOVES:
            return {}
        code = self._next_msg_code()
        found.msg_codes.append(code)
        return {"msg_code": code}


def _demo_account(accounts: Mapping[str, SimAccount]) -> SimAccount | None:
    for account in accounts.values():
        if account.name == DEMO_ACCOUNT_NAME:
            return account
    return next(iter(accounts.values()), None)
