"""The provider simulator's own endpoints: suite token, permanent code, corp token, idconvert.

Handlers take a :class:`~wecom_kf_async.testing.simulator.Call` and return the
answer's fields; whether ``errcode``/``errmsg`` are added on success is the
route's business (``get_suite_token`` and ``get_corp_token`` answer without them,
pages 97162 and 90605).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Final, Literal

from ._provider_core import (
    ERR_AUTH_CODE,
    ERR_PERMANENT_CODE,
    ERR_SUITE_ID,
    ERR_SUITE_SECRET,
    ERR_SUITE_TICKET,
    ProviderCore,
    _Corp,
)
from .simulator import ApiError, Call
from .simulator.customers import _derive_profile

__all__ = [
    "GET_CORP_TOKEN",
    "GET_PERMANENT_CODE",
    "GET_PERMANENT_CODE_V2",
    "GET_SUITE_TOKEN",
    "IDCONVERT_OPEN_KFID",
    "IDCONVERT_UNIONID",
    "OPEN_KFID_MAX",
    "ProviderApi",
]

GET_SUITE_TOKEN: Final = "service/get_suite_token"  # noqa: S105 - an endpoint name
GET_PERMANENT_CODE: Final = "service/get_permanent_code"
GET_PERMANENT_CODE_V2: Final = "service/v2/get_permanent_code"
GET_CORP_TOKEN: Final = "service/get_corp_token"  # noqa: S105 - an endpoint name
IDCONVERT_OPEN_KFID: Final = "idconvert/open_kfid"
IDCONVERT_UNIONID: Final = "idconvert/unionid_to_external_userid"

OPEN_KFID_MAX: Final = 1000
"""Most ids one ``idconvert/open_kfid`` call may carry (page 97110)."""

_AGENT_ID: Final = 1000002


@dataclass(frozen=True, slots=True)
class ProviderRoute:
    """How one provider endpoint is served: handler, credential, errcode on success."""

    handler: str
    credential: Literal["none", "suite_access_token", "access_token"]
    errcode_on_success: bool = True


class ProviderApi(ProviderCore):
    """The HTTP handlers of the provider's own endpoints."""

    ROUTES: ClassVar[Mapping[str, ProviderRoute]] = {
        GET_SUITE_TOKEN: ProviderRoute("_get_suite_token", "none", errcode_on_success=False),
        GET_PERMANENT_CODE: ProviderRoute("_get_permanent_code", "suite_access_token"),
        GET_PERMANENT_CODE_V2: ProviderRoute("_get_permanent_code_v2", "suite_access_token"),
        GET_CORP_TOKEN: ProviderRoute(
            "_get_corp_token", "suite_access_token", errcode_on_success=False
        ),
        IDCONVERT_OPEN_KFID: ProviderRoute("_idconvert_open_kfid", "access_token"),
        IDCONVERT_UNIONID: ProviderRoute("_idconvert_unionid", "access_token"),
    }

    def _handle(self, endpoint: str, call: Call) -> dict[str, Any]:
        """Check the route's credential, run its handler; the answer's fields."""
        route = self.ROUTES[endpoint]
        corp: _Corp | None = None
        if route.credential == "suite_access_token":
            self._check_suite_token(call.query.get("suite_access_token"), call.now)
        elif route.credential == "access_token":
            token = call.query.get("access_token")
            corp = self._corp_of_token(token)
            corp.sim._check_token(token, call.now)  # 40014 once revoked, 42001 once expired
        payload: dict[str, Any] = getattr(self, route.handler)(call, corp)
        if route.errcode_on_success:
            return {"errcode": 0, "errmsg": "ok", **payload}
        return payload

    # -------------------------------------------------------------- suite token

    def _get_suite_token(self, call: Call, _corp: _Corp | None) -> dict[str, Any]:
        request = call.json()
        if request.get("suite_id") != self.suite_id:
            raise ApiError(ERR_SUITE_ID)
        if request.get("suite_secret") != self._suite_secret:
            raise ApiError(ERR_SUITE_SECRET)
        ticket = request.get("suite_ticket")
        expiry = self._tickets.get(ticket) if isinstance(ticket, str) else None
        if expiry is None or call.now >= expiry:
            raise ApiError(ERR_SUITE_TICKET)
        token, expires_in = self._suite_token_for(call.now)
        return {"suite_access_token": token, "expires_in": expires_in}

    # ----------------------------------------------------------- permanent code

    def _redeem(self, call: Call) -> _Corp:
        """Spend the request's ``auth_code`` (single use, 10 minutes): its corp."""
        code = call.json().get("auth_code")
        entry = self._auth_codes.pop(code, None) if isinstance(code, str) else None
        if entry is None:
            raise ApiError(ERR_AUTH_CODE, "invalid auth_code (unknown or used)")
        corp_id, expires_at = entry
        if call.now >= expires_at:
            raise ApiError(ERR_AUTH_CODE, "invalid auth_code (expired)")
        return self._corps[corp_id]

    def _authorisation(self, corp: _Corp) -> dict[str, Any]:
        corp_id = corp.sim.corp_id
        return {
            "permanent_code": corp.permanent_code,
            "auth_corp_info": {"corpid": corp_id, "corp_name": corp.name},
            "auth_user_info": {
                "userid": "sim-admin",
                "open_userid": "wo" + self._digest("open_userid", corp_id)[:30],
                "name": "Sim Admin",
            },
        }

    def _get_permanent_code(self, call: Call, _corp: _Corp | None) -> dict[str, Any]:
        corp = self._redeem(call)
        token, expires_in = self._corp_token(corp.sim.corp_id, call.now)
        return {
            "access_token": token,
            "expires_in": expires_in,
            **self._authorisation(corp),
            "auth_info": {"agent": [{"agentid": _AGENT_ID, "name": "Sim KF Suite"}]},
        }

    def _get_permanent_code_v2(self, call: Call, _corp: _Corp | None) -> dict[str, Any]:
        return self._authorisation(self._redeem(call))

    # --------------------------------------------------------------- corp token

    def _get_corp_token(self, call: Call, _corp: _Corp | None) -> dict[str, Any]:
        request = call.json()
        corp_id = request.get("auth_corpid")
        code = request.get("permanent_code")
        if isinstance(corp_id, str) and corp_id:
            self.corp_token_calls[corp_id] += 1
        corp = self._corps.get(corp_id) if isinstance(corp_id, str) else None
        if (
            corp is None
            or not corp.installed
            or not isinstance(code, str)
            or code != corp.permanent_code
        ):
            raise ApiError(ERR_PERMANENT_CODE)
        token, expires_in = self._corp_token(corp.sim.corp_id, call.now)
        return {"access_token": token, "expires_in": expires_in}

    # ---------------------------------------------------------------- idconvert

    def new_open_kfid(self, corp_id: str, open_kfid: str) -> str:
        """The provider-subject id ``idconvert/open_kfid`` gives for *open_kfid* of *corp_id*."""
        return "wk" + self._digest("open_kfid", corp_id, open_kfid)[:30]

    def pending_id(self, corp_id: str, unionid: str) -> str:
        """The ``pending_id`` ``unionid_to_external_userid`` gives for an unknown *unionid*."""
        return "p" + self._digest("pending_id", corp_id, unionid)[:31]

    def _idconvert_open_kfid(self, call: Call, corp: _Corp | None) -> dict[str, Any]:
        assert corp is not None  # noqa: S101 - the route needs an access_token
        ids = call.json().get("open_kfid_list")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiError(40058, "open_kfid_list must be a non-empty list of strings")
        if len(ids) > OPEN_KFID_MAX:
            raise ApiError(
                40058, f"open_kfid_list size {len(ids)} exceeds the limit of {OPEN_KFID_MAX}"
            )
        accounts = corp.sim.corp.accounts
        corp_id = corp.sim.corp_id
        items: list[dict[str, str]] = []
        invalid: list[str] = []
        for open_kfid in dict.fromkeys(ids):
            if open_kfid in accounts:
                new = self.new_open_kfid(corp_id, open_kfid)
                items.append({"open_kfid": open_kfid, "new_open_kfid": new})
            else:
                invalid.append(open_kfid)
        return {"items": items, "invalid_open_kfid_list": invalid}

    def _idconvert_unionid(self, call: Call, corp: _Corp | None) -> dict[str, Any]:
        assert corp is not None  # noqa: S101 - the route needs an access_token
        request = call.json()
        unionid = request.get("unionid")
        openid = request.get("openid")
        if not isinstance(unionid, str) or not unionid:
            raise ApiError(40058, "unionid must be a non-empty string")
        if not isinstance(openid, str) or not openid:
            raise ApiError(40058, "openid must be a non-empty string")
        subject_type = request.get("subject_type", 0)
        if subject_type not in (0, 1):
            raise ApiError(40058, "subject_type must be 0 or 1")
        # The customers the corp was given (add_customer): their unionid is the one
        # given, else the one their derived profile has when unionids are visible.
        for external_userid, fields in corp.sim._customers.items():
            known = fields.get("unionid")
            if known is None:
                known = _derive_profile(external_userid, False, False)["unionid"]
            if known == unionid:
                return {"external_userid": external_userid}
        return {"pending_id": self.pending_id(corp.sim.corp_id, unionid)}
