"""Tests that pin the public surface of ``wecom_kf_async``."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import inspect

import pytest

import wecom_kf_async

EXPECTED_ALL = {
    "ENDPOINTS",
    "ERRCODE_TABLE",
    "AccessToken",
    "AccessTokenError",
    "Account",
    "AccountsAPI",
    "AdaptiveThrottle",
    "BatchGetError",
    "BatchGetResult",
    "ChannelsScene",
    "ConfigurationError",
    "CorpMetrics",
    "CorpQualification",
    "CorpStatistic",
    "Customer",
    "CustomersAPI",
    "Disposition",
    "Endpoint",
    "EnterSessionContext",
    "Gender",
    "InMemoryTokenStore",
    "InvalidRequestError",
    "InvalidResponseError",
    "KfClient",
    "KfError",
    "KfStateError",
    "LocalRateLimiter",
    "MediaAPI",
    "MediaType",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RateLimiter",
    "RequestTimeoutError",
    "RetryPolicy",
    "Safety",
    "ServerBusyError",
    "ServiceState",
    "Servicer",
    "ServicerError",
    "ServicerMetrics",
    "ServicerResult",
    "ServicerResults",
    "ServicerStatistic",
    "ServicerStatus",
    "ServicersAPI",
    "SessionState",
    "SessionsAPI",
    "SharedTokenStore",
    "StatisticsAPI",
    "StopType",
    "TokenManager",
    "TokenStore",
    "TransportError",
    "UpgradeGroupChat",
    "UpgradeGroupChatRange",
    "UpgradeMember",
    "UpgradeMemberRange",
    "UpgradeServiceConfig",
    "UpgradeType",
    "UploadedMedia",
    "UpstreamHTTPError",
    "WeComError",
    "WechatChannels",
    "__version__",
    "converter",
    "disposition_for",
    "is_testing",
    "set_testing",
    "token_key",
}


def test_all_is_exactly_the_expected_public_surface() -> None:
    """``__all__`` lists exactly the pinned public names, each once."""
    assert set(wecom_kf_async.__all__) == EXPECTED_ALL
    assert len(wecom_kf_async.__all__) == len(EXPECTED_ALL)


@pytest.mark.parametrize("name", sorted(EXPECTED_ALL))
def test_every_public_name_exists(name: str) -> None:
    """Every name in ``__all__`` is importable from the package."""
    assert hasattr(wecom_kf_async, name)


@pytest.mark.parametrize(
    "name",
    sorted(
        n
        for n in EXPECTED_ALL
        if inspect.isclass(getattr(wecom_kf_async, n, None))
        or inspect.isroutine(getattr(wecom_kf_async, n, None))
    ),
)
def test_public_classes_and_functions_have_docstrings(name: str) -> None:
    """Each exported class and function has its own, non-empty docstring."""
    obj = getattr(wecom_kf_async, name)
    doc = obj.__doc__  # a class's own __doc__, never inherited
    assert doc is not None
    assert doc.strip()


def test_public_names_come_from_the_package() -> None:
    """Exported classes and functions are the library's own, not re-exported third-party ones."""
    for name in EXPECTED_ALL:
        obj = getattr(wecom_kf_async, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            assert obj.__module__.startswith("wecom_kf_async"), name


def test_py_typed_is_shipped() -> None:
    """The PEP 561 marker ``py.typed`` is part of the package."""
    assert importlib.resources.files("wecom_kf_async").joinpath("py.typed").is_file()


def test_version_matches_the_distribution() -> None:
    """``__version__`` equals the installed distribution's version."""
    assert wecom_kf_async.__version__ == importlib.metadata.version("wecom_kf_async")


FLEET_ALL = {
    "DEFAULT_LOCK_TTL",
    "DEFAULT_NAMESPACE",
    "DEFAULT_RECHECK_INTERVAL",
    "DEFAULT_SHARED_HEADROOM",
    "RedisRateLimiter",
    "RedisTokenStore",
    "connect",
}


def test_fleet_module_surface_is_pinned_and_documented() -> None:
    """``wecom_kf_async.fleet`` exports exactly its pinned names, each documented."""
    from wecom_kf_async import fleet

    assert set(fleet.__all__) == FLEET_ALL
    for name in FLEET_ALL:
        obj = getattr(fleet, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            assert obj.__doc__
            assert obj.__doc__.strip()
    assert isinstance(
        fleet.RedisTokenStore("redis://127.0.0.1/15"), wecom_kf_async.SharedTokenStore
    )
    assert wecom_kf_async.KfClient.for_fleet.__doc__
