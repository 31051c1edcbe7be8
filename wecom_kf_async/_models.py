"""Frozen data models for WeCom's answers, built through one cattrs converter."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import attrs
import cattrs

from ._errors import BatchGetError

__all__ = [
    "BatchGetResult",
    "Customer",
    "EnterSessionContext",
    "WechatChannels",
    "converter",
]


@attrs.frozen(kw_only=True)
class WechatChannels:
    """The WeChat Channels (视频号) account a customer came from.

    ``scene``: 1 channel home page, 2 live-room product list, 3 product window,
    4 shop product detail, 5 shop order page. ``nickname`` is set for 1-3,
    ``shop_nickname`` for 4-5.
    """

    nickname: str | None = None
    shop_nickname: str | None = None
    scene: int | None = None


@attrs.frozen(kw_only=True)
class EnterSessionContext:
    """How the customer last entered the session within 48 hours."""

    scene: str | None = None
    scene_param: str | None = None
    wechat_channels: WechatChannels | None = None


@attrs.frozen(kw_only=True)
class Customer:
    """One WeChat customer, as ``customer/batchget`` returns it.

    ``avatar`` and ``unionid`` are absent for third-party apps (``gender`` is then
    always 0); ``enter_session_context`` only comes with
    ``need_enter_session_context=True``.
    """

    external_userid: str
    nickname: str = ""
    avatar: str | None = None
    gender: int = 0
    unionid: str | None = None
    enter_session_context: EnterSessionContext | None = None


#: The converter every model goes through. Extra keys from the server are ignored.
converter = cattrs.Converter(forbid_extra_keys=False)


def structure_customers(raw: Any) -> list[Customer]:
    """Structure a ``customer_list`` JSON array into :class:`Customer` objects."""
    return converter.structure(raw, list[Customer])


@attrs.frozen(kw_only=True)
class BatchGetResult:
    """What :meth:`CustomersAPI.batch_get` found for each distinct id it was given.

    Every distinct input id is in exactly one of :attr:`customers` (resolved),
    :attr:`invalid_external_userids` (WeCom does not know it: no session within
    48 hours) or :attr:`failed` (its chunk failed after retries). The first two keep
    the order of the input.
    """

    customers: list[Customer] = attrs.field(factory=list)
    invalid_external_userids: list[str] = attrs.field(factory=list)
    failed: dict[str, Exception] = attrs.field(factory=dict)
    _index: dict[str, Customer] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {c.external_userid: c for c in self.customers})

    @property
    def ok(self) -> bool:
        """True when no id failed."""
        return not self.failed

    def raise_for_failures(self) -> BatchGetResult:
        """Raise :class:`BatchGetError` if any id failed; otherwise return ``self``."""
        if self.failed:
            raise BatchGetError(self.failed)
        return self

    def get(self, external_userid: str) -> Customer | None:
        """Return the customer with this id, or ``None`` if it was not resolved."""
        return self._index.get(external_userid)

    def __getitem__(self, external_userid: str) -> Customer:
        """Return the customer with this id; ``KeyError`` says why it is missing."""
        customer = self._index.get(external_userid)
        if customer is not None:
            return customer
        if external_userid in self.failed:
            raise KeyError(f"{external_userid!r} failed: {self.failed[external_userid]}")
        if external_userid in self.invalid_external_userids:
            raise KeyError(f"{external_userid!r} is invalid (no session within 48 hours)")
        raise KeyError(f"{external_userid!r} was not requested")

    def __contains__(self, external_userid: object) -> bool:
        return external_userid in self._index

    def __iter__(self) -> Iterator[Customer]:
        return iter(self.customers)

    def __len__(self) -> int:
        return len(self.customers)

    @classmethod
    def merge(cls, pages: list[BatchGetResult]) -> BatchGetResult:
        """Concatenate results of consecutive chunks, keeping their order."""
        customers: list[Customer] = []
        invalid: list[str] = []
        failed: dict[str, Exception] = {}
        for page in pages:
            customers.extend(page.customers)
            invalid.extend(page.invalid_external_userids)
            failed.update(page.failed)
        return cls(customers=customers, invalid_external_userids=invalid, failed=failed)


def as_mapping(customer: Customer) -> Mapping[str, Any]:
    """Unstructure a customer back into WeCom's JSON shape (``None`` fields left out)."""
    return _drop_none(converter.unstructure(customer))


def _drop_none(raw: dict[str, Any]) -> dict[str, Any]:
    return {k: _drop_none(v) if isinstance(v, dict) else v for k, v in raw.items() if v is not None}
