"""wecom_kf_async: an asyncio client for WeCom's WeChat Customer Service (微信客服) API.

The public names live here; everything in ``_``-prefixed modules is private.
"""

from __future__ import annotations

from ._client import KfClient
from ._endpoints import ENDPOINTS, Endpoint, Safety
from ._errors import (
    ERRCODE_TABLE,
    AccessTokenError,
    BatchGetError,
    ConfigurationError,
    Disposition,
    InvalidRequestError,
    InvalidResponseError,
    KfError,
    KfStateError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitedError,
    RequestTimeoutError,
    ServerBusyError,
    TransportError,
    UpstreamHTTPError,
    WeComError,
    disposition_for,
)
from ._limiter import AdaptiveThrottle, LocalRateLimiter, RateLimiter
from ._retry import RetryPolicy, is_testing, set_testing
from ._token import (
    AccessToken,
    InMemoryTokenStore,
    SharedTokenStore,
    TokenManager,
    TokenStore,
    token_key,
)
from .models import (
    BatchGetResult,
    CorpQualification,
    Customer,
    EnterSessionContext,
    WechatChannels,
    converter,
)
from .resources import (
    AccountsAPI,
    CustomersAPI,
    MediaAPI,
    ServicersAPI,
    SessionsAPI,
    StatisticsAPI,
)

__version__ = "0.1.0"

__all__ = [
    "ENDPOINTS",
    "ERRCODE_TABLE",
    "AccessToken",
    "AccessTokenError",
    "AccountsAPI",
    "AdaptiveThrottle",
    "BatchGetError",
    "BatchGetResult",
    "ConfigurationError",
    "CorpQualification",
    "Customer",
    "CustomersAPI",
    "Disposition",
    "Endpoint",
    "EnterSessionContext",
    "InMemoryTokenStore",
    "InvalidRequestError",
    "InvalidResponseError",
    "KfClient",
    "KfError",
    "KfStateError",
    "LocalRateLimiter",
    "MediaAPI",
    "OutcomeUnknownError",
    "PermissionDeniedError",
    "RateLimitedError",
    "RateLimiter",
    "RequestTimeoutError",
    "RetryPolicy",
    "Safety",
    "ServerBusyError",
    "ServicersAPI",
    "SessionsAPI",
    "SharedTokenStore",
    "StatisticsAPI",
    "TokenManager",
    "TokenStore",
    "TransportError",
    "UpstreamHTTPError",
    "WeComError",
    "WechatChannels",
    "__version__",
    "converter",
    "disposition_for",
    "is_testing",
    "set_testing",
    "token_key",
]
