"""The simulator's servicers of each KF account (``servicer/*``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Final

from ._base import SimulatorBase
from ._state import SimAccount, SimServicer
from ._types import ApiError, Call, Route
from .accounts import find_account

__all__ = [
    "MAX_SERVICER_DEPARTMENTS",
    "MAX_SERVICER_USERIDS",
    "SERVICER_ADD",
    "SERVICER_DEL",
    "SERVICER_LIST",
    "ServicersMixin",
]

SERVICER_ADD: Final = "kf/servicer/add"
SERVICER_DEL: Final = "kf/servicer/del"
SERVICER_LIST: Final = "kf/servicer/list"

#: Userids one ``servicer/add`` or ``servicer/del`` call may carry.
MAX_SERVICER_USERIDS: Final = 100
#: Departments one call may carry (the official pages say 100; one third-party
#: transcription says 20 per add: unverified, see the client's constant).
MAX_SERVICER_DEPARTMENTS: Final = 100

_USERID_NOT_FOUND: Final = 60111
_INVALID_DEPARTMENT: Final = 60123


def _item(key: str, value: object, errcode: int = 0, errmsg: str = "success") -> dict[str, Any]:
    return {key: value, "errcode": errcode, "errmsg": errmsg}


class ServicersMixin(SimulatorBase):
    """Serves who serves each account (``servicer/add``, ``servicer/del``, ``servicer/list``).

    Only members of the corp (``sim.corp.members``) may serve: another userid gets
    its own result with errcode 60111, an unknown department 60123; the call as a
    whole succeeds. An unknown account answers 95004 for the whole call, more than
    100 userids or departments 40058. A department added as a whole is listed as
    ``{"department_id": ...}`` and its members serve the account (they are in
    ``account.servicers`` with ``department_id`` set). ``status`` and ``stop_type``
    are listed only for an account with ``manage_privilege``.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        SERVICER_ADD: Route("POST", "_servicer_add"),
        SERVICER_DEL: Route("POST", "_servicer_del"),
        SERVICER_LIST: Route("GET", "_servicer_list"),
    }

    # ------------------------------------------------------------------ seeding

    def add_member(self, userid: str, department_ids: Iterable[int] = ()) -> None:
        """Make *userid* a member of the corp (no request, not counted).

        A member joining a department that serves an account as a whole serves it too.

        Args:
            userid: The member's userid.
            department_ids: Departments to put the member in (created if new).
        """
        corp = self.corp
        corp.members.add(userid)
        for department_id in department_ids:
            corp.departments.setdefault(department_id, set()).add(userid)
            for account in corp.accounts.values():
                if department_id in account.departments and userid not in account.servicers:
                    account.servicers[userid] = SimServicer(
                        userid=userid, department_id=department_id
                    )

    def add_servicer(
        self, open_kfid: str, userid: str, *, status: int = 0, stop_type: int = 0
    ) -> None:
        """Make *userid* a servicer of the account directly (no request, not counted).

        The userid becomes a member of the corp if it is not one.

        Args:
            open_kfid: An existing account (``KeyError`` otherwise).
            userid: The member.
            status: 0 receiving, 1 stopped.
            stop_type: When stopped: 0 stopped, 1 suspended.
        """
        account = self.corp.accounts[open_kfid]
        self.corp.members.add(userid)
        account.servicers[userid] = SimServicer(userid=userid, status=status, stop_type=stop_type)

    # ---------------------------------------------------------------- handlers

    def _servicer_request(self, call: Call) -> tuple[SimAccount, list[str], list[int]]:
        request = call.json()
        account = find_account(self.corp, request.get("open_kfid"))
        userids = request.get("userid_list", [])
        departments = request.get("department_id_list", [])
        if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
            raise ApiError(40058, "userid_list must be a list of strings")
        if not isinstance(departments, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) for d in departments
        ):
            raise ApiError(40058, "department_id_list must be a list of integers")
        if not userids and not departments:
            raise ApiError(40058, "userid_list and department_id_list must not both be empty")
        if len(userids) > MAX_SERVICER_USERIDS:
            raise ApiError(
                40058,
                f"userid_list size {len(userids)} exceeds the limit of {MAX_SERVICER_USERIDS}",
            )
        if len(departments) > MAX_SERVICER_DEPARTMENTS:
            raise ApiError(
                40058,
                f"department_id_list size {len(departments)} exceeds the limit of "
                f"{MAX_SERVICER_DEPARTMENTS}",
            )
        return account, userids, departments

    def _answer_results(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        if self.shuffle:
            self._shuffle_rng.shuffle(results)
        return {"result_list": results}

    def _servicer_add(self, call: Call) -> dict[str, Any]:
        account, userids, departments = self._servicer_request(call)
        corp = self.corp
        results: list[dict[str, Any]] = []
        for userid in userids:
            if userid not in corp.members:
                results.append(_item("userid", userid, _USERID_NOT_FOUND, "userid not found"))
                continue
            current = account.servicers.get(userid)
            if current is not None and current.department_id is None:
                results.append(_item("userid", userid, errmsg="ignored"))
                continue
            account.servicers[userid] = SimServicer(userid=userid)
            results.append(_item("userid", userid))
        for department_id in departments:
            if department_id not in corp.departments:
                results.append(
                    _item("department_id", department_id, _INVALID_DEPARTMENT, "invalid department")
                )
                continue
            if department_id in account.departments:
                results.append(_item("department_id", department_id, errmsg="ignored"))
                continue
            account.departments.add(department_id)
            for userid in corp.departments[department_id]:
                if userid not in account.servicers:
                    account.servicers[userid] = SimServicer(
                        userid=userid, department_id=department_id
                    )
            results.append(_item("department_id", department_id))
        return self._answer_results(results)

    def _servicer_del(self, call: Call) -> dict[str, Any]:
        account, userids, departments = self._servicer_request(call)
        corp = self.corp
        results: list[dict[str, Any]] = []
        for userid in userids:
            if userid not in corp.members:
                results.append(_item("userid", userid, _USERID_NOT_FOUND, "userid not found"))
                continue
            current = account.servicers.get(userid)
            if current is None or current.department_id is not None:
                results.append(_item("userid", userid, errmsg="ignored"))
                continue
            self._drop_servicer(account, userid)
            results.append(_item("userid", userid))
        for department_id in departments:
            if department_id not in corp.departments:
                results.append(
                    _item("department_id", department_id, _INVALID_DEPARTMENT, "invalid department")
                )
                continue
            if department_id not in account.departments:
                results.append(_item("department_id", department_id, errmsg="ignored"))
                continue
            account.departments.discard(department_id)
            for userid, servicer in list(account.servicers.items()):
                if servicer.department_id == department_id:
                    self._drop_servicer(account, userid)
            results.append(_item("department_id", department_id))
        return self._answer_results(results)

    def _drop_servicer(self, account: SimAccount, userid: str) -> None:
        """Remove *userid*, unless another department of the account still brings it in."""
        for department_id in sorted(account.departments):
            if userid in self.corp.departments.get(department_id, ()):
                account.servicers[userid] = SimServicer(userid=userid, department_id=department_id)
                return
        account.servicers.pop(userid, None)

    def _servicer_list(self, call: Call) -> dict[str, Any]:
        account = find_account(self.corp, call.query.get("open_kfid"))
        entries: list[dict[str, Any]] = []
        for servicer in account.servicers.values():
            if servicer.department_id is not None:
                continue  # listed through its department
            entry: dict[str, Any] = {"userid": servicer.userid}
            if account.manage_privilege:
                entry["status"] = servicer.status
                if servicer.status == 1:
                    entry["stop_type"] = servicer.stop_type
            entries.append(entry)
        entries.extend({"department_id": d} for d in sorted(account.departments))
        return {"servicer_list": entries}
