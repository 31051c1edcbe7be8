"""The codes ``send_msg_on_event`` answers, and the rules of their scenes (page 96428).

WeCom hands out a code in four scenes only (page 96428, "发送欢迎语等事件响应消息"):

==================  ==========  ========  =============  ==================================
scene               lifetime    messages  msgtypes       given by
==================  ==========  ========  =============  ==================================
进入会话 (enter)     20 s        1         text, menu     ``enter_session`` (``welcome_code``)
进入接待池 (queue)   48 h        1         text           ``service_state/trans`` to 2
从接待池接入会话     48 h        1         text           ``session_status_change`` 1, trans to 3
结束会话 (end)       20 s        1         text, menu     ``session_status_change`` 3, trans to 4
==================  ==========  ========  =============  ==================================

A transfer from one servicer to another (转接) hands out none. Except for the
enter scene, the message is accepted only while the session is still in the state
the code came from (a queue code while the session is queued). The library refuses a
msgtype the scene does not take before any request, when it knows the scene: an
:class:`EventCode` carries it (``kf.sessions.transfer`` returns one, events have
``event_code``); a plain string does not.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final

import attrs

from .sessions import ServiceState

__all__ = [
    "EVENT_CODE_RULES",
    "EventCode",
    "EventCodeRule",
    "EventCodeScene",
    "scene_of_change",
    "scene_of_transfer",
]

#: The page the rules come from.
EVENT_CODE_PAGE: Final = 96428


class EventCodeScene(enum.Enum):
    """The scene a ``send_msg_on_event`` code was handed out in."""

    #: The customer entered the session (用户进入会话): a welcome message.
    ENTER_SESSION = "enter_session"
    #: The session went into the queue (进入接待池): a queueing notice.
    QUEUED = "queued"
    #: A servicer took the session from the queue (从接待池接入会话).
    FROM_POOL = "from_pool"
    #: The session ended (结束会话): a closing message or a satisfaction survey.
    ENDED = "ended"


@attrs.frozen
class EventCodeRule:
    """What a code of one scene allows (page 96428)."""

    #: The scene.
    scene: EventCodeScene
    #: Seconds the code may be used after it was handed out.
    lifetime: float
    #: The msgtypes its message may have.
    msgtypes: frozenset[str]
    #: The session state the message must still find (``None``: any, for a welcome).
    state: ServiceState | None
    #: The official page.
    doc_page: int = EVENT_CODE_PAGE


_TEXT: Final = frozenset({"text"})
_TEXT_OR_MENU: Final = frozenset({"text", "msgmenu"})
_S = EventCodeScene

#: The rule of each scene (read-only).
EVENT_CODE_RULES: Mapping[EventCodeScene, EventCodeRule] = MappingProxyType(
    {
        _S.ENTER_SESSION: EventCodeRule(_S.ENTER_SESSION, 20.0, _TEXT_OR_MENU, None),
        _S.QUEUED: EventCodeRule(_S.QUEUED, 48 * 3600.0, _TEXT, ServiceState.QUEUED),
        _S.FROM_POOL: EventCodeRule(_S.FROM_POOL, 48 * 3600.0, _TEXT, ServiceState.SERVICER),
        _S.ENDED: EventCodeRule(_S.ENDED, 20.0, _TEXT_OR_MENU, ServiceState.ENDED),
    }
)

#: The scene of the code a ``session_status_change`` carries, by ``change_type``: a
#: pick from the pool (1) and an end (3). A transfer (2) and a re-open (4) carry none.
_CHANGE_SCENES: Final[Mapping[int, EventCodeScene]] = MappingProxyType(
    {1: _S.FROM_POOL, 3: _S.ENDED}
)
#: The scene of the code ``service_state/trans`` answers, by target state. A first
#: move to 3 takes the session into a servicer's hands: of the page's four scenes,
#: only 从接待池接入会话 is one a transfer gives and that leaves the session in 3.
_TRANSFER_SCENES: Final[Mapping[int, EventCodeScene]] = MappingProxyType(
    {
        ServiceState.QUEUED: _S.QUEUED,
        ServiceState.SERVICER: _S.FROM_POOL,
        ServiceState.ENDED: _S.ENDED,
    }
)


def scene_of_change(change_type: object) -> EventCodeScene | None:
    """The scene of a ``session_status_change``'s code (``None``: not a documented one)."""
    return _CHANGE_SCENES.get(change_type) if isinstance(change_type, int) else None


def scene_of_transfer(target: object) -> EventCodeScene | None:
    """The scene of the code a move to *target* answers (``None``: not a documented one)."""
    return _TRANSFER_SCENES.get(target) if isinstance(target, int) else None


class EventCode(str):
    """A ``send_msg_on_event`` code that knows its scene: a ``str`` with :attr:`scene`.

    It compares, hashes and serialises as the plain code. ``scene`` is ``None`` for a
    code WeCom gave where page 96428 lists no scene (the library then refuses nothing).
    """

    scene: EventCodeScene | None

    def __new__(cls, code: str, scene: EventCodeScene | None) -> EventCode:
        if not isinstance(code, str):
            raise TypeError(f"code must be a str, got {type(code).__name__}")
        if scene is not None and not isinstance(scene, EventCodeScene):
            raise TypeError(f"scene must be an EventCodeScene or None, got {scene!r}")
        made = super().__new__(cls, code)
        made.scene = scene
        return made

    @property
    def rule(self) -> EventCodeRule | None:
        """The rule of its scene (``None`` when the scene is not known)."""
        return None if self.scene is None else EVENT_CODE_RULES[self.scene]

    def __getnewargs__(self) -> tuple[Any, ...]:
        return (str(self), self.scene)

    def __repr__(self) -> str:
        scene = "None" if self.scene is None else f"EventCodeScene.{self.scene.name}"
        return f"EventCode({str.__repr__(self)}, {scene})"
