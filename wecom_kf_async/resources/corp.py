"""Corp-level facts of the KF app: ``get_corp_qualification``."""

from __future__ import annotations

from .._endpoints import ENDPOINTS
from ..models import CorpQualification
from ._base import Resource

__all__ = ["CorpAPI"]

GET_CORP_QUALIFICATION = ENDPOINTS["kf/get_corp_qualification"]


class CorpAPI(Resource):
    """Corp-level calls (reached as ``kf.corp_qualification()``)."""

    async def qualification(self) -> CorpQualification:
        """Whether the corp may use what needs a qualification (WeChat Channels binding)."""
        return await self._get(GET_CORP_QUALIFICATION, CorpQualification)
