"""The id conversions a provider needs: ``idconvert/open_kfid`` and ``unionid_to_external_userid``.

A provider's app sees ids of its own subject (a third-party or agency-built app's
``open_kfid`` and ``external_userid`` differ from the corp's self-built app's):
``open_kfids`` converts the corp's account ids (page 97110, at most 1,000 a call),
and ``unionid`` finds the corp's customer behind a WeChat user's unionid, or a
``pending_id`` to keep until they become one (page 97108: valid 90 days).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from .. import _checks
from .._endpoints import ENDPOINTS
from .._errors import InvalidResponseError
from ._base import Resource

__all__ = ["IdsAPI", "OpenKfidConversion", "UnionidConversion"]

OPEN_KFID = ENDPOINTS["idconvert/open_kfid"]
UNIONID = ENDPOINTS["idconvert/unionid_to_external_userid"]
#: Ids one ``idconvert/open_kfid`` call takes (page 97110).
MAX_OPEN_KFIDS = 1000


@attrs.frozen(kw_only=True)
class OpenKfidConversion:
    """``{corp's open_kfid: the provider's}`` and the ids that could not be converted."""

    converted: dict[str, str]
    invalid: list[str]


@attrs.frozen(kw_only=True)
class UnionidConversion:
    """The corp's ``external_userid`` for a unionid, or else a ``pending_id``."""

    external_userid: str | None = None
    pending_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"UnionidConversion(external_userid={self.external_userid!r}, "
            f"pending={self.pending_id is not None})"
        )


class IdsAPI(Resource):
    """Id conversions (reached as ``kf.ids``)."""

    async def open_kfids(self, open_kfids: Iterable[str]) -> OpenKfidConversion:
        """The provider's ids of the corp's KF accounts (page 97110)."""
        ids = _checks.id_list("open_kfids", open_kfids, _checks.open_kfid, max_items=MAX_OPEN_KFIDS)
        if not ids:
            raise ValueError("open_kfids must not be empty")
        answer = await self._call(OPEN_KFID, {"open_kfid_list": ids})
        items = answer.get("items", [])
        invalid = answer.get("invalid_open_kfid_list", [])
        if not isinstance(items, list) or not isinstance(invalid, list):
            raise InvalidResponseError(
                f"{OPEN_KFID.path} answered without items", path=OPEN_KFID.path, reason="shape"
            )
        converted = {
            str(item["open_kfid"]): str(item["new_open_kfid"])
            for item in items
            if isinstance(item, dict) and "open_kfid" in item and "new_open_kfid" in item
        }
        return OpenKfidConversion(converted=converted, invalid=[str(i) for i in invalid])

    async def unionid(
        self, unionid: str, openid: str, *, subject_type: int = 0
    ) -> UnionidConversion:
        """The corp's customer behind a WeChat *unionid* (with the *openid* it came with),
        or a ``pending_id`` if they are not one yet (page 97108). *subject_type*: 0 the
        mini program or official account is the corp's, 1 the provider's."""
        if isinstance(subject_type, bool) or subject_type not in (0, 1):
            raise ValueError(f"subject_type must be 0 or 1, got {subject_type!r}")
        body: dict[str, object] = {
            "unionid": _checks.text("unionid", unionid, max_bytes=128),
            "openid": _checks.text("openid", openid, max_bytes=128),
        }
        if subject_type:
            body["subject_type"] = 1
        answer = await self._call(UNIONID, body)
        external, pending = answer.get("external_userid"), answer.get("pending_id")
        return UnionidConversion(
            external_userid=str(external) if external else None,
            pending_id=str(pending) if pending else None,
        )
