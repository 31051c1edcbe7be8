"""``customer/batchget``: customers known by prefix or added, with derived profiles."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ._base import SimulatorBase
from ._types import ApiError, Call, Route

__all__ = ["BATCHGET_MAX_IDS", "CUSTOMER_BATCHGET", "CustomersMixin"]

CUSTOMER_BATCHGET: Final = "kf/customer/batchget"
"""Endpoint name (path after ``/cgi-bin/``) of the customer batch lookup."""

BATCHGET_MAX_IDS: Final = 100
"""Most ``external_userid`` values one ``customer/batchget`` call may carry."""

_NICKNAMES: Final = (
    ("客户", ""),
    ("Customer ", ""),
    ("小", "🌸"),
    ("user_", ""),
    ("王", ""),
    ("Émile ", ""),
)
_CHANNEL_NAMES: Final = ("视频号", "Channel ", "频道🎬")
_SHOP_NAMES: Final = ("小店", "Shop ")


class CustomersMixin(SimulatorBase):
    """Customers: any id with ``known_prefix``, plus those added; profiles derived from the id."""

    ROUTES: ClassVar[Mapping[str, Route]] = {
        CUSTOMER_BATCHGET: Route("POST", "_batchget"),
    }

    def _setup(self) -> None:
        super()._setup()
        self._customers: dict[str, dict[str, Any]] = {}
        self._forgotten: set[str] = set()

    def add_customer(self, external_userid: str, **fields: Any) -> None:
        """Make ``external_userid`` a known customer (within its 48-hour window).

        ``fields`` override the derived profile (``nickname``, ``avatar``, ``gender``,
        ``unionid``, ``enter_session_context`` or anything else).
        """
        self._customers[external_userid] = dict(fields)
        self._forgotten.discard(external_userid)

    def forget(self, external_userid: str) -> None:
        """Make ``external_userid`` unknown, as if its 48-hour window had passed."""
        self._customers.pop(external_userid, None)
        self._forgotten.add(external_userid)

    def is_known(self, external_userid: str) -> bool:
        """Tell whether ``customer/batchget`` would resolve ``external_userid``."""
        if external_userid in self._customers:
            return True
        prefix = self.known_prefix
        return (
            prefix is not None
            and external_userid.startswith(prefix)
            and external_userid not in self._forgotten
        )

    def profile(self, external_userid: str, *, with_context: bool = False) -> dict[str, Any]:
        """Return the customer object ``customer/batchget`` answers for a known id.

        Auto-known customers get a profile derived deterministically from the id;
        fields given to :meth:`add_customer` override it.
        """
        customer = _derive_profile(external_userid, self.third_party, with_context)
        if self.extra_fields:
            customer.update(self.extra_fields)
        overrides = self._customers.get(external_userid)
        if overrides:
            customer.update(overrides)
            if not with_context:
                customer.pop("enter_session_context", None)
        return customer

    def _batchget(self, call: Call) -> dict[str, Any]:
        request = call.json()
        ids = request.get("external_userid_list")
        if not isinstance(ids, list) or not ids:
            raise ApiError(40058, "external_userid_list must be a non-empty list")
        if len(ids) > BATCHGET_MAX_IDS:
            raise ApiError(
                40058,
                f"external_userid_list size {len(ids)} exceeds the limit of {BATCHGET_MAX_IDS}",
            )
        if not all(isinstance(uid, str) for uid in ids):
            raise ApiError(40058, "external_userid_list items must be strings")
        with_context = bool(request.get("need_enter_session_context", 0))
        customers: list[dict[str, Any]] = []
        invalid: list[str] = []
        added = self._customers
        forgotten = self._forgotten
        prefix = self.known_prefix
        third_party = self.third_party
        extra = self.extra_fields
        for uid in dict.fromkeys(ids):
            if uid in added:
                customers.append(self.profile(uid, with_context=with_context))
            elif prefix is not None and uid.startswith(prefix) and uid not in forgotten:
                customer = _derive_profile(uid, third_party, with_context)
                if extra:
                    customer.update(extra)
                customers.append(customer)
            else:
                invalid.append(uid)
        if self.shuffle:
            self._shuffle_rng.shuffle(customers)
        self.stats.ids_requested += len(ids)
        return {"customer_list": customers, "invalid_external_userid": invalid}


def _derive_profile(external_userid: str, third_party: bool, with_context: bool) -> dict[str, Any]:
    """Build the deterministic profile of an auto-known customer (hot path: keep it lean)."""
    raw = external_userid.encode()
    digest = zlib.crc32(raw)
    prefix, suffix = _NICKNAMES[digest % 6]
    customer: dict[str, Any] = {
        "external_userid": external_userid,
        "nickname": f"{prefix}{digest % 100_000}{suffix}",
    }
    if third_party:
        customer["gender"] = 0
    else:
        hex_digest = f"{digest:08x}"
        customer["avatar"] = f"https://wework.sim.invalid/avatar/{hex_digest}/0"
        customer["gender"] = (digest >> 4) % 3
        customer["unionid"] = f"osim{hex_digest}{zlib.crc32(raw, 0x5EED):08x}"
    if with_context:
        customer["enter_session_context"] = _session_context(digest)
    return customer


def _session_context(digest: int) -> dict[str, Any]:
    variant = (digest >> 8) % 4
    if variant == 0:
        return {"scene": "", "scene_param": ""}
    number = (digest >> 12) % 1000
    context: dict[str, Any] = {
        "scene": f"sim_scene_{number % 7}",
        "scene_param": f"from%3Dsim{number}" if variant != 3 else "",
    }
    if variant == 1:
        prefix = _CHANNEL_NAMES[number % 3]
        context["wechat_channels"] = {"nickname": f"{prefix}{number}", "scene": 1 + number % 3}
    elif variant == 2:
        prefix = _SHOP_NAMES[number % 2]
        context["wechat_channels"] = {"shop_nickname": f"{prefix}{number}", "scene": 4 + number % 2}
    return context
