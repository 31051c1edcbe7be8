"""Session states (``service_state/*``): the codes, the state machine, the model."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from ._converter import code_or_int, converter
from ._kf import withheld

__all__ = [
    "ALLOWED_TRANSFERS",
    "ServiceState",
    "SessionState",
    "TransferAnswer",
    "transfer_allowed",
]


class ServiceState(enum.IntEnum):
    """Where a customer's session with a KF account is (WeCom's ``service_state``)."""

    #: New, not handled yet (a customer message re-opens an ended session here).
    NEW = 0
    #: Handled by the API or a bot (the state in which ``send_msg`` may answer).
    BOT = 1
    #: Queued in the pool, waiting for a servicer.
    QUEUED = 2
    #: Handled by a human servicer (``servicer_userid``).
    SERVICER = 3
    #: Ended (or not started).
    ENDED = 4


_S = ServiceState

#: The state machine of ``service_state/trans`` (reference, section 3): for each
#: current state, the target states the API may move a session to. From NEW and
#: BOT to QUEUED or SERVICER; from QUEUED to SERVICER; from SERVICER to another
#: servicer or ENDED; nothing from ENDED. The client (``transfer(current=...)``)
#: and the simulator both read this one table.
ALLOWED_TRANSFERS: Mapping[ServiceState, frozenset[ServiceState]] = MappingProxyType(
    {
        _S.NEW: frozenset({_S.QUEUED, _S.SERVICER}),
        _S.BOT: frozenset({_S.QUEUED, _S.SERVICER}),
        _S.QUEUED: frozenset({_S.SERVICER}),
        _S.SERVICER: frozenset({_S.SERVICER, _S.ENDED}),
        _S.ENDED: frozenset(),
    }
)


def transfer_allowed(current: ServiceState | int, target: ServiceState | int) -> bool | None:
    """Whether :data:`ALLOWED_TRANSFERS` lets a session move from *current* to *target*.

    Args:
        current: The session's state now (a code WeCom may not have documented).
        target: The state to move it to.

    Returns:
        ``True`` or ``False``; ``None`` when *current* is a code the table does not
        know (only WeCom can tell then).
    """
    try:
        known = ServiceState(current)
    except ValueError:
        return None
    return target in ALLOWED_TRANSFERS[known]


@attrs.frozen
class SessionState:
    """A session's state, as ``service_state/get`` answers it.

    WeCom names the state ``service_state``; the model calls it :attr:`state`.

    Attributes:
        state: A :class:`ServiceState`, or a plain int for a code WeCom has not
            documented (kept, never refused).
        servicer_userid: The servicer handling the session; only in state
            :attr:`ServiceState.SERVICER` (``None`` otherwise, and when WeCom sends
            an empty string).
    """

    state: ServiceState | int
    servicer_userid: str | None = None


@attrs.frozen(kw_only=True)
class TransferAnswer:
    """What ``service_state/trans`` answers (besides errcode/errmsg).

    ``msg_code`` comes when the move first puts the session in QUEUED or SERVICER
    or ends it; a move from one servicer to another gets none. Its scene and rules
    are in :mod:`~wecom_kf_async.models.event_codes` (page 96428). An empty string
    is read as ``None``.
    """

    msg_code: str | None = attrs.field(default=None, repr=withheld)


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or value == "":
        return None
    if type(value) is not str:
        raise TypeError(f"{key}: expected a string, got {type(value).__name__}")
    return value


def _mapping(data: Any) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    return data


def _structure_session_state(data: Any, _: Any) -> SessionState:
    """The one place WeCom's ``service_state`` becomes the model's ``state``."""
    answer = _mapping(data)
    if "service_state" not in answer:
        raise TypeError("service_state is missing")
    return SessionState(
        state=code_or_int(ServiceState, answer["service_state"]),
        servicer_userid=_optional_str(answer, "servicer_userid"),
    )


def _structure_transfer_answer(data: Any, _: Any) -> TransferAnswer:
    return TransferAnswer(msg_code=_optional_str(_mapping(data), "msg_code"))


converter.register_structure_hook(SessionState, _structure_session_state)
converter.register_structure_hook(TransferAnswer, _structure_transfer_answer)
