"""Daily statistics as ``get_corp_statistic`` and ``get_servicer_statistic`` answer them."""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

__all__ = [
    "CHINA_TZ",
    "CorpMetrics",
    "CorpStatistic",
    "ServicerMetrics",
    "ServicerStatistic",
]

#: China Standard Time (UTC+8, no daylight saving): WeCom's days start at its midnight.
CHINA_TZ: Final = dt.timezone(dt.timedelta(hours=8), "CST")


def _day_of(stat_time: int) -> dt.date:
    return dt.datetime.fromtimestamp(stat_time, CHINA_TZ).date()


@attrs.frozen(kw_only=True)
class CorpMetrics:
    """One day of a KF account, from ``get_corp_statistic``.

    Fields as WeCom names them (page 37457). Every field may be missing: WeCom
    leaves out what it could not compute (``ai_knowledge_hit_rate`` without a
    knowledge base, for instance). Rates are shares between 0 and 1.
    """

    #: Consultation sessions: a customer wrote and was assigned to a servicer or the bot.
    session_cnt: int | None = None
    #: Customers who wrote in a session (each counted once).
    customer_cnt: int | None = None
    #: Messages customers sent in sessions.
    customer_msg_cnt: int | None = None
    #: Customers who added a member or joined a group chat through upgrade service.
    upgrade_service_customer_cnt: int | None = None
    #: Sessions assigned to the bot (API or smart reply).
    ai_session_reply_cnt: int | None = None
    #: Share of the bot's sessions transferred to a human.
    ai_transfer_rate: float | None = None
    #: Share of the messages to the bot that hit the knowledge base.
    ai_knowledge_hit_rate: float | None = None
    #: Customers a servicer set to "receive no more messages" from.
    msg_rejected_customer_cnt: int | None = None


@attrs.frozen(kw_only=True)
class ServicerMetrics:
    """One day of one servicer (or of one account), from ``get_servicer_statistic``.

    Fields as WeCom names them (page 37469; ``satisfaction_investgate_cnt`` is
    WeCom's spelling). Every field may be missing: WeCom leaves out a rate it could
    not compute (no customer wrote to a servicer, no satisfaction survey answered).
    Rates are shares between 0 and 1.
    """

    #: Sessions assigned to a human servicer.
    session_cnt: int | None = None
    #: Customers who wrote and were served by a human (each counted once).
    customer_cnt: int | None = None
    #: Messages customers sent in sessions.
    customer_msg_cnt: int | None = None
    #: Share of the sessions with a customer message that the servicer answered.
    reply_rate: float | None = None
    #: Average seconds from a customer's first message to the servicer's first answer.
    first_reply_average_sec: float | None = None
    #: Satisfaction surveys sent (0 while the API manages session assignment).
    satisfaction_investgate_cnt: int | None = None
    #: Share of the surveys customers answered.
    satisfaction_participation_rate: float | None = None
    #: Share of answered surveys rated "satisfied".
    satisfied_rate: float | None = None
    #: Share of answered surveys rated "middling".
    middling_rate: float | None = None
    #: Share of answered surveys rated "dissatisfied".
    dissatisfied_rate: float | None = None
    #: Customers who added a member or joined a group chat through upgrade service.
    upgrade_service_customer_cnt: int | None = None
    #: Member cards sent through upgrade service.
    upgrade_service_member_invite_cnt: int | None = None
    #: Customers who added the recommended member.
    upgrade_service_member_customer_cnt: int | None = None
    #: Group chat invitations sent through upgrade service.
    upgrade_service_groupchat_invite_cnt: int | None = None
    #: Customers who joined the recommended group chat.
    upgrade_service_groupchat_customer_cnt: int | None = None
    #: Customers a servicer set to "receive no more messages" from.
    msg_rejected_customer_cnt: int | None = None


@attrs.frozen(kw_only=True)
class CorpStatistic:
    """One day of ``kf.statistics.corp(...)``: the day and its :class:`CorpMetrics`.

    ``statistic`` is ``None`` for a day WeCom has nothing for (no activity, or not
    computed yet).
    """

    #: The day, as WeCom's timestamp of its midnight in China time (UTC+8).
    stat_time: int
    statistic: CorpMetrics | None = None

    @property
    def date(self) -> dt.date:
        """The day of the row, in China time (the calendar day WeCom counted)."""
        return _day_of(self.stat_time)


@attrs.frozen(kw_only=True)
class ServicerStatistic:
    """One day of ``kf.statistics.servicer(...)``: the day and its :class:`ServicerMetrics`.

    ``statistic`` is ``None`` for a day WeCom has nothing for (no activity, or not
    computed yet).
    """

    #: The day, as WeCom's timestamp of its midnight in China time (UTC+8).
    stat_time: int
    statistic: ServicerMetrics | None = None

    @property
    def date(self) -> dt.date:
        """The day of the row, in China time (the calendar day WeCom counted)."""
        return _day_of(self.stat_time)


@attrs.frozen(kw_only=True)
class CorpStatisticAnswer:
    """The whole answer of one ``get_corp_statistic`` call (internal to the resource)."""

    statistic_list: list[CorpStatistic] = attrs.Factory(list)


@attrs.frozen(kw_only=True)
class ServicerStatisticAnswer:
    """The whole answer of one ``get_servicer_statistic`` call (internal to the resource)."""

    statistic_list: list[ServicerStatistic] = attrs.Factory(list)
