"""``servicer/*`` endpoints: who serves an account (``kf.servicers``)."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Iterable
from typing import Any, Final

from .. import _checks
from .._constants import LOGGER_NAME
from .._endpoints import ENDPOINTS, Endpoint
from .._errors import InvalidResponseError
from ..models import Servicer, ServicerResult, ServicerResults, structure
from ._base import Resource

__all__ = ["MAX_DEPARTMENTS_PER_CALL", "MAX_USERIDS_PER_CALL", "ServicersAPI"]

logger = logging.getLogger(LOGGER_NAME)

SERVICER_ADD = ENDPOINTS["kf/servicer/add"]
SERVICER_DEL = ENDPOINTS["kf/servicer/del"]
SERVICER_LIST = ENDPOINTS["kf/servicer/list"]

#: Userids in one ``servicer/add`` or ``servicer/del`` call ("0 ~ 100; split
#: more into several calls", says the official page).
MAX_USERIDS_PER_CALL: Final = 100
#: Department ids in one call. The official pages say 0 to 100 for both endpoints;
#: one third-party transcription (WxJava) says 20 departments per ``servicer/add``
#: (and 20 departments per account). Not verified: lower it here if WeCom refuses.
MAX_DEPARTMENTS_PER_CALL: Final = 100


class ServicersAPI(Resource):
    """The ``servicer/*`` endpoints: who serves an account (``kf.servicers``).

    ``add`` and ``delete`` are retried after an ambiguous failure (adding a servicer
    twice, or removing one twice, leaves the same state; WeCom answers the repeat
    ``"ignored"``).
    """

    async def add(
        self,
        open_kfid: str,
        *,
        userids: Iterable[str] = (),
        department_ids: Iterable[int] = (),
    ) -> ServicerResults:
        """Make members, and/or whole departments, servicers of an account.

        More than 100 userids (or departments) are split into several calls, made
        one after the other. A user or department WeCom refuses does not raise:
        its result carries the errcode (60111 for a userid not in the corp, 60123
        for an unknown department); see :meth:`ServicerResults.raise_for_failures`.

        Args:
            open_kfid: The account.
            userids: Members' userids (``open_userid`` for third-party apps).
                Duplicates are dropped.
            department_ids: Departments whose members all serve the account.

        Returns:
            One result per distinct userid, then one per distinct department, in
            input order.

        Raises:
            TypeError: An argument of the wrong type, a bare string for ``userids``
                (nothing is sent).
            ValueError: Neither userids nor departments, or a bad id (nothing is sent).
            KfStateError: 95000 malformed or 95004 unknown ``open_kfid``.
            InvalidResponseError: An answer that leaves out an item; calling again
                is safe.
        """
        return await self._change(SERVICER_ADD, open_kfid, userids, department_ids)

    async def delete(
        self,
        open_kfid: str,
        *,
        userids: Iterable[str] = (),
        department_ids: Iterable[int] = (),
    ) -> ServicerResults:
        """Remove members, and/or whole departments, from an account's servicers.

        Split and reported like :meth:`add`.

        Args:
            open_kfid: The account.
            userids: Members' userids. Duplicates are dropped.
            department_ids: Departments added as a whole.

        Returns:
            One result per distinct userid, then one per distinct department, in
            input order.

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: Neither userids nor departments, or a bad id (nothing is sent).
            KfStateError: 95000 malformed or 95004 unknown ``open_kfid``.
            InvalidResponseError: An answer that leaves out an item; calling again
                is safe.
        """
        return await self._change(SERVICER_DEL, open_kfid, userids, department_ids)

    async def list(self, open_kfid: str) -> builtins.list[Servicer]:
        """The servicers of an account: members, and departments added as a whole.

        Args:
            open_kfid: The account.

        Returns:
            The entries, in WeCom's order. ``status`` and ``stop_type`` come only
            when the app may manage the account.

        Raises:
            TypeError: ``open_kfid`` is not a str (nothing is sent).
            ValueError: ``open_kfid`` is empty or too long (nothing is sent).
            KfStateError: 95000 malformed or 95004 unknown ``open_kfid``.
            InvalidResponseError: An answer of the wrong shape.
        """
        params = {"open_kfid": _checks.open_kfid(open_kfid)}
        data = await self._call(SERVICER_LIST, params=params)
        raw = data.get("servicer_list", [])
        return structure(raw, builtins.list[Servicer], path=SERVICER_LIST.path)

    async def _change(
        self,
        endpoint: Endpoint,
        open_kfid: str,
        userids: Iterable[str],
        department_ids: Iterable[int],
    ) -> ServicerResults:
        """Check, split into calls of at most the per-call limits, reassemble in order."""
        account = _checks.open_kfid(open_kfid)
        users = _checks.id_list("userids", userids, _checks.userid)
        departments = _checks.id_list("department_ids", department_ids, _checks.department_id)
        if not users and not departments:
            raise ValueError("give at least one of userids or department_ids")
        user_results: builtins.list[ServicerResult] = []
        department_results: builtins.list[ServicerResult] = []
        calls = max(
            -(-len(users) // MAX_USERIDS_PER_CALL),
            -(-len(departments) // MAX_DEPARTMENTS_PER_CALL),
        )
        for index in range(calls):
            chunk_users = users[index * MAX_USERIDS_PER_CALL : (index + 1) * MAX_USERIDS_PER_CALL]
            chunk_departments = departments[
                index * MAX_DEPARTMENTS_PER_CALL : (index + 1) * MAX_DEPARTMENTS_PER_CALL
            ]
            body: dict[str, Any] = {"open_kfid": account}
            if chunk_users:
                body["userid_list"] = chunk_users
            if chunk_departments:
                body["department_id_list"] = chunk_departments
            data = await self._call(endpoint, body)
            by_user, by_department = _sort_answer(endpoint, data)
            user_results.extend(_pick(endpoint, by_user, chunk_users, "userid"))
            department_results.extend(
                _pick(endpoint, by_department, chunk_departments, "department_id")
            )
        return ServicerResults([*user_results, *department_results], path=endpoint.path)


def _sort_answer(
    endpoint: Endpoint, data: dict[str, Any]
) -> tuple[dict[str, ServicerResult], dict[int, ServicerResult]]:
    """The answer's ``result_list``, by userid and by department id."""
    items = structure(
        data.get("result_list", []), builtins.list[ServicerResult], path=endpoint.path
    )
    by_user: dict[str, ServicerResult] = {}
    by_department: dict[int, ServicerResult] = {}
    for item in items:
        if item.userid is not None:
            by_user.setdefault(item.userid, item)
        elif item.department_id is not None:
            by_department.setdefault(item.department_id, item)
    return by_user, by_department


def _pick(
    endpoint: Endpoint,
    answered: dict[Any, ServicerResult],
    asked: builtins.list[Any],
    field: str,
) -> builtins.list[ServicerResult]:
    """The results for *asked*, in its order; an item the answer left out raises."""
    missing = [item for item in asked if item not in answered]
    if missing:
        logger.warning("%s left %d %s(s) out of result_list", endpoint.path, len(missing), field)
        raise InvalidResponseError(
            f"{endpoint.path} answered without a result for {len(missing)} {field}(s), "
            f"e.g. {missing[0]!r}; the call is safe to repeat",
            path=endpoint.path,
            reason="item left out",
        )
    return [answered[item] for item in asked]
