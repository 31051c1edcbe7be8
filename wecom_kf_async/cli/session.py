"""``wecom-kf session``: a customer's session (get, transfer)."""

from __future__ import annotations

import argparse
from typing import Any

from .._client import KfClient
from ..models import ServiceState, SessionState
from ..resources.sessions import check_transfer
from ._common import Commands, UsageError, add_client_options, emit

__all__ = ["parse_state", "register"]

_COLUMNS = ("open_kfid", "external_userid", "service_state", "state", "servicer_userid")
_STATE_NAMES = ", ".join(f"{s.value} {s.name.lower()}" for s in ServiceState)


def parse_state(text: str) -> ServiceState:
    """A state given as its number (``3``) or its name (``servicer``, any case).

    Args:
        text: The command-line value.

    Returns:
        The :class:`~wecom_kf_async.ServiceState`.

    Raises:
        UsageError: Neither a state number nor a state name.
    """
    word = text.strip()
    try:
        if word.isdigit():
            return ServiceState(int(word))
        return ServiceState[word.upper()]
    except (KeyError, ValueError):
        raise UsageError(f"unknown state {text!r}; use one of: {_STATE_NAMES}") from None


def register(commands: Commands) -> None:
    """Add ``session`` to *commands*."""
    session = commands.add_parser(
        "session",
        help="read or move a customer's session (service_state)",
        description="Read where a customer's session with a KF account is, or move it "
        "to the queue, to a servicer, or end it.",
    )
    actions = session.add_subparsers(dest="action", required=True, metavar="ACTION")

    get = actions.add_parser(
        "get",
        help="print the session's state",
        description="Print the session's state (service_state/get) as one row: "
        "service_state, its name, and servicer_userid in state 3.",
    )
    get.add_argument("open_kfid", metavar="OPEN_KFID", help="the KF account")
    get.add_argument("external_userid", metavar="EXTERNAL_USERID", help="the customer")
    add_client_options(get)
    get.set_defaults(run=_get)

    transfer = actions.add_parser(
        "transfer",
        help="move the session (queue, servicer, end)",
        description="Move the session (service_state/trans) and print the msg_code "
        "WeCom gives back. Never retried after a lost answer: on 'outcome unknown', "
        "run 'session get' to see whether it moved. States: " + _STATE_NAMES + ".",
    )
    transfer.add_argument("open_kfid", metavar="OPEN_KFID", help="the KF account")
    transfer.add_argument("external_userid", metavar="EXTERNAL_USERID", help="the customer")
    transfer.add_argument(
        "state",
        metavar="STATE",
        help="the target state, as a number or a name (2 queued, 3 servicer, 4 ended)",
    )
    transfer.add_argument(
        "--servicer",
        metavar="USERID",
        default=None,
        help="the servicer who takes the session; required for state 3 (default: none)",
    )
    transfer.add_argument(
        "--check-state",
        action="store_true",
        help="read the state first and refuse a move the state machine forbids "
        "(one more call; default: off, WeCom judges the move)",
    )
    add_client_options(transfer)
    transfer.set_defaults(run=_transfer, check=_check_transfer)


def _row(open_kfid: str, external_userid: str, state: SessionState) -> dict[str, Any]:
    code = state.state
    return {
        "open_kfid": open_kfid,
        "external_userid": external_userid,
        "service_state": int(code),
        "state": code.name.lower() if isinstance(code, ServiceState) else None,
        "servicer_userid": state.servicer_userid,
    }


def _check_transfer(args: argparse.Namespace) -> None:
    """Check STATE and --servicer before any client is made (bad input exits 2)."""
    args.target = parse_state(args.state)
    try:
        check_transfer(args.target, args.servicer)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc).replace("servicer_userid", "--servicer")) from None


async def _get(args: argparse.Namespace, kf: KfClient) -> int:
    state = await kf.sessions.get_state(args.open_kfid, args.external_userid)
    emit([_row(args.open_kfid, args.external_userid, state)], args.format, _COLUMNS)
    return 0


async def _transfer(args: argparse.Namespace, kf: KfClient) -> int:
    current = None
    if args.check_state:
        current = await kf.sessions.get_state(args.open_kfid, args.external_userid)
    msg_code = await kf.sessions.transfer(
        args.open_kfid,
        args.external_userid,
        args.target,
        servicer_userid=args.servicer,
        current=current,
    )
    row = {
        "open_kfid": args.open_kfid,
        "external_userid": args.external_userid,
        "service_state": int(args.target),
        "state": args.target.name.lower(),
        "servicer_userid": args.servicer,
        "msg_code": msg_code,
    }
    emit([row], args.format, (*_COLUMNS, "msg_code"))
    return 0
