"""The upgrade service (升级服务): who may be recommended, and what to recommend."""

from __future__ import annotations

import enum
from typing import Any

import attrs

from .. import _checks
from ._converter import converter

__all__ = [
    "UpgradeGroupChat",
    "UpgradeGroupChatRange",
    "UpgradeMember",
    "UpgradeMemberRange",
    "UpgradeServiceConfig",
    "UpgradeType",
    "upgrade_service_body",
]


class UpgradeType(enum.IntEnum):
    """What ``customer/upgrade_service`` recommends (its ``type``)."""

    #: A member of the corp (专员服务): ``member``.
    MEMBER = 1
    #: A customer group chat (客户群服务): ``groupchat``.
    GROUPCHAT = 2


def _check_userid(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.userid(value, attribute.name)


def _check_chat_id(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    _checks.chat_id(value, attribute.name)


def _check_wording(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        _checks.wording(value, attribute.name)


@attrs.frozen
class UpgradeMember:
    """A member to recommend to a customer: ``UpgradeMember("zhangsan", wording="...")``.

    Checked when made: a wrong type raises ``TypeError``, a bad value ``ValueError``.

    Attributes:
        userid: The member (专员); it must be in the upgrade-service member range
            (:meth:`CustomersAPI.upgrade_service_config
            <wecom_kf_async.resources.customers.CustomersAPI.upgrade_service_config>`),
            directly or through a department.
        wording: What the customer reads with the recommendation (optional; at most
            :data:`~wecom_kf_async._checks.MAX_WORDING_BYTES` bytes).
    """

    userid: str = attrs.field(validator=_check_userid)
    wording: str | None = attrs.field(default=None, kw_only=True, validator=_check_wording)

    def as_body(self) -> dict[str, str]:
        """The ``member`` object of the request, with WeCom's field names."""
        body = {"userid": self.userid}
        if self.wording is not None:
            body["wording"] = self.wording
        return body


@attrs.frozen
class UpgradeGroupChat:
    """A customer group chat to recommend: ``UpgradeGroupChat("wrxxx", wording="...")``.

    Checked when made: a wrong type raises ``TypeError``, a bad value ``ValueError``.

    Attributes:
        chat_id: The group chat; it must be in the upgrade-service group chat range.
        wording: What the customer reads with the recommendation (optional; at most
            :data:`~wecom_kf_async._checks.MAX_WORDING_BYTES` bytes).
    """

    chat_id: str = attrs.field(validator=_check_chat_id)
    wording: str | None = attrs.field(default=None, kw_only=True, validator=_check_wording)

    def as_body(self) -> dict[str, str]:
        """The ``groupchat`` object of the request, with WeCom's field names."""
        body = {"chat_id": self.chat_id}
        if self.wording is not None:
            body["wording"] = self.wording
        return body


@attrs.frozen(kw_only=True)
class UpgradeMemberRange:
    """Members the upgrade service may recommend (``member_range``)."""

    #: Members by userid.
    userid_list: list[str] = attrs.field(factory=list)
    #: Departments whose members may be recommended.
    department_id_list: list[int] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class UpgradeGroupChatRange:
    """Group chats the upgrade service may recommend (``groupchat_range``)."""

    #: Group chats by chat_id.
    chat_id_list: list[str] = attrs.field(factory=list)


@attrs.frozen(kw_only=True)
class UpgradeServiceConfig:
    """What ``customer/get_upgrade_service_config`` answers.

    The members and group chats configured in the admin console under 「微信客服」-
    「升级服务」; only they may be recommended. A range WeCom leaves out is empty.
    """

    member_range: UpgradeMemberRange = attrs.field(factory=UpgradeMemberRange)
    groupchat_range: UpgradeGroupChatRange = attrs.field(factory=UpgradeGroupChatRange)


def _list_of(data: Any, key: str, kind: type, what: str) -> list[Any]:
    """``data[key]``, a JSON list of *kind* (absent or null: empty), or TypeError."""
    if data is None:
        return []
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(type(item) is kind for item in value):
        raise TypeError(f"{key}: expected a list of {what}")
    return list(value)


def _structure_member_range(data: Any, _: Any) -> UpgradeMemberRange:
    return UpgradeMemberRange(
        userid_list=_list_of(data, "userid_list", str, "strings"),
        department_id_list=_list_of(data, "department_id_list", int, "integers"),
    )


def _structure_groupchat_range(data: Any, _: Any) -> UpgradeGroupChatRange:
    return UpgradeGroupChatRange(chat_id_list=_list_of(data, "chat_id_list", str, "strings"))


# Hand-written so that a string where a list belongs is refused, not split into
# characters; a range WeCom leaves out (or sends as null) is empty.
converter.register_structure_hook(UpgradeMemberRange, _structure_member_range)
converter.register_structure_hook(UpgradeGroupChatRange, _structure_groupchat_range)


def upgrade_service_body(
    open_kfid: object,
    external_userid: object,
    member: UpgradeMember | None,
    groupchat: UpgradeGroupChat | None,
) -> dict[str, Any]:
    """The checked body of ``customer/upgrade_service``: exactly one recommendation.

    Args:
        open_kfid: The KF account.
        external_userid: The customer.
        member: A member to recommend, or ``None``.
        groupchat: A group chat to recommend, or ``None``.

    Returns:
        The request body, with ``type`` 1 and ``member`` or ``type`` 2 and ``groupchat``.

    Raises:
        TypeError: An argument of the wrong type.
        ValueError: Neither or both of ``member`` and ``groupchat``, or a bad id.
    """
    body: dict[str, Any] = {
        "open_kfid": _checks.open_kfid(open_kfid),
        "external_userid": _checks.external_userid(external_userid),
    }
    if (member is None) == (groupchat is None):
        raise ValueError("pass exactly one of member= and groupchat=")
    if member is not None:
        if not isinstance(member, UpgradeMember):
            raise TypeError(f"member must be an UpgradeMember, got {type(member).__name__}")
        body["type"] = int(UpgradeType.MEMBER)
        body["member"] = member.as_body()
    elif groupchat is not None:
        if not isinstance(groupchat, UpgradeGroupChat):
            raise TypeError(
                f"groupchat must be an UpgradeGroupChat, got {type(groupchat).__name__}"
            )
        body["type"] = int(UpgradeType.GROUPCHAT)
        body["groupchat"] = groupchat.as_body()
    return body
