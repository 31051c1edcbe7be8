"""``kf/send_msg`` and ``kf/send_msg_on_event``: the send rules, msgid uniqueness, a record.

``send_msg`` answers only a session in state 0 or 1, at most 5 times since the
customer last wrote and within 48 hours of it. A ``msgid`` may be used once per
account (across both endpoints): a repeat answers :data:`ERR_MSGID_DUPLICATE`
before any other rule is looked at, so a retry after a lost answer is recognised.
What was accepted is appended to ``sim.sent``; nothing goes into the message log
(``sync_msg`` never returns what the app sent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ._bodies import ON_EVENT_MSGTYPES, SENDABLE_MSGTYPES, check_body
from ._msgcodes import (
    ERR_EVENT_CODE_INVALID,
    ERR_MSGID_DUPLICATE,
    ERR_SEND_COUNT_LIMIT,
    ERR_SEND_TIME_LIMIT,
    ERR_SESSION_ENDED,
    ERR_STATE_FORBIDS_SEND,
)
from ._state import SimSent
from ._types import ApiError, Call, Route
from .accounts import find_account
from .messages import MessagesMixin

__all__ = [
    "MSGID_BYTES",
    "SENDS_PER_WINDOW",
    "SEND_MSG",
    "SEND_MSG_ON_EVENT",
    "SEND_WINDOW_SECONDS",
    "SendMixin",
]

SEND_MSG: Final = "kf/send_msg"
"""Endpoint name of the message send."""

SEND_MSG_ON_EVENT: Final = "kf/send_msg_on_event"
"""Endpoint name of the answer to an event code."""

SEND_WINDOW_SECONDS: Final = 48 * 3600.0
"""How long after the customer's last message ``send_msg`` may answer."""

SENDS_PER_WINDOW: Final = 5
"""How many messages ``send_msg`` may send since the customer's last message."""

MSGID_BYTES: Final = 32
"""Longest ``msgid``; its characters are ``[0-9a-zA-Z_-]``."""

_MSGID = re.compile(r"[0-9a-zA-Z_-]+")
_ENDED = 4
_MAY_SEND = (0, 1)


class SendMixin(MessagesMixin):
    """Serves ``kf/send_msg`` and ``kf/send_msg_on_event`` and records them in ``sim.sent``.

    ``send_msg`` errcodes: 95000/95004 (account), 40058 (a malformed ``msgid``),
    :data:`ERR_MSGID_DUPLICATE` (a used one), 40096 (an unknown customer), the
    body's (:mod:`._bodies`), 95013 (session ended), 95018 (session queued or with
    a servicer), 95002 (the customer never wrote, or 48 hours ago or more), 95001
    (5 sent since). ``send_msg_on_event`` accepts each code once, under its scene's
    rule (:mod:`.codes`, page 96428): a ``welcome_code`` of :meth:`customer_enters`
    or an end code within 20 s, with a text or menu; a queue or pick-up code within
    48 h, with a text (a menu answers 40008), while the session is still in the
    state the code came from (else 95018). An unknown, used or expired code answers
    :data:`ERR_EVENT_CODE_INVALID`.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        SEND_MSG: Route("POST", "_send_msg"),
        SEND_MSG_ON_EVENT: Route("POST", "_send_msg_on_event"),
    }

    def _setup(self) -> None:
        super()._setup()
        self._send_seq = 0

    # ------------------------------------------------------------------ msgids

    def _checked_msgid(self, request: Mapping[str, Any], open_kfid: str) -> str | None:
        """The caller's msgid (None if absent), or 40058 / :data:`ERR_MSGID_DUPLICATE`."""
        msgid = request.get("msgid")
        if msgid is None or msgid == "":
            return None
        if (
            not isinstance(msgid, str)
            or len(msgid.encode()) > MSGID_BYTES
            or not _MSGID.fullmatch(msgid)
        ):
            raise ApiError(40058, f"msgid must be 1 to {MSGID_BYTES} characters of [0-9a-zA-Z_-]")
        if self._msgid_taken(open_kfid, msgid):
            raise ApiError(ERR_MSGID_DUPLICATE, f"msgid duplicate: {msgid}")
        return msgid

    def _new_msgid(self, open_kfid: str) -> str:
        while True:
            self._send_seq += 1
            msgid = f"simsent{self._send_seq:06d}{self._msg_rng.getrandbits(40):010x}"
            if not self._msgid_taken(open_kfid, msgid):
                return msgid

    # ------------------------------------------------------------------ handlers

    def _send_msg(self, call: Call) -> dict[str, Any]:
        request = call.json()
        account = find_account(self.corp, request.get("open_kfid"))
        open_kfid = account.open_kfid
        msgid = self._checked_msgid(request, open_kfid)
        touser = request.get("touser")
        if not isinstance(touser, str) or not touser or not self.is_known(touser):
            raise ApiError(40096, "invalid external userid")
        msgtype, body = check_body(request, SENDABLE_MSGTYPES, self.corp.media)
        session = self.corp.sessions.get((open_kfid, touser))
        state = 0 if session is None else session.state
        if state == _ENDED:
            raise ApiError(ERR_SESSION_ENDED, "conversation ended")
        if state not in _MAY_SEND:
            raise ApiError(ERR_STATE_FORBIDS_SEND, f"session state {state} does not allow sending")
        last = None if session is None else session.last_customer_msg_at
        if session is None or last is None or call.now - last >= SEND_WINDOW_SECONDS:
            raise ApiError(ERR_SEND_TIME_LIMIT, "the customer has not written within 48 hours")
        if session.sends_since_customer >= SENDS_PER_WINDOW:
            raise ApiError(ERR_SEND_COUNT_LIMIT, "5 messages sent since the customer last wrote")
        msgid = msgid or self._new_msgid(open_kfid)
        session.sends_since_customer += 1
        self._record_sent(SimSent(msgid, open_kfid, touser, msgtype, body, call.now, SEND_MSG))
        return {"msgid": msgid}

    def _send_msg_on_event(self, call: Call) -> dict[str, Any]:
        request = call.json()
        code = request.get("code")
        if not isinstance(code, str) or not code:
            raise ApiError(40058, "code must be a non-empty string")
        known = self.event_code(code)
        if known is None:
            raise ApiError(ERR_EVENT_CODE_INVALID, "invalid code (unknown)")
        msgid = self._checked_msgid(request, known.open_kfid)
        entry = self._live_code(code, call.now)
        msgtype, body = check_body(request, ON_EVENT_MSGTYPES, self.corp.media)
        self._use_code(entry, msgtype, call.now)
        msgid = msgid or self._new_msgid(entry.open_kfid)
        self._record_sent(
            SimSent(
                msgid,
                entry.open_kfid,
                entry.external_userid,
                msgtype,
                body,
                call.now,
                SEND_MSG_ON_EVENT,
                code=code,
            )
        )
        return {"msgid": msgid}
