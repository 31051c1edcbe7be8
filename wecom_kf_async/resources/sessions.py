"""``service_state/*`` endpoints: where a session is, and moving it (``kf.sessions``)."""

from __future__ import annotations

from .. import _checks
from .._endpoints import ENDPOINTS
from ..models import (
    ALLOWED_TRANSFERS,
    EventCode,
    ServiceState,
    SessionState,
    TransferAnswer,
    structure,
    transfer_allowed,
)
from ..models.event_codes import scene_of_transfer
from ._base import Resource

__all__ = ["SessionsAPI", "check_transfer"]

SERVICE_STATE_GET = ENDPOINTS["kf/service_state/get"]
SERVICE_STATE_TRANS = ENDPOINTS["kf/service_state/trans"]


def _name(state: ServiceState | int) -> str:
    return f"{state.name} ({state.value})" if isinstance(state, ServiceState) else str(state)


def _current_state(current: object) -> ServiceState | int:
    """The state *current* names (a :class:`SessionState` or a state code)."""
    if isinstance(current, SessionState):
        return current.state
    if isinstance(current, ServiceState):
        return current
    if isinstance(current, bool) or not isinstance(current, int):
        raise TypeError(
            f"current must be a ServiceState or a SessionState, got {type(current).__name__}"
        )
    try:
        return ServiceState(current)
    except ValueError:
        return current  # a code the table does not know: only WeCom can judge


def check_transfer(
    service_state: object,
    servicer_userid: object = None,
    current: object = None,
) -> tuple[ServiceState, str | None]:
    """Check the arguments of :meth:`SessionsAPI.transfer` (pure, no I/O).

    Args:
        service_state: The target state.
        servicer_userid: The servicer, for the target :attr:`ServiceState.SERVICER`.
        current: The session's state now, if the caller knows it.

    Returns:
        The target as a :class:`ServiceState`, and the checked ``servicer_userid``.

    Raises:
        TypeError: An argument of the wrong type.
        ValueError: A target outside :class:`ServiceState`; SERVICER without
            ``servicer_userid`` or ``servicer_userid`` with another target; a move
            :data:`~wecom_kf_async.models.ALLOWED_TRANSFERS` forbids from ``current``.
    """
    target = _checks.choice("service_state", service_state, ServiceState)
    servicer: str | None = None
    if target is ServiceState.SERVICER:
        if servicer_userid is None:
            raise ValueError(
                "servicer_userid is required to move a session to SERVICER (3): "
                "name the servicer who takes it"
            )
        servicer = _checks.userid(servicer_userid, "servicer_userid")
    elif servicer_userid is not None:
        raise ValueError(
            f"servicer_userid is only for the target SERVICER (3), not {_name(target)}"
        )
    if current is not None:
        state = _current_state(current)
        if transfer_allowed(state, target) is False:
            allowed = sorted(ALLOWED_TRANSFERS[ServiceState(state)])
            where = ", ".join(_name(s) for s in allowed) or "nowhere (wait for the customer)"
            raise ValueError(
                f"service_state: a session in state {_name(state)} may not move to "
                f"{_name(target)}; from there it may move to {where}"
            )
    return target, servicer


class SessionsAPI(Resource):
    """The ``service_state/*`` endpoints: where a session is, and moving it (``kf.sessions``).

    A session is one customer's conversation with one KF account; it lives 48 hours
    from the customer's first message. Its states and the moves the API may make
    are :class:`~wecom_kf_async.ServiceState` and
    :data:`~wecom_kf_async.models.ALLOWED_TRANSFERS`.
    """

    async def get_state(self, open_kfid: str, external_userid: str) -> SessionState:
        """Read where a customer's session with a KF account is.

        Args:
            open_kfid: The KF account.
            external_userid: The customer.

        Returns:
            The :class:`~wecom_kf_async.SessionState`: ``state`` (a
            :class:`~wecom_kf_async.ServiceState`, or a plain int for a code WeCom
            has not documented) and ``servicer_userid`` (in state SERVICER only).

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: An id that cannot be valid (nothing is sent).
            KfStateError: 95000/95004, a bad or unknown ``open_kfid``.
            InvalidRequestError: 40096, a customer WeCom does not know (no session
                within 48 hours).
            KfError: Any other failure, after the retries a read gets.
        """
        body = {
            "open_kfid": _checks.open_kfid(open_kfid),
            "external_userid": _checks.external_userid(external_userid),
        }
        return await self._get(SERVICE_STATE_GET, SessionState, body)

    async def transfer(
        self,
        open_kfid: str,
        external_userid: str,
        service_state: ServiceState | int,
        *,
        servicer_userid: str | None = None,
        current: ServiceState | SessionState | None = None,
    ) -> EventCode | None:
        """Move a session: to the queue, to a servicer, or end it.

        Pass ``current`` (what :meth:`get_state` answered, or a state) to have a move
        the state machine forbids refused here, with no request::

            state = await kf.sessions.get_state(open_kfid, external_userid)
            await kf.sessions.transfer(
                open_kfid, external_userid, ServiceState.ENDED, current=state
            )

        Nothing is cached: without ``current`` the move is sent and WeCom judges it
        (95016). A state may have changed since it was read; WeCom has the last word.

        The call is never retried after a failure that may have reached WeCom (a
        second move could do it twice): it raises
        :class:`~wecom_kf_async.OutcomeUnknownError`; read the state with
        :meth:`get_state` to learn whether the move happened.

        Args:
            open_kfid: The KF account.
            external_userid: The customer.
            service_state: The target state (QUEUED, SERVICER or ENDED).
            servicer_userid: The servicer who takes the session; required for
                SERVICER and refused with any other target. The servicer must serve
                the account and be receiving.
            current: The session's state now, if known (a :class:`SessionState` or a
                :class:`ServiceState`); a code the table does not know is left to
                WeCom.

        Returns:
            ``msg_code`` as an :class:`~wecom_kf_async.EventCode` (a ``str`` that
            knows its scene), to answer with ``send_on_event``: a queue notice when
            the session first reaches QUEUED (text, 48 hours), a message when it
            first reaches SERVICER (text, 48 hours), a goodbye for ENDED (text or
            menu, 20 seconds); each only while the session stays in that state
            (page 96428). ``None`` when WeCom gives none: a move from one servicer
            to another hands out no code.

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: SERVICER without ``servicer_userid``, ``servicer_userid``
                with another target, or a move forbidden from ``current`` (nothing
                is sent).
            KfStateError: 95016, a move the state machine forbids; 95014, not a
                servicer of the account; 95019, a servicer who stopped receiving;
                95000/95004, a bad or unknown account.
            OutcomeUnknownError: The request may have reached WeCom and the answer
                was lost.
            KfError: Any other failure.
        """
        body: dict[str, object] = {
            "open_kfid": _checks.open_kfid(open_kfid),
            "external_userid": _checks.external_userid(external_userid),
        }
        target, servicer = check_transfer(service_state, servicer_userid, current)
        body["service_state"] = int(target)
        if servicer is not None:
            body["servicer_userid"] = servicer
        data = await self._call(SERVICE_STATE_TRANS, body)
        code = structure(data, TransferAnswer, path=SERVICE_STATE_TRANS.path).msg_code
        return None if code is None else EventCode(code, scene_of_transfer(target))
