"""The fake corp behind the simulator's endpoints: members, accounts, sessions, media, messages.

Plain dataclasses that tests may read (``sim.corp``) and seed through the
simulator's methods (``sim.add_account(...)``, ``sim.session(...)``). Every
resource module works on this one state, so the endpoints agree with each other:
an avatar ``media_id`` that ``account/add`` accepts is one ``media/upload`` made,
a servicer that ``service_state/trans`` accepts serves that account.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._msglog import MessageLog

__all__ = ["Corp", "SimAccount", "SimMedia", "SimSent", "SimServicer", "SimSession"]
__all__ += ["SimIntent", "SimKnowledge", "SimKnowledgeGroup"]


@dataclass
class SimServicer:
    """One member serving one KF account."""

    userid: str
    #: 0 receiving, 1 stopped.
    status: int = 0
    #: When stopped: 0 stopped receiving, 1 stopped receiving and left the pool
    #: (WeCom's ``stop_type``).
    stop_type: int = 0
    #: The department through which the member serves, if added as a department.
    department_id: int | None = None


@dataclass
class SimAccount:
    """One KF account."""

    open_kfid: str
    name: str
    #: The ``media_id`` given as its avatar.
    media_id: str
    #: The avatar's URL, as ``account/list`` answers it.
    avatar: str
    #: Whether the calling app may manage the account.
    manage_privilege: bool = True
    #: Members serving it, by userid (departments expanded to their members).
    servicers: dict[str, SimServicer] = field(default_factory=dict)
    #: Departments added as a whole.
    departments: set[int] = field(default_factory=set)
    #: Contact links handed out, by scene.
    contact_urls: list[str] = field(default_factory=list)


@dataclass
class SimSession:
    """The session of one customer with one KF account."""

    open_kfid: str
    external_userid: str
    #: 0 new, 1 bot/API, 2 queued, 3 servicer, 4 ended.
    state: int = 0
    #: The member serving it in state 3.
    servicer_userid: str | None = None
    #: Upgrade service recommended to the customer (``member`` or ``groupchat``).
    upgrade: dict[str, Any] | None = None
    #: Every ``msg_code`` handed out by ``service_state/trans``.
    msg_codes: list[str] = field(default_factory=list)
    #: When the customer last wrote (``sim.customer_says``): ``send_msg`` may answer
    #: for 48 hours after it (None: never).
    last_customer_msg_at: float | None = None
    #: ``send_msg`` calls accepted since the customer last wrote (at most 5).
    sends_since_customer: int = 0


@dataclass
class SimMedia:
    """One temporary medium: uploaded (its bytes kept), sent by a customer or seeded.

    A medium without ``data`` has ``size`` bytes generated from its id when
    ``media/get`` serves it (``sim.media_bytes``), so a large one costs no memory.
    """

    media_id: str
    type: str
    filename: str
    size: int
    created_at: int
    #: The uploaded bytes (``None``: generated from the id).
    data: bytes | None = None


@dataclass(frozen=True)
class SimSent:
    """One message ``send_msg`` or ``send_msg_on_event`` accepted (``sim.sent``)."""

    msgid: str
    open_kfid: str
    #: The customer it went to.
    touser: str
    msgtype: str
    #: The object under the ``msgtype`` key of the request, as sent.
    body: dict[str, Any]
    #: When it was accepted (the simulator's clock).
    time: float
    #: ``kf/send_msg`` or ``kf/send_msg_on_event``.
    endpoint: str
    #: The event code it answered (``send_msg_on_event`` only).
    code: str | None = None


@dataclass
class SimKnowledgeGroup:
    """One group of the knowledge base."""

    group_id: str
    name: str
    #: The group WeCom creates itself: it cannot be renamed or deleted.
    is_default: bool = False
    #: Order of creation (what the list's cursors count).
    seq: int = 0


@dataclass
class SimIntent:
    """One question and its answer in the knowledge base, as ``add_intent`` took them."""

    intent_id: str
    group_id: str
    question: str
    similar_questions: list[str] = field(default_factory=list)
    #: ``answers`` of the request, as sent (media ids and all).
    answers: list[dict[str, Any]] = field(default_factory=list)
    #: Order of creation (what the list's cursors count).
    seq: int = 0


@dataclass
class SimKnowledge:
    """The knowledge base of the KF bot: groups and intents, by id, in creation order."""

    groups: dict[str, SimKnowledgeGroup] = field(default_factory=dict)
    intents: dict[str, SimIntent] = field(default_factory=dict)


@dataclass
class Corp:
    """Everything the simulated corp holds."""

    #: Members of the corp (userids), the only ones that may become servicers.
    members: set[str] = field(default_factory=lambda: {"zhangsan", "lisi", "wangwu", "zhaoliu"})
    #: Departments and their members.
    departments: dict[int, set[str]] = field(
        default_factory=lambda: {1: {"zhangsan", "lisi", "wangwu", "zhaoliu"}, 2: {"zhangsan"}}
    )
    #: KF accounts, by open_kfid, in creation order.
    accounts: dict[str, SimAccount] = field(default_factory=dict)
    #: Sessions, by (open_kfid, external_userid).
    sessions: dict[tuple[str, str], SimSession] = field(default_factory=dict)
    #: Uploaded media, by media_id.
    media: dict[str, SimMedia] = field(default_factory=dict)
    #: Who upgrade service may recommend: members, departments and group chats.
    upgrade_members: list[str] = field(default_factory=lambda: ["zhangsan", "lisi"])
    upgrade_departments: list[int] = field(default_factory=lambda: [2])
    upgrade_groupchats: list[str] = field(default_factory=lambda: ["wrsimgroupchat01"])
    #: Whether the corp has bound a WeChat Channels account.
    wechat_channels_binding: bool = False
    #: Messages and events of every account, as ``sync_msg`` serves them.
    messages: MessageLog = field(default_factory=MessageLog)
    #: What ``send_msg`` and ``send_msg_on_event`` accepted, oldest first.
    sent: list[SimSent] = field(default_factory=list)
    #: The knowledge base (its default group is made by ``KnowledgeMixin``).
    knowledge: SimKnowledge = field(default_factory=SimKnowledge)
