"""wecom_kf_async: an asyncio client for WeCom's WeChat Customer Service (微信客服) API.

The public names live here; everything in ``_``-prefixed modules is private.
"""

from __future__ import annotations

from ._client import KfClient
from ._customers import CustomersAPI
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
from ._models import BatchGetResult, Customer, EnterSessionContext, WechatChannels, converter
from ._retry import RetryPolicy, is_testing, set_testing
from ._token import (
    AccessToken,
    InMemoryTokenStore,
    SharedTokenStore,
    TokenManager,
    TokenStore,
    token_key,
)

__version__ = "0.1.0"

__all__ = [
    "ERRCODE_TABLE",
    "AccessToken",
    "AccessTokenError",
    "AdaptiveThrottle",
    "BatchGetError",
    "BatchGetResult",
    "ConfigurationError",
    "Customer",
    "CustomersAPI",
    "Disposition",
    "EnterSessionContext",
    "InMemoryTokenStore",
    "InvalidRequestError",
    "InvalidResponseError",
    "KfClient",
    "KfError",
    "KfStateError",
    "LocalRateLimiter",
    "PermissionDeniedError",
    "RateLimitedError",
    "RateLimiter",
    "RequestTimeoutError",
    "RetryPolicy",
    "ServerBusyError",
    "SharedTokenStore",
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
