"""The one table of endpoints: path, method, and whether a retry could do a change twice."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Literal

import attrs

__all__ = [
    "ENDPOINTS",
    "EXTRA_BUDGETS",
    "SYNC_MSG_WITHOUT_TOKEN",
    "Endpoint",
    "Safety",
    "endpoint_for",
    "markdown_table",
]


class Safety(enum.Enum):
    """What may be retried after a failure that may have reached WeCom.

    A failure that certainly did not reach WeCom (the connection was refused) and an
    error that WeCom answered (it did nothing) are retried as the errcode table says
    for every endpoint. The difference is in the failures in between: a timeout, a
    dropped connection, a 502 from a proxy, a cut-off answer.
    """

    #: Changes nothing: retried.
    READ = "read"
    #: Doing it twice leaves the same state as once (an update, a delete), or a
    #: repeat only makes a harmless copy (another media id): retried.
    IDEMPOTENT = "idempotent"
    #: Made repeatable by a key in the request (``msgid``): retried with the same key.
    KEYED = "keyed"
    #: Would be done twice by a retry (create an account, move a session): never
    #: retried after such a failure; :class:`~wecom_kf_async.OutcomeUnknownError`
    #: says what to check.
    UNSAFE = "unsafe"


@attrs.frozen(kw_only=True)
class Endpoint:
    """One WeCom API endpoint, as the pipeline needs to know it.

    Rows are the single source for the method, the retry safety, the default rate
    budget and the documentation's endpoint table.
    """

    #: Path after ``/cgi-bin/``, e.g. ``"kf/account/add"``.
    path: str
    #: HTTP method.
    method: Literal["GET", "POST"] = "POST"
    #: What a retry after an ambiguous failure could do (see :class:`Safety`).
    safety: Safety = Safety.READ
    #: Errcodes that, answered to a *retry* after an ambiguous failure, mean the
    #: first try did the work (a delete answered "no such account").
    already_done: frozenset[int] = frozenset()
    #: What to check when the outcome of an :attr:`Safety.UNSAFE` call is unknown.
    check: str = ""
    #: Calls per second this endpoint allows itself by default (``None``: the
    #: client's ``rate_limit``).
    rate_limit: float | None = None
    #: The name of the budget the calls wait on (default: the path). Calls of one
    #: path that WeCom limits differently get budgets of their own, e.g.
    #: ``sync_msg`` without a callback's token.
    budget: str = ""
    #: Whether the call carries the access token.
    authed: bool = True
    #: The official documentation page (``developer.work.weixin.qq.com/document/path/N``),
    #: where the reference this library was built from names one.
    doc_page: int | None = None
    #: One line for the docs.
    summary: str = ""

    @property
    def budget_key(self) -> str:
        """The budget this endpoint's calls wait on (``rate_limits`` keys name these)."""
        return self.budget or self.path

    @property
    def retries_ambiguous_failures(self) -> bool:
        """Whether a failure that may have reached WeCom is retried."""
        return self.safety is not Safety.UNSAFE


_I, _K, _U = Safety.IDEMPOTENT, Safety.KEYED, Safety.UNSAFE

#: WeCom's answer to a msgid used before in the account: on a retry with the same
#: msgid, the first try went out. (No code is documented; 95010 is invented, marked
#: so in the errcode table: change it there and here when WeCom's is known.)
_MSGID_USED = frozenset({95010})

_SENT_CHECK = "watch for a msg_send_fail event naming this msgid; the message went out at most once"

_ROWS = (
    Endpoint(path="gettoken", doc_page=91039, method="GET", authed=False, summary="access token"),
    Endpoint(
        path="kf/account/add",
        doc_page=96404,
        safety=_U,
        check="list the accounts (kf.accounts.list()) and look for the name before adding it again",
        summary="create a KF account",
    ),
    Endpoint(
        path="kf/account/del",
        doc_page=94689,
        safety=_I,
        already_done=frozenset({95004}),
        summary="delete a KF account",
    ),
    Endpoint(path="kf/account/update", doc_page=94690, safety=_I, summary="rename, new avatar"),
    Endpoint(path="kf/account/list", doc_page=94661, summary="list KF accounts (paged)"),
    Endpoint(
        path="kf/add_contact_way",
        doc_page=96416,
        safety=_I,
        summary="contact link of an account (a repeat makes another link)",
    ),
    Endpoint(path="kf/servicer/add", safety=_I, summary="add servicers to an account"),
    Endpoint(
        path="kf/servicer/del",
        doc_page=96419,
        safety=_I,
        summary="remove servicers from an account",
    ),
    Endpoint(
        path="kf/servicer/list", doc_page=96420, method="GET", summary="servicers of an account"
    ),
    Endpoint(path="kf/service_state/get", doc_page=94698, summary="session state"),
    Endpoint(
        path="kf/service_state/trans",
        doc_page=94698,
        safety=_U,
        check="read the session state (kf.sessions.get_state(open_kfid, external_userid))",
        summary="move a session (bot, queue, servicer, end)",
    ),
    Endpoint(path="kf/customer/batchget", doc_page=95149, summary="customers by external_userid"),
    Endpoint(
        path="kf/customer/get_upgrade_service_config",
        doc_page=96422,
        method="GET",
        summary="members and group chats that upgrade service may recommend",
    ),
    Endpoint(
        path="kf/customer/upgrade_service",
        safety=_I,
        summary="recommend a member or a group chat to a customer",
    ),
    Endpoint(
        path="kf/customer/cancel_upgrade_service",
        safety=_I,
        summary="withdraw the recommendation",
    ),
    Endpoint(
        path="kf/get_corp_qualification",
        method="GET",
        summary="corp qualification (unverified page)",
    ),
    Endpoint(
        path="kf/get_corp_statistic", doc_page=37457, summary="daily statistics of an account"
    ),
    Endpoint(
        path="kf/get_servicer_statistic", doc_page=37469, summary="daily statistics per servicer"
    ),
    Endpoint(
        path="media/upload",
        doc_page=96484,
        safety=_I,
        summary="upload temporary media (a repeat makes another media id)",
    ),
    Endpoint(
        path="media/get",
        method="GET",
        doc_page=96486,
        summary="download temporary media (Range requests of at most 20 MB)",
    ),
    Endpoint(path="kf/sync_msg", doc_page=94699, summary="read messages and events"),
    Endpoint(
        path="kf/send_msg",
        doc_page=96427,
        safety=_K,
        already_done=_MSGID_USED,
        check=_SENT_CHECK,
        summary="send a message (msgid always sent, the same on a retry)",
    ),
    Endpoint(
        path="kf/send_msg_on_event",
        doc_page=96428,
        safety=_K,
        already_done=_MSGID_USED,
        check=_SENT_CHECK,
        summary="answer an event code (welcome, queue, pick-up, end of session)",
    ),
)

# The knowledge base of the KF bot: groups (page 95971) and intents (page 95972),
# self-built apps only. Group names and questions are unique in the corp, so a
# second add cannot make a twin, but its refusal (no errcode is documented) could
# not tell "my first try made it" from "it was there before": an add whose answer
# is lost ends in OutcomeUnknownError. No errcode for "no such group/intent" is
# documented either: a retried delete has no already_done code.
_KNOWLEDGE_ROWS = (
    Endpoint(
        path="kf/knowledge/add_group",
        doc_page=95971,
        safety=_U,
        check="list the groups (kf.knowledge.groups()) and look for the name before "
        "adding it again",
        summary="create a knowledge-base group",
    ),
    Endpoint(
        path="kf/knowledge/del_group",
        doc_page=95971,
        safety=_I,
        summary="delete a knowledge-base group (not the default one)",
    ),
    Endpoint(
        path="kf/knowledge/mod_group",
        doc_page=95971,
        safety=_I,
        summary="rename a knowledge-base group (not the default one)",
    ),
    Endpoint(path="kf/knowledge/list_group", doc_page=95971, summary="knowledge-base groups"),
    Endpoint(
        path="kf/knowledge/add_intent",
        doc_page=95972,
        safety=_U,
        check="list the group's intents (kf.knowledge.intents(group_id)) and look for the "
        "question before adding it again",
        summary="add a question and its answer to a group",
    ),
    Endpoint(path="kf/knowledge/del_intent", doc_page=95972, safety=_I, summary="delete an intent"),
    Endpoint(
        path="kf/knowledge/mod_intent",
        doc_page=95972,
        safety=_I,
        summary="rewrite an intent's question, similar questions or answer",
    ),
    Endpoint(path="kf/knowledge/list_intent", doc_page=95972, summary="knowledge-base intents"),
)

# Service providers: a third-party app's tokens (pages 90600, 90603, 90605; the
# suite endpoints carry the suite_access_token) and the id conversions a provider
# needs (pages 97110, 97108), each with its own budget.
_PROVIDER_ROWS = (
    Endpoint(
        path="service/get_suite_token",
        doc_page=90600,
        authed=False,
        summary="a third-party app's suite_access_token (needs the newest suite_ticket)",
    ),
    Endpoint(
        path="service/get_permanent_code",
        doc_page=90603,
        safety=_U,
        check="the auth_code is single-use: if the first try went through, its permanent "
        "code was lost; ask the corp's admin to authorise the app again",
        summary="exchange an install's auth_code for the corp's permanent code",
    ),
    Endpoint(
        path="service/get_corp_token",
        doc_page=90605,
        summary="an authorised corp's access_token (errcode only on failure)",
    ),
    Endpoint(
        path="idconvert/open_kfid",
        doc_page=97110,
        summary="the corp's open_kfids as the provider's (at most 1,000)",
    ),
    Endpoint(
        path="idconvert/unionid_to_external_userid",
        doc_page=97108,
        summary="a WeChat unionid as the corp's external_userid, or a pending_id",
    ),
)

#: Every endpoint the library calls, by path.
ENDPOINTS: Mapping[str, Endpoint] = MappingProxyType(
    {row.path: row for row in (*_ROWS, *_KNOWLEDGE_ROWS, *_PROVIDER_ROWS)}
)


def endpoint_for(path: str, method: Literal["GET", "POST"] = "POST") -> Endpoint:
    """The row for *path*; an unknown path gets a row that retries like a read.

    (:meth:`KfClient.request <wecom_kf_async.KfClient.request>` is the way to call an
    endpoint the library does not cover; it retries as it always has.)
    """
    row = ENDPOINTS.get(path)
    if row is not None:
        return row
    return Endpoint(path=path, method=method)


#: What each safety means for a failure that may have reached WeCom, for the docs.
_SAFETY_WORDS = {
    Safety.READ: "retried",
    Safety.IDEMPOTENT: "retried (doing it twice leaves the same state)",
    Safety.KEYED: "retried with the same key",
    Safety.UNSAFE: "not retried: `OutcomeUnknownError`",
}


def markdown_table() -> str:
    """The endpoint table as Markdown, as the docs show it (rendered from :data:`ENDPOINTS`)."""
    lines = [
        "| endpoint | method | safety | after a failure that may have reached WeCom | "
        "a retry answered with this means done | what it does |",
        "|---|---|---|---|---|---|",
    ]
    for row in ENDPOINTS.values():
        done = ", ".join(str(code) for code in sorted(row.already_done)) or "—"
        action = _SAFETY_WORDS[row.safety]
        if row.check:
            action += f"; check: {row.check}"
        lines.append(
            f"| `{row.path}` | {row.method} | `{row.safety.name}` | {action} | {done} | "
            f"{row.summary} |"
        )
    return "\n".join(lines) + "\n"


#: ``sync_msg`` without a callback's ``Token``: WeCom limits it strictly (it publishes
#: no number; 1 call/s is this library's guess, unverified), on a budget of its own.
SYNC_MSG_WITHOUT_TOKEN = attrs.evolve(
    ENDPOINTS["kf/sync_msg"], budget="kf/sync_msg:no_token", rate_limit=1.0
)

#: Budgets that are not a path of their own, by name.
EXTRA_BUDGETS: Mapping[str, Endpoint] = MappingProxyType(
    {SYNC_MSG_WITHOUT_TOKEN.budget_key: SYNC_MSG_WITHOUT_TOKEN}
)
