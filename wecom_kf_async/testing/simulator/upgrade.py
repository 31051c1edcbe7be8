"""The simulator's upgrade service.

Endpoints: ``customer/get_upgrade_service_config``, ``customer/upgrade_service`` and
``customer/cancel_upgrade_service``. The ranges come from the corp
(``corp.upgrade_members``, ``upgrade_departments``, ``upgrade_groupchats``); a
recommendation is kept on the customer's session (``SimSession.upgrade``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ._state import SimSession
from ._types import ApiError, Call, Route
from .sessions import SessionsMixin

__all__ = [
    "CANCEL_UPGRADE_SERVICE",
    "ERR_NOT_IN_UPGRADE_RANGE",
    "GET_UPGRADE_SERVICE_CONFIG",
    "UPGRADE_SERVICE",
    "UpgradeMixin",
]

GET_UPGRADE_SERVICE_CONFIG: Final = "kf/customer/get_upgrade_service_config"
"""Endpoint name of the upgrade-service configuration."""

UPGRADE_SERVICE: Final = "kf/customer/upgrade_service"
"""Endpoint name of a recommendation."""

CANCEL_UPGRADE_SERVICE: Final = "kf/customer/cancel_upgrade_service"
"""Endpoint name of withdrawing a recommendation."""

ERR_NOT_IN_UPGRADE_RANGE: Final = 95021
"""A member or group chat outside the upgrade-service range (page 94674 as an SDK
transcribes it: "otherwise 95021 is returned"; unverified)."""

_MAX_WORDING_BYTES: Final = 2048


class UpgradeMixin(SessionsMixin):
    """Serves the upgrade service: members and group chats recommended to customers.

    ``upgrade_service`` answers 95021 for a member or group chat outside the
    configured range, 40058 for a bad ``type`` or a missing object, and like the
    session endpoints 95000/95004 for a bad account and 40096 for an unknown
    customer. A member is in range when listed in ``corp.upgrade_members`` or a
    member of a department in ``corp.upgrade_departments``.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        GET_UPGRADE_SERVICE_CONFIG: Route("GET", "_upgrade_service_config"),
        UPGRADE_SERVICE: Route("POST", "_upgrade_service"),
        CANCEL_UPGRADE_SERVICE: Route("POST", "_cancel_upgrade_service"),
    }

    def upgrade_of(self, open_kfid: str, external_userid: str) -> dict[str, Any] | None:
        """The recommendation on a customer's session (``None`` if none or no session)."""
        found = self.corp.sessions.get((open_kfid, external_userid))
        return None if found is None else found.upgrade

    def _in_member_range(self, userid: str) -> bool:
        corp = self.corp
        if userid in corp.upgrade_members:
            return True
        return any(userid in corp.departments.get(d, ()) for d in corp.upgrade_departments)

    def _upgrade_service_config(self, call: Call) -> dict[str, Any]:
        corp = self.corp
        return {
            "member_range": {
                "userid_list": list(corp.upgrade_members),
                "department_id_list": list(corp.upgrade_departments),
            },
            "groupchat_range": {"chat_id_list": list(corp.upgrade_groupchats)},
        }

    def _upgrade_session(self, call: Call) -> tuple[dict[str, Any], SimSession]:
        request = call.json()
        account = self._session_account(request)
        external_userid = self._session_customer(request)
        return request, self.session(account.open_kfid, external_userid)

    def _upgrade_service(self, call: Call) -> dict[str, Any]:
        request, found = self._upgrade_session(call)
        kind = request.get("type")
        if kind == 1:
            item = _item(request, "member", "userid")
            if not self._in_member_range(item["userid"]):
                raise ApiError(ERR_NOT_IN_UPGRADE_RANGE)
            found.upgrade = {"type": 1, "member": item}
        elif kind == 2:
            item = _item(request, "groupchat", "chat_id")
            if item["chat_id"] not in self.corp.upgrade_groupchats:
                raise ApiError(ERR_NOT_IN_UPGRADE_RANGE)
            found.upgrade = {"type": 2, "groupchat": item}
        else:
            raise ApiError(40058, "type must be 1 (member) or 2 (groupchat)")
        return {}

    def _cancel_upgrade_service(self, call: Call) -> dict[str, Any]:
        _, found = self._upgrade_session(call)
        found.upgrade = None
        return {}


def _item(request: Mapping[str, Any], key: str, id_field: str) -> dict[str, Any]:
    """The ``member`` or ``groupchat`` object of a request, checked (40058 otherwise)."""
    item = request.get(key)
    if not isinstance(item, dict):
        raise ApiError(40058, f"{key} is required for this type")
    ident = item.get(id_field)
    if not isinstance(ident, str) or not ident:
        raise ApiError(40058, f"{key}.{id_field} must be a non-empty string")
    wording = item.get("wording")
    if wording is not None and (
        not isinstance(wording, str) or len(wording.encode()) > _MAX_WORDING_BYTES
    ):
        raise ApiError(40058, f"{key}.wording must be a string of at most 2048 bytes")
    out = {id_field: ident}
    if wording is not None:
        out["wording"] = wording
    return out
