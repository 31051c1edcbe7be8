"""Tests for the frozen models and the cattrs converter they go through."""

from __future__ import annotations

import copy
from typing import Any

import attrs
import pytest

from wecom_kf_async import (
    BatchGetError,
    BatchGetResult,
    Customer,
    EnterSessionContext,
    RateLimitedError,
    ServerBusyError,
    WechatChannels,
    converter,
)
from wecom_kf_async.models import as_mapping, structure_customers

# The "返回结果" example of the official customer/batchget page (page 95149).
OFFICIAL_RESPONSE: dict[str, Any] = {
    "errcode": 0,
    "errmsg": "ok",
    "customer_list": [
        {
            "external_userid": "wmxxxxxxxxxxxxxxxxxxxxxx",
            "nickname": "张三",
            "avatar": "http://xxxxx",
            "gender": 1,
            "unionid": "oxasdaosaosdasdasdasd",
            "enter_session_context": {
                "scene": "123",
                "scene_param": "abc",
                "wechat_channels": {"nickname": "进入会话的视频号名称", "scene": 1},
            },
        }
    ],
    "invalid_external_userid": ["zhangsan"],
}


def _official_customer() -> dict[str, Any]:
    return copy.deepcopy(OFFICIAL_RESPONSE["customer_list"][0])


def _customer(uid: str, nickname: str = "n") -> Customer:
    return Customer(external_userid=uid, nickname=nickname)


def test_official_example_structures_field_by_field() -> None:
    """The official example customer becomes a Customer with every documented field set."""
    customer = converter.structure(_official_customer(), Customer)
    assert customer.external_userid == "wmxxxxxxxxxxxxxxxxxxxxxx"
    assert customer.nickname == "张三"
    assert customer.avatar == "http://xxxxx"
    assert customer.gender == 1
    assert customer.unionid == "oxasdaosaosdasdasdasd"
    context = customer.enter_session_context
    assert isinstance(context, EnterSessionContext)
    assert context.scene == "123"
    assert context.scene_param == "abc"
    channels = context.wechat_channels
    assert isinstance(channels, WechatChannels)
    assert channels.nickname == "进入会话的视频号名称"
    assert channels.scene == 1
    assert channels.shop_nickname is None


def test_structure_customers_reads_the_customer_list() -> None:
    """``structure_customers`` turns the ``customer_list`` array into Customers in order."""
    raw = [_official_customer(), {"external_userid": "wm2", "nickname": "李四", "gender": 2}]
    customers = structure_customers(raw)
    assert [c.external_userid for c in customers] == ["wmxxxxxxxxxxxxxxxxxxxxxx", "wm2"]
    assert customers[1].gender == 2


def test_unknown_fields_are_tolerated_at_every_level() -> None:
    """Fields WeCom may add later, at customer, context and channels level, are ignored."""
    raw = _official_customer()
    raw["brand_new_field"] = {"nested": [1, 2]}
    raw["enter_session_context"]["new_context_field"] = "x"
    raw["enter_session_context"]["wechat_channels"]["new_channels_field"] = 7
    customer = converter.structure(raw, Customer)
    assert customer == converter.structure(_official_customer(), Customer)
    customers = structure_customers([raw, {"external_userid": "wm2", "extra": None}])
    assert [c.external_userid for c in customers] == ["wmxxxxxxxxxxxxxxxxxxxxxx", "wm2"]


def test_third_party_shape_without_avatar_or_unionid() -> None:
    """A third-party app's customer (no avatar, no unionid, gender 0, no context) structures."""
    raw = {"external_userid": "wmthird", "nickname": "王五", "gender": 0}
    customer = converter.structure(raw, Customer)
    assert customer.external_userid == "wmthird"
    assert customer.nickname == "王五"
    assert customer.avatar is None
    assert customer.unionid is None
    assert customer.gender == 0
    assert customer.enter_session_context is None


def test_shop_scene_channels_have_shop_nickname() -> None:
    """A channels-shop scene (4-5) structures ``shop_nickname`` and leaves ``nickname`` None."""
    raw = {
        "external_userid": "wm1",
        "enter_session_context": {"wechat_channels": {"shop_nickname": "小店", "scene": 4}},
    }
    channels = converter.structure(raw, Customer).enter_session_context.wechat_channels
    assert channels.shop_nickname == "小店"
    assert channels.nickname is None
    assert channels.scene == 4


@pytest.mark.parametrize(
    ("instance", "field"),
    [
        (Customer(external_userid="wm1"), "nickname"),
        (EnterSessionContext(scene="1"), "scene"),
        (WechatChannels(scene=1), "scene"),
        (BatchGetResult(), "customers"),
    ],
    ids=lambda v: type(v).__name__ if not isinstance(v, str) else v,
)
def test_models_are_frozen(instance: object, field: str) -> None:
    """Assigning to a field of any model raises FrozenInstanceError."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        setattr(instance, field, None)


def _result() -> BatchGetResult:
    return BatchGetResult(
        customers=[_customer("wm1", "a"), _customer("wm2", "b")],
        invalid_external_userids=["gone1"],
        failed={"bad1": ServerBusyError(-1, "system busy", path="kf/customer/batchget")},
    )


def test_get_returns_customer_or_none() -> None:
    """``get`` returns the resolved customer, and None for invalid, failed or unknown ids."""
    result = _result()
    assert result.get("wm2") == _customer("wm2", "b")
    assert result.get("gone1") is None
    assert result.get("bad1") is None
    assert result.get("never-asked") is None
    assert "wm1" in result
    assert "gone1" not in result
    assert len(result) == 2
    assert [c.external_userid for c in result] == ["wm1", "wm2"]


def test_getitem_returns_resolved_customer() -> None:
    """``result[id]`` returns the customer for a resolved id."""
    assert _result()["wm1"] == _customer("wm1", "a")


def test_getitem_keyerror_says_failed() -> None:
    """``result[id]`` for a failed id raises KeyError saying it failed and why."""
    with pytest.raises(KeyError) as info:
        _result()["bad1"]
    message = str(info.value)
    assert "bad1" in message
    assert "failed" in message
    assert "-1" in message


def test_getitem_keyerror_says_invalid() -> None:
    """``result[id]`` for an invalid id raises KeyError saying it is invalid."""
    with pytest.raises(KeyError) as info:
        _result()["gone1"]
    assert "gone1" in str(info.value)
    assert "invalid" in str(info.value)


def test_getitem_keyerror_says_not_requested() -> None:
    """``result[id]`` for an id that was never asked for raises KeyError saying so."""
    with pytest.raises(KeyError) as info:
        _result()["stranger"]
    assert "stranger" in str(info.value)
    assert "not requested" in str(info.value)


def test_raise_for_failures_lists_failed_ids() -> None:
    """``raise_for_failures`` raises BatchGetError whose ``failed`` maps each failed id."""
    err1 = ServerBusyError(-1, "busy")
    err2 = RateLimitedError(45009, "api freq out of limit")
    result = BatchGetResult(customers=[_customer("ok")], failed={"f1": err1, "f2": err2})
    assert not result.ok
    with pytest.raises(BatchGetError) as info:
        result.raise_for_failures()
    assert info.value.failed == {"f1": err1, "f2": err2}
    message = str(info.value)
    assert "2" in message
    assert "ServerBusyError" in message
    assert "RateLimitedError" in message


def test_raise_for_failures_returns_self_when_ok() -> None:
    """``raise_for_failures`` returns the result itself when nothing failed."""
    result = BatchGetResult(customers=[_customer("ok")], invalid_external_userids=["x"])
    assert result.ok
    assert result.raise_for_failures() is result


def test_merge_keeps_order_across_pages() -> None:
    """``merge`` concatenates customers and invalid ids in page order and unions failures."""
    busy = ServerBusyError(-1, "busy")
    pages = [
        BatchGetResult(
            customers=[_customer("c3"), _customer("c1")], invalid_external_userids=["i2"]
        ),
        BatchGetResult(failed={"f1": busy}),
        BatchGetResult(customers=[_customer("c2")], invalid_external_userids=["i1", "i3"]),
    ]
    merged = BatchGetResult.merge(pages)
    assert [c.external_userid for c in merged.customers] == ["c3", "c1", "c2"]
    assert merged.invalid_external_userids == ["i2", "i1", "i3"]
    assert merged.failed == {"f1": busy}
    assert merged["c2"] == _customer("c2")
    assert BatchGetResult.merge([]) == BatchGetResult()


def test_as_mapping_round_trips_the_official_example() -> None:
    """``as_mapping`` gives back the official JSON shape (no None fields) and re-structures."""
    raw = _official_customer()
    customer = converter.structure(raw, Customer)
    mapping = as_mapping(customer)
    assert mapping == raw
    assert converter.structure(dict(mapping), Customer) == customer


def test_as_mapping_drops_none_fields_of_third_party_shape() -> None:
    """For a customer without avatar, unionid or context, those keys are left out entirely."""
    raw = {"external_userid": "wmthird", "nickname": "王五", "gender": 0}
    mapping = as_mapping(converter.structure(raw, Customer))
    assert mapping == raw
    assert None not in mapping.values()


def test_fast_structure_equals_init_built_models() -> None:
    """What the converter's hooks build equals what the attrs __init__ builds, field by field."""
    from wecom_kf_async import (
        ChannelsScene,
        Customer,
        EnterSessionContext,
        Gender,
        WechatChannels,
        converter,
    )

    raw = {
        "external_userid": "wmA",
        "nickname": "张三",
        "avatar": "http://a",
        "gender": 2,
        "unionid": "ou",
        "enter_session_context": {
            "scene": "s",
            "scene_param": "p",
            "wechat_channels": {"nickname": "n", "scene": 1, "later_field": True},
        },
        "later_field": [1],
    }
    built = converter.structure(raw, Customer)
    expected = Customer(
        external_userid="wmA",
        nickname="张三",
        avatar="http://a",
        gender=Gender.FEMALE,
        unionid="ou",
        enter_session_context=EnterSessionContext(
            scene="s",
            scene_param="p",
            wechat_channels=WechatChannels(
                nickname="n", shop_nickname=None, scene=ChannelsScene.HOME_PAGE
            ),
        ),
    )
    assert built == expected
    assert hash(built) == hash(expected)
    assert repr(built) == repr(expected)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        built.nickname = "x"  # type: ignore[misc]


def test_documented_codes_become_enums_and_undocumented_ones_stay_ints() -> None:
    """gender 2 is Gender.FEMALE; an unknown gender 7 and channels scene 9 stay plain ints."""
    from wecom_kf_async import ChannelsScene, Customer, Gender, converter

    known = converter.structure(
        {
            "external_userid": "wmA",
            "gender": 2,
            "enter_session_context": {"wechat_channels": {"scene": 4}},
        },
        Customer,
    )
    assert known.gender is Gender.FEMALE
    assert known.enter_session_context is not None
    assert known.enter_session_context.wechat_channels is not None
    assert known.enter_session_context.wechat_channels.scene is ChannelsScene.SHOP_PRODUCT
    unknown = converter.structure(
        {
            "external_userid": "wmA",
            "gender": 7,
            "enter_session_context": {"wechat_channels": {"scene": 9}},
        },
        Customer,
    )
    assert type(unknown.gender) is int
    assert unknown.gender == 7
    assert unknown.enter_session_context is not None
    assert unknown.enter_session_context.wechat_channels is not None
    assert type(unknown.enter_session_context.wechat_channels.scene) is int


@pytest.mark.parametrize(
    "raw",
    [
        {"external_userid": 5},
        {"nickname": "no id"},
        {"external_userid": "wmA", "gender": "1"},
        {"external_userid": "wmA", "enter_session_context": []},
        {"external_userid": "wmA", "enter_session_context": {"wechat_channels": {"scene": "1"}}},
        "not an object",
    ],
)
def test_wrong_json_types_raise_type_error(raw: object) -> None:
    """A field of the wrong JSON type raises TypeError instead of being coerced."""
    from wecom_kf_async import Customer, converter

    with pytest.raises(TypeError):
        converter.structure(raw, Customer)
