"""Customers as ``customer/batchget`` answers them, and the batcher's result."""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import attrs

from .._errors import BatchGetError
from ._converter import converter
from ._kf import withheld

__all__ = [
    "BatchGetResult",
    "ChannelsScene",
    "Customer",
    "EnterSessionContext",
    "Gender",
    "WechatChannels",
    "as_mapping",
    "structure_customers",
]


class Gender(enum.IntEnum):
    """A customer's gender as WeCom reports it (third-party and agency-built apps always
    get 0, page 96429)."""

    UNKNOWN = 0
    MALE = 1
    FEMALE = 2


class ChannelsScene(enum.IntEnum):
    """Where in WeChat Channels (视频号) a customer came from."""

    HOME_PAGE = 1
    LIVE_PRODUCT_LIST = 2
    PRODUCT_WINDOW = 3
    SHOP_PRODUCT = 4
    SHOP_ORDER = 5


@attrs.frozen(kw_only=True)
class WechatChannels:
    """The WeChat Channels (视频号) account a customer came from.

    ``scene`` is a :class:`ChannelsScene` (an undocumented one stays a plain int).
    ``nickname`` is set for scenes 1-3, ``shop_nickname`` for 4-5.
    """

    nickname: str | None = attrs.field(default=None, repr=withheld)
    shop_nickname: str | None = attrs.field(default=None, repr=withheld)
    scene: ChannelsScene | int | None = None


@attrs.frozen(kw_only=True)
class EnterSessionContext:
    """How the customer last entered the session within 48 hours."""

    scene: str | None = None
    scene_param: str | None = attrs.field(default=None, repr=withheld)
    wechat_channels: WechatChannels | None = None


@attrs.frozen(kw_only=True)
class Customer:
    """One WeChat customer, as ``customer/batchget`` returns it.

    ``avatar`` is absent for third-party and agency-built apps, whose ``gender`` is
    always 0 (page 96429); third-party apps get no ``unionid`` either.
    ``enter_session_context`` only comes with ``need_enter_session_context=True``.
    The ``repr`` shows the ``external_userid`` and withholds the nickname, avatar,
    gender and unionid.
    """

    external_userid: str
    nickname: str = attrs.field(default="", repr=withheld)
    avatar: str | None = attrs.field(default=None, repr=withheld)
    gender: Gender | int = attrs.field(default=Gender.UNKNOWN, repr=withheld)
    unionid: str | None = attrs.field(default=None, repr=withheld)
    enter_session_context: EnterSessionContext | None = None


# Hand-written structure hooks for the hot path (100 customers per chunk, millions
# per run): cattrs' generated functions cost about 9 us per customer with context,
# these about a third of that. They check types instead of coercing them: a field of
# the wrong JSON type raises (and the chunk fails as an invalid response).


def _slot_setters(cls: type) -> tuple[Callable[[object, object], None], ...]:
    """The slot descriptors' setters of a frozen slotted attrs class, in field order.

    Setting slots through them skips attrs' frozen ``__init__``/``__setattr__``
    (about twice as fast); the hooks below set every field, and a test checks that
    what they build equals what the ``__init__`` builds.
    """
    return tuple(cls.__dict__[field.name].__set__ for field in attrs.fields(cls))


_new = object.__new__
_GENDERS: dict[int, Gender | int] = {member.value: member for member in Gender}
_SCENES: dict[int, ChannelsScene | int] = {member.value: member for member in ChannelsScene}
_CUSTOMER_SET = _slot_setters(Customer)
_CONTEXT_SET = _slot_setters(EnterSessionContext)
_CHANNELS_SET = _slot_setters(WechatChannels)


def _bad(field: str, kind: str, value: object) -> TypeError:
    return TypeError(f"{field} must be {kind}, got {type(value).__name__}")


def _structure_channels(raw: Any, _: object = None) -> WechatChannels:
    if type(raw) is not dict:
        raise _bad("wechat_channels", "an object", raw)
    get = raw.get
    nickname, shop_nickname, scene = get("nickname"), get("shop_nickname"), get("scene")
    if nickname is not None and type(nickname) is not str:
        raise _bad("wechat_channels.nickname", "a string", nickname)
    if shop_nickname is not None and type(shop_nickname) is not str:
        raise _bad("wechat_channels.shop_nickname", "a string", shop_nickname)
    if scene is not None and type(scene) is not int:
        raise _bad("wechat_channels.scene", "an integer", scene)
    made = _new(WechatChannels)
    set_nickname, set_shop_nickname, set_scene = _CHANNELS_SET
    set_nickname(made, nickname)
    set_shop_nickname(made, shop_nickname)
    set_scene(made, None if scene is None else _SCENES.get(scene, scene))
    return made


def _structure_context(raw: Any, _: object = None) -> EnterSessionContext:
    if type(raw) is not dict:
        raise _bad("enter_session_context", "an object", raw)
    get = raw.get
    scene, scene_param, channels = get("scene"), get("scene_param"), get("wechat_channels")
    if scene is not None and type(scene) is not str:
        raise _bad("enter_session_context.scene", "a string", scene)
    if scene_param is not None and type(scene_param) is not str:
        raise _bad("enter_session_context.scene_param", "a string", scene_param)
    made = _new(EnterSessionContext)
    set_scene, set_scene_param, set_channels = _CONTEXT_SET
    set_scene(made, scene)
    set_scene_param(made, scene_param)
    set_channels(made, None if channels is None else _structure_channels(channels))
    return made


def _structure_customer(raw: Any, _: object = None) -> Customer:
    if type(raw) is not dict:
        raise _bad("a customer", "an object", raw)
    get = raw.get
    external_userid = get("external_userid")
    nickname, avatar, gender = get("nickname", ""), get("avatar"), get("gender", 0)
    unionid, context = get("unionid"), get("enter_session_context")
    if type(external_userid) is not str:
        raise _bad("external_userid", "a string", external_userid)
    if type(nickname) is not str:
        raise _bad("nickname", "a string", nickname)
    if avatar is not None and type(avatar) is not str:
        raise _bad("avatar", "a string", avatar)
    if type(gender) is not int:
        raise _bad("gender", "an integer", gender)
    if unionid is not None and type(unionid) is not str:
        raise _bad("unionid", "a string", unionid)
    made = _new(Customer)
    set_id, set_nickname, set_avatar, set_gender, set_unionid, set_context = _CUSTOMER_SET
    set_id(made, external_userid)
    set_nickname(made, nickname)
    set_avatar(made, avatar)
    set_gender(made, _GENDERS.get(gender, gender))
    set_unionid(made, unionid)
    set_context(made, None if context is None else _structure_context(context))
    return made


converter.register_structure_hook(WechatChannels, _structure_channels)
converter.register_structure_hook(EnterSessionContext, _structure_context)
converter.register_structure_hook(Customer, _structure_customer)
_customer_hook = converter.get_structure_hook(Customer)


def structure_customers(raw: Any) -> list[Customer]:
    """Structure a ``customer_list`` JSON array into :class:`Customer` objects."""
    if not isinstance(raw, list):
        raise TypeError(f"customer_list must be an array, got {type(raw).__name__}")
    hook = _customer_hook
    return [hook(item, Customer) for item in raw]


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
