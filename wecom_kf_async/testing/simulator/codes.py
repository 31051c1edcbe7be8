"""The simulator's ``send_msg_on_event`` codes: who gets one, how long it lives, what it takes.

The rules are the client's own table, :data:`wecom_kf_async.models.EVENT_CODE_RULES`
(page 96428), so the simulator and the client cannot disagree: a code of the enter
scene (``welcome_code``) and of the end scene live 20 seconds and take a text or a
menu; a queue code and a pick-up code live 48 hours and take a text. Except for a
welcome, a code is good only while the session is still in the state it came from.
A ``welcome_code`` comes only when the customer received no welcome message in the
past 48 hours and has not written to the account in that time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from ...models.event_codes import (
    EVENT_CODE_RULES,
    EventCodeScene,
    scene_of_change,
    scene_of_transfer,
)
from ._msgcodes import (
    ERR_EVENT_CODE_INVALID,
    ERR_MSGTYPE,
    ERR_STATE_FORBIDS_SEND,
    WELCOME_WINDOW,
    EventCode,
)
from ._types import ApiError, Call, Route
from .sessions import SessionsMixin

__all__ = ["EventCodesMixin"]


class EventCodesMixin(SessionsMixin):
    """Keeps the codes ``send_msg_on_event`` accepts, and applies page 96428's rules."""

    ROUTES: ClassVar[Mapping[str, Route]] = {}

    def _setup(self) -> None:
        super()._setup()
        self._event_codes: dict[str, EventCode] = {}
        self._welcomed_at: dict[tuple[str, str], float] = {}

    def event_code(self, code: str) -> EventCode | None:
        """The ``welcome_code`` or ``msg_code`` *code* as the simulator knows it, or None."""
        return self._event_codes.get(code)

    def may_welcome(self, open_kfid: str, external_userid: str) -> bool:
        """Whether entering now would hand the customer a ``welcome_code`` (page 96428).

        Not if a welcome message went out to them from this account within 48 hours,
        nor if they wrote to it within 48 hours.
        """
        now = self.clock()
        welcomed = self._welcomed_at.get((open_kfid, external_userid))
        if welcomed is not None and now - welcomed < WELCOME_WINDOW:
            return False
        session = self.corp.sessions.get((open_kfid, external_userid))
        wrote = None if session is None else session.last_customer_msg_at
        return wrote is None or now - wrote >= WELCOME_WINDOW

    def _register_code(
        self, code: str, scene: EventCodeScene, open_kfid: str, external_userid: str
    ) -> None:
        rule = EVENT_CODE_RULES[scene]
        self._event_codes[code] = EventCode(
            code,
            "welcome" if scene is EventCodeScene.ENTER_SESSION else "msg",
            open_kfid,
            external_userid,
            self.clock() + rule.lifetime,
            scene=scene,
            state=None if rule.state is None else int(rule.state),
        )

    def _register_event_codes(
        self, event: Mapping[str, Any], open_kfid: str, external_userid: str
    ) -> None:
        """Register the code an ``enter_session`` or ``session_status_change`` carries."""
        event_type = event.get("event_type")
        code = event.get("welcome_code" if event_type == "enter_session" else "msg_code")
        if not isinstance(code, str) or not code:
            return
        if event_type == "enter_session":
            self._register_code(code, EventCodeScene.ENTER_SESSION, open_kfid, external_userid)
        elif event_type == "session_status_change":
            scene = scene_of_change(event.get("change_type"))
            if scene is not None:
                self._register_code(code, scene, open_kfid, external_userid)

    def _live_code(self, code: object, now: float) -> EventCode:
        """The entry of *code* if it is known, unused and not expired; else 41050."""
        entry = self._event_codes.get(code) if isinstance(code, str) else None
        if entry is None:
            raise ApiError(ERR_EVENT_CODE_INVALID, "invalid code (unknown)")
        if entry.used:
            raise ApiError(ERR_EVENT_CODE_INVALID, "invalid code (used already)")
        if now >= entry.expires_at:
            raise ApiError(ERR_EVENT_CODE_INVALID, f"invalid code ({entry.kind} code expired)")
        return entry

    def _use_code(self, entry: EventCode, msgtype: str, now: float) -> None:
        """Check that *entry*'s scene takes a *msgtype* message now; mark it used."""
        rule = None if entry.scene is None else EVENT_CODE_RULES[entry.scene]
        if rule is not None and msgtype not in rule.msgtypes:
            raise ApiError(ERR_MSGTYPE, f"invalid msgtype {msgtype!r} for this code")
        if entry.state is not None:
            session = self.corp.sessions.get((entry.open_kfid, entry.external_userid))
            state = 0 if session is None else session.state
            if state != entry.state:
                raise ApiError(
                    ERR_STATE_FORBIDS_SEND,
                    f"session state {state} is not the state {entry.state} of this code",
                )
        entry.used = True
        if entry.scene is EventCodeScene.ENTER_SESSION:
            self._welcomed_at[(entry.open_kfid, entry.external_userid)] = now

    def _service_state_trans(self, call: Call) -> dict[str, Any]:
        answer = super()._service_state_trans(call)
        code = answer.get("msg_code")
        request = call.json()
        scene = scene_of_transfer(request.get("service_state"))
        if isinstance(code, str) and scene is not None:
            session = self.corp.sessions[(request["open_kfid"], request["external_userid"])]
            self._register_code(code, scene, session.open_kfid, session.external_userid)
        return answer
