"""Tests that pin the public surface of ``wecom_kf_async``."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import inspect

import pytest

import wecom_kf_async

EXPECTED_ALL = {
    "AgencyApp",
    "SelfBuiltApp",
    "TokenSource",
    "AccessToken",
    "AccessTokenError",
    "Account",
    "AccountsAPI",
    "AdaptiveThrottle",
    "AesKeyError",
    "Base64DecodeError",
    "Base64EncodeError",
    "BatchGetError",
    "BatchGetResult",
    "BodyTooLargeError",
    "BuildXmlError",
    "BusinessCardBody",
    "BusinessCardMessage",
    "CallbackCrypto",
    "CallbackError",
    "CaLink",
    "ChannelsBody",
    "ChannelsMessage",
    "ChannelsScene",
    "ChannelsShopOrderBody",
    "ChannelsShopOrderMessage",
    "ChannelsShopProductBody",
    "ChannelsShopProductMessage",
    "ChannelsSubType",
    "CiphertextLengthError",
    "Click",
    "ComputeSignatureError",
    "ConfigurationError",
    "ConversationEndedError",
    "CorpMetrics",
    "CorpQualification",
    "CorpStatistic",
    "CursorLease",
    "CursorStore",
    "Customer",
    "DownloadedMedia",
    "CustomersAPI",
    "DecryptError",
    "Disposition",
    "ENDPOINTS",
    "ERRCODE_TABLE",
    "EVENT_CODE_RULES",
    "EncryptError",
    "Endpoint",
    "EnterSessionContext",
    "EnterSessionEvent",
    "Event",
    "EventCode",
    "EventCodeError",
    "EventCodeRule",
    "EventCodeScene",
    "ExclusiveCursorStore",
    "FailType",
    "File",
    "FileCursorStore",
    "FileMessage",
    "Gender",
    "IllegalBufferError",
    "Image",
    "ImageMessage",
    "InMemoryCursorStore",
    "InMemoryTokenStore",
    "InvalidRequestError",
    "InvalidResponseError",
    "InvalidSyncTokenError",
    "KfBot",
    "KfCallback",
    "KfClient",
    "KfError",
    "KfMessage",
    "KfStateError",
    "LeaseLostError",
    "LengthFieldError",
    "Link",
    "LinkBody",
    "LinkMessage",
    "LocalRateLimiter",
    "Location",
    "LocationBody",
    "LocationMessage",
    "MediaAPI",
    "MediaBody",
    "MediaType",
    "MeetingMessage",
    "Menu",
    "MenuItem",
    "MenuMiniProgram",
    "MenuText",
    "MergedMsgBody",
    "MergedMsgItem",
    "MergedMsgMessage",
    "Message",
    "MessageStream",
    "MessagesAPI",
    "MiniProgram",
    "MiniProgramBody",
    "MiniProgramMessage",
    "MsgMenuBody",
    "MsgMenuClick",
    "MsgMenuItem",
    "MsgMenuMessage",
    "MsgMenuMiniProgram",
    "MsgMenuText",
    "MsgMenuView",
    "MsgSendFailEvent",
    "NoteBody",
    "NoteMessage",
    "Origin",
    "OutcomeUnknownError",
    "PaddingError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RateLimiter",
    "ReceiveIdError",
    "ReceptionStatus",
    "RejectCustomerMsgSwitchChangeEvent",
    "RejectSwitch",
    "ScheduleMessage",
    "RequestTimeoutError",
    "RetryPolicy",
    "Safety",
    "SendLimitError",
    "SendNotAllowedError",
    "SendOutcomeUnknownError",
    "Sendable",
    "ServerBusyError",
    "ServiceState",
    "Servicer",
    "ServicerError",
    "ServicerMetrics",
    "ServicerRecallMsgEvent",
    "ServicerResult",
    "ServicerResults",
    "ServicerStatistic",
    "ServicerStatus",
    "ServicerStatusChangeEvent",
    "ServicersAPI",
    "SessionChangeType",
    "SessionState",
    "SessionStatusChangeEvent",
    "SessionsAPI",
    "SharedTokenStore",
    "SignatureError",
    "StatisticsAPI",
    "StopType",
    "StreamStalledError",
    "SyncCursorError",
    "SyncPage",
    "Text",
    "TextBody",
    "TextMessage",
    "TimestampError",
    "TokenManager",
    "TokenStore",
    "TransportError",
    "TwoPhaseLimiter",
    "UnknownEvent",
    "UnknownMessage",
    "UpgradeGroupChat",
    "UpgradeGroupChatRange",
    "UpgradeMember",
    "UpgradeMemberRange",
    "UpgradeServiceConfig",
    "UpgradeType",
    "UploadedMedia",
    "UpstreamHTTPError",
    "UserRecallMsgEvent",
    "Video",
    "VideoMessage",
    "View",
    "Voice",
    "VoiceMessage",
    "WeComError",
    "WechatChannels",
    "XmlParseError",
    "__version__",
    "converter",
    "disposition_for",
    "is_testing",
    "parse_callback",
    "set_testing",
    "structure_message",
    "structure_messages",
    "token_key",
}
# The knowledge base (pages 95971, 95972).
EXPECTED_ALL |= {
    "KnowledgeAPI",
    "KnowledgeAnswer",
    "KnowledgeAttachment",
    "KnowledgeGroup",
    "KnowledgeImage",
    "KnowledgeIntent",
    "KnowledgeLink",
    "KnowledgeMiniProgram",
    "KnowledgeVideo",
    "UnknownKnowledgeAttachment",
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
    "DEFAULT_CALLBACK_TOKEN_TTL",
    "DEFAULT_LEASE_TTL",
    "DEFAULT_LOCK_TTL",
    "DEFAULT_NAMESPACE",
    "DEFAULT_RECHECK_INTERVAL",
    "DEFAULT_SHARED_HEADROOM",
    "RedisCallbackTokens",
    "RedisCursorLease",
    "RedisCursorStore",
    "RedisRateLimiter",
    "RedisSuiteTicketStore",
    "RedisTokenStore",
    "close",
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


INSTRUMENTATION_ALL = {
    "EVENTS_LOGGER",
    "AttemptStarted",
    "CallFinished",
    "CallStarted",
    "CallbackAnswered",
    "CallbackReceived",
    "CallbackRejected",
    "HandlerFailed",
    "HandlerFinished",
    "HandlerStarted",
    "Hook",
    "Hooks",
    "InstrumentationEvent",
    "LoggingInstrumentation",
    "OpenTelemetryInstrumentation",
    "PrometheusInstrumentation",
    "PullFailed",
    "PullFinished",
    "PullRecovered",
    "PullStarted",
    "RateLimitWaited",
    "RequestFinished",
    "RetryScheduled",
    "StatsInstrumentation",
    "StreamStalled",
    "SyncPageTaken",
    "ThrottleChanged",
    "TokenRefreshed",
    "get_default_instrumentation",
    "set_default_instrumentation",
}


def test_instrumentation_surface_is_pinned_and_documented() -> None:
    """``wecom_kf_async.instrumentation`` exports exactly its names, each documented.

    The Prometheus and OpenTelemetry hooks load their extras' packages only when
    first asked for; every event is frozen and carries no secret-looking field.
    """
    import attrs

    from wecom_kf_async import instrumentation

    assert set(instrumentation.__all__) == INSTRUMENTATION_ALL
    for name in INSTRUMENTATION_ALL:
        obj = getattr(instrumentation, name)
        if inspect.isclass(obj) or inspect.isroutine(obj):
            assert obj.__doc__
            assert obj.__doc__.strip()
        if inspect.isclass(obj) and issubclass(obj, instrumentation.InstrumentationEvent):
            fields = {field.name for field in attrs.fields(obj)}
            forbidden = {"token", "access_token", "secret", "content", "text", "nickname", "body"}
            assert not fields & forbidden, obj
            with pytest.raises(attrs.exceptions.FrozenInstanceError):
                setattr(obj.__new__(obj), "path", "x")  # noqa: B010 - frozen, any field
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = instrumentation.Nope
