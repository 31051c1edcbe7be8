"""The simulator's message log and how tests write to it: customers, servicers, events.

``sync_msg`` (:mod:`.sync`) serves this log and ``send_msg`` / ``send_msg_on_event``
(:mod:`.send`) answer it. Their errcodes and lifetimes are in :mod:`._msgcodes`.
"""

from __future__ import annotations

import hashlib
import random
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from ...models.event_codes import scene_of_change
from ._control import ControlMixin
from ._msgcodes import CALLBACK_TOKEN_TTL, SYNC_WITHOUT_TOKEN_PER_MINUTE, SendBuilder
from ._msglog import CUSTOMER, SERVICER, SYSTEM, FillSpec, MessageLog, check_kinds
from ._state import SimSent
from ._types import Route
from ._wire import Receive, Scope, Send
from .accounts import AccountsMixin
from .codes import EventCodesMixin

__all__ = ["MessagesMixin"]

_COMMON = frozenset(
    {"msgid", "open_kfid", "external_userid", "send_time", "origin", "servicer_userid"}
)
_MEDIA_KEYS = ("media_id", "thumb_media_id")


class MessagesMixin(ControlMixin, EventCodesMixin, AccountsMixin):
    """The message log: seed it, read it, and the knobs of ``sync_msg`` / ``send_msg``.

    Write to the log with :meth:`customer_says`, :meth:`customer_enters`,
    :meth:`servicer_says`, :meth:`add_event` and :meth:`fill` (a cheap, lazy block
    of generated messages); read it with :meth:`messages`. What the app sent is in
    :attr:`sent`. Knobs: :attr:`empty_pages`, :meth:`script_pages` and
    :attr:`sync_msg_without_token_per_minute`; tokens come from
    :meth:`callback_token`. Each of these methods raises ``ValueError`` for an
    account that is not in ``corp.accounts`` (add it with :meth:`add_account`).
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {}

    def _setup(self) -> None:
        super()._setup()
        material = self._fault_rng.getstate()[1][:8]
        salt = repr(material).encode()
        self.corp.messages = MessageLog(salt)
        self._msg_rng = random.Random(f"messages:{material}")  # noqa: S311 - not security
        self._cursor_key = hashlib.blake2b(b"cursors:" + salt, digest_size=16).digest()
        self._callback_tokens: dict[str, tuple[str, float]] = {}
        self._cursor_issued: dict[str, float] = {}
        self._page_script: deque[int] = deque()
        self._no_token_window: tuple[int, int] = (0, 0)
        self._sent_ids: set[tuple[str, str]] = set()
        self._code_seq = 0
        self.empty_pages = 0.0
        """Probability that a ``sync_msg`` page with messages still to come is served
        empty (``has_more=1``, the same cursor), drawn from a seeded RNG."""
        self.sync_msg_without_token_per_minute: int | None = SYNC_WITHOUT_TOKEN_PER_MINUTE
        """``sync_msg`` calls without a token allowed per clock minute; beyond, 45009
        (None: no limit)."""

    # ------------------------------------------------------------------ writing

    def customer_says(
        self, open_kfid: str, external_userid: str, message: SendBuilder | Mapping[str, Any]
    ) -> str:
        """Log a customer's message (origin 3); return its msgid.

        The customer becomes known and gets a session in state 0 if it has none
        (an ended session, state 4, starts again at 0). The 48-hour window of
        ``send_msg`` opens again and its count of 5 starts over. Media ids in the
        body become media ``send_msg`` accepts (as WeCom lets you send them back).

        Args:
            open_kfid: The account written to.
            external_userid: The customer.
            message: A send builder (``Text("hi")``: anything with ``msgtype`` and
                ``body()``), a dict ``{"msgtype": "text", "text": {...}}``, or a
                whole ``msg_list`` item such as ``MESSAGE_SAMPLES["location"]`` (its
                ids, time and origin are replaced). An event item goes to
                :meth:`add_event`.

        Raises:
            ValueError: The account does not exist, or the dict has no msgtype.
            TypeError: *message* is neither a builder nor a dict.
        """
        self._require_account(open_kfid)
        msgtype, body, extra = _parts(message)
        if msgtype == "event":
            fields = {k: v for k, v in body.items() if k not in ("open_kfid", "external_userid")}
            return self.add_event(
                open_kfid, external_userid, str(fields.pop("event_type")), **fields
            )
        session = self.session(open_kfid, external_userid)
        if session.state == 4:
            session.state = 0
            session.servicer_userid = None
        session.last_customer_msg_at = self.clock()
        session.sends_since_customer = 0
        if isinstance(body, Mapping):
            for key in _MEDIA_KEYS:
                if isinstance(body.get(key), str):
                    self.add_media(msgtype if key == "media_id" else "image", media_id=body[key])
        return self._log_message(open_kfid, external_userid, CUSTOMER, msgtype, body, extra)

    def servicer_says(
        self,
        open_kfid: str,
        external_userid: str,
        servicer_userid: str,
        message: SendBuilder | Mapping[str, Any],
    ) -> str:
        """Log a message a servicer sent from the WeCom app (origin 5); return its msgid.

        Nothing about the session changes. ``message`` is as for :meth:`customer_says`.
        """
        self._require_account(open_kfid)
        msgtype, body, extra = _parts(message)
        extra["servicer_userid"] = servicer_userid
        return self._log_message(open_kfid, external_userid, SERVICER, msgtype, body, extra)

    def customer_enters(
        self,
        open_kfid: str,
        external_userid: str,
        *,
        scene: str = "",
        scene_param: str = "",
        wechat_channels: Mapping[str, Any] | None = None,
    ) -> str | None:
        """Log an ``enter_session`` event; return its new ``welcome_code``, if it has one.

        As WeCom (page 96428), the event carries a ``welcome_code`` only when the
        customer received no welcome message from this account in the past 48 hours
        and has not written to it in that time (:meth:`may_welcome`); otherwise it
        has none and this returns ``None``. The code may be answered once with
        ``send_msg_on_event`` within :data:`WELCOME_CODE_TTL` seconds of the
        simulator's clock. The customer becomes known and gets a session (state 0)
        if it has none; the window of ``send_msg`` does not open (only a customer's
        message opens it).
        """
        self._require_account(open_kfid)
        welcome = self.may_welcome(open_kfid, external_userid)
        self.session(open_kfid, external_userid)
        fields: dict[str, Any] = {"scene": scene, "scene_param": scene_param}
        if wechat_channels is not None:
            fields["wechat_channels"] = dict(wechat_channels)
        code = self._new_code("welcome") if welcome else None
        if code is not None:
            fields["welcome_code"] = code
        self.add_event(open_kfid, external_userid, "enter_session", **fields)
        return code

    def add_event(
        self, open_kfid: str, external_userid: str | None, event_type: str, **fields: Any
    ) -> str:
        """Log any event (origin 4, msgtype ``event``); return its msgid.

        The ``event`` object gets ``event_type``, ``open_kfid``, ``external_userid``
        (unless None, as for ``servicer_status_change``) and ``fields``. A
        ``welcome_code`` of an ``enter_session`` event, and the ``msg_code`` of a
        ``session_status_change`` of a pick from the pool (``change_type`` 1) or an
        end (3), made up if not given, become codes ``send_msg_on_event`` accepts,
        under page 96428's rules (:mod:`.codes`). A transfer (2) or a re-open (4)
        gets no code. The session's state is not changed: set it with
        :meth:`set_session` (a code is good only in the state it came from).

        Args:
            open_kfid: The account.
            external_userid: The customer, or None.
            event_type: ``msg_send_fail``, ``user_recall_msg``, ... (any string).
            **fields: The event's own fields (``fail_msgid=...``, ``fail_type=4``).
        """
        self._require_account(open_kfid)
        event: dict[str, Any] = {"event_type": event_type, "open_kfid": open_kfid}
        if external_userid is not None:
            event["external_userid"] = external_userid
        event.update(fields)
        if event_type == "session_status_change" and scene_of_change(event.get("change_type")):
            event.setdefault("msg_code", self._new_code("msg"))
        self._register_event_codes(event, open_kfid, external_userid or "")
        log = self.corp.messages
        item = {
            "msgid": log.msgid(log.next_seq),
            "send_time": int(self.clock()),
            "origin": SYSTEM,
            "msgtype": "event",
            "event": event,
        }
        log.append(open_kfid, item)
        return str(item["msgid"])

    def fill(
        self,
        open_kfid: str,
        count: int,
        *,
        kinds: Sequence[str] = ("text",),
        customers: int | Sequence[str] = 100,
        send_time: float | None = None,
        spacing: float = 0.0,
    ) -> int:
        """Log *count* generated messages at once, cheaply; return the seq of the first.

        Nothing is stored per message: each is made when read, deterministically
        from its position and the simulator's seed (a million cost a few hundred
        bytes). Sessions, send windows and event codes are left alone.

        Args:
            open_kfid: The account.
            count: How many messages (0 or more).
            kinds: msgtypes and event types of the samples
                (``wecom_kf_async.testing.samples``), used in turn; a ``text`` says
                ``"message <seq>"``, other kinds carry their sample's body.
            customers: How many customers (``wmsimfill000000``, ...) or their ids,
                used in turn.
            send_time: ``send_time`` of the first (default: now).
            spacing: Seconds between two messages (>= 0).

        Raises:
            ValueError: An unknown account, a bad count, kind, customer list or spacing.
        """
        self._require_account(open_kfid)
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"count must be an integer >= 0, got {count!r}")
        if spacing < 0:
            raise ValueError("spacing must be >= 0")
        if isinstance(customers, int):
            if customers < 1:
                raise ValueError("customers must be at least 1")
            ids = tuple(f"wmsimfill{n:06d}" for n in range(customers))
        else:
            ids = tuple(customers)
            if not ids or not all(isinstance(uid, str) and uid for uid in ids):
                raise ValueError("customers must be non-empty strings")
        start = self.clock() if send_time is None else float(send_time)
        spec = FillSpec(check_kinds(kinds), ids, start, float(spacing))
        return self.corp.messages.fill(open_kfid, count, spec)

    # ------------------------------------------------------------------ reading

    def messages(self, open_kfid: str | None = None) -> list[dict[str, Any]]:
        """Return the log (one account's, or all) as ``msg_list`` items, oldest first.

        Copies, made on the way: a block from :meth:`fill` is generated in full,
        so read a big one with ``sync_msg`` instead.
        """
        return list(self.corp.messages.items(open_kfid))

    @property
    def sent(self) -> list[SimSent]:
        """What ``send_msg`` and ``send_msg_on_event`` accepted, oldest first."""
        return self.corp.sent

    def callback_token(self, open_kfid: str) -> str:
        """Return the ``Token`` a ``kf_msg_or_event`` callback for *open_kfid* would carry.

        ``sync_msg`` accepts it once, within :data:`CALLBACK_TOKEN_TTL` seconds of the
        simulator's clock, with that ``open_kfid`` or none; otherwise it answers
        95007. A call with a token is not subject to the strict limit.
        """
        self._require_account(open_kfid)
        token = f"ENC{self._msg_rng.getrandbits(240):060x}"
        self._callback_tokens[token] = (open_kfid, self.clock() + CALLBACK_TOKEN_TTL)
        return token

    def script_pages(self, sizes: Sequence[int]) -> None:
        """Cap the size of the next ``sync_msg`` pages, one item per call.

        ``0`` serves an empty page with ``has_more=1`` (even at the end of the log)
        and the same cursor; ``n`` serves at most ``n`` messages. Calling again
        appends to the queue. Scripted sizes win over :attr:`empty_pages`.
        """
        checked = [int(size) for size in sizes]
        if any(size < 0 for size in checked):
            raise ValueError("page sizes must be >= 0")
        self._page_script.extend(checked)

    # ------------------------------------------------------------------ internals

    def _log_message(
        self,
        open_kfid: str,
        external_userid: str,
        origin: int,
        msgtype: str,
        body: Any,
        extra: dict[str, Any],
    ) -> str:
        log = self.corp.messages
        msgid = log.msgid(log.next_seq)
        item: dict[str, Any] = {
            "msgid": msgid,
            "open_kfid": open_kfid,
            "external_userid": external_userid,
            "send_time": int(self.clock()),
            "origin": origin,
        }
        item.update(extra)
        item["msgtype"] = msgtype
        item[msgtype] = body
        log.append(open_kfid, item)
        return msgid

    def _require_account(self, open_kfid: str) -> None:
        if open_kfid not in self.corp.accounts:
            raise ValueError(f"no account {open_kfid!r}: add it first (sim.add_account)")

    def _new_code(self, kind: str) -> str:
        self._code_seq += 1
        return f"{kind.upper()}_{self._code_seq:06d}_{self._msg_rng.getrandbits(64):016x}"

    def _record_sent(self, sent: SimSent) -> None:
        self.corp.sent.append(sent)
        self._sent_ids.add((sent.open_kfid, sent.msgid))

    def _msgid_taken(self, open_kfid: str, msgid: str) -> bool:
        return (open_kfid, msgid) in self._sent_ids

    # ------------------------------------------------------------------ control

    def configure(self, config: Mapping[str, Any]) -> None:
        """As :meth:`ControlMixin.configure`, plus ``empty_pages`` (a probability),
        ``stall_pages`` (a bool) and ``sync_msg_without_token_per_minute`` (int or null)."""
        from ._msgcontrol import split_config

        rest, apply = split_config(self, config)
        super().configure(rest)
        apply()

    async def _control(self, action: str, scope: Scope, receive: Receive, send: Send) -> None:
        if action == "messages" and scope["method"] == "POST":
            from ._msgcontrol import control_messages

            await control_messages(self, receive, send)
            return
        await super()._control(action, scope, receive, send)

    def seed_demo(self) -> None:
        """Add a little conversation to the demo session (after the sessions' seeding)."""
        super().seed_demo()
        for open_kfid, external_userid in list(self.corp.sessions):
            if self.corp.messages.count(open_kfid):
                continue
            self.customer_enters(open_kfid, external_userid, scene="demo")
            self.customer_says(open_kfid, external_userid, _text("Hello, is anyone there?"))
            self.servicer_says(open_kfid, external_userid, "zhangsan", _text("Hi! How can I help?"))


def _text(content: str) -> dict[str, Any]:
    return {"msgtype": "text", "text": {"content": content}}


def _parts(message: object) -> tuple[str, Any, dict[str, Any]]:
    """(msgtype, body, extra top-level fields) of a builder, a dict or a whole item."""
    if isinstance(message, Mapping):
        msgtype = message.get("msgtype")
        if not isinstance(msgtype, str) or not msgtype:
            raise ValueError("a message dict needs a non-empty 'msgtype'")
        body = message.get(msgtype, {})
        extra = {
            k: v for k, v in message.items() if k not in _COMMON and k not in ("msgtype", msgtype)
        }
        return msgtype, body, extra
    msgtype = getattr(message, "msgtype", None)
    build = getattr(message, "body", None)
    if not isinstance(msgtype, str) or not callable(build):
        raise TypeError(f"a message is a send builder or a dict, not {type(message).__name__}")
    return msgtype, build(), {}
