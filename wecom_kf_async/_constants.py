"""Every default of the library, named in one place."""

from __future__ import annotations

from typing import Final

#: Where WeCom serves its API.
DEFAULT_BASE_URL: Final = "https://qyapi.weixin.qq.com"

#: ``customer/batchget`` accepts 1 to 100 ids per call.
BATCHGET_MAX_IDS: Final = 100

#: KF accounts one corp may have (page 96404: "目前一家企业最多可添加5000个客服账号").
MAX_ACCOUNTS_PER_CORP: Final = 5000

#: Requests in flight at once for one client.
DEFAULT_MAX_CONCURRENCY: Final = 20

#: Calls per second the client allows itself by default. WeCom's documented corp limit
#: is 10,000 calls/min per API (about 166/s); staying at 150/s leaves room for other
#: callers of the same corp.
DEFAULT_RATE_LIMIT: Final = 150.0

#: Seconds for one HTTP request (connect, write, read and pool each).
DEFAULT_TIMEOUT: Final = 10.0

#: Attempts per request, the first one included.
DEFAULT_ATTEMPTS: Final = 5
#: Seconds a request may spend in total, retries and backoff included.
DEFAULT_DEADLINE: Final = 60.0
#: First backoff step and its cap for transient errors (-1, 6000, transport).
DEFAULT_BACKOFF_BASE: Final = 0.25
DEFAULT_BACKOFF_CAP: Final = 8.0
#: First backoff step and its cap when WeCom throttles (45009, 45033).
DEFAULT_THROTTLE_BACKOFF_BASE: Final = 1.0
DEFAULT_THROTTLE_BACKOFF_CAP: Final = 30.0

#: Longest access token WeCom documents, in bytes.
MAX_TOKEN_BYTES: Final = 512
#: Token lifetimes (gettoken's ``expires_in``, seconds) the client believes. WeCom
#: answers 7200; zero, a negative number or NaN would have the client refresh for
#: every request, so anything outside this range is an invalid answer.
TOKEN_LIFETIME_RANGE: Final = (60.0, 86_400.0)

#: A token is refreshed this many seconds before WeCom says it expires ...
DEFAULT_TOKEN_REFRESH_SKEW: Final = 300.0
#: ... plus a random share of this many seconds, so a fleet does not refresh in step.
DEFAULT_TOKEN_REFRESH_JITTER: Final = 60.0

#: Adaptive throttling: after 45009/45033 the client sends at this share of the rate it
#: was achieving, never below the floor, and recovers step by step once the server
#: has been quiet for the cool-down.
ADAPTIVE_DECREASE: Final = 0.5
ADAPTIVE_MIN_RATE: Final = 1.0
ADAPTIVE_INCREASE: Final = 1.25
ADAPTIVE_COOLDOWN: Final = 2.0

#: Fleet mode: prefix of every Redis key the library writes.
DEFAULT_FLEET_NAMESPACE: Final = "wecom_kf"
#: Fleet mode: seconds a refresh lock lives without renewal, the longest a dead
#: holder delays the other processes.
DEFAULT_LOCK_TTL: Final = 5.0

#: The library's logger.
LOGGER_NAME: Final = "wecom_kf_async"

#: The library's version (``wecom_kf_async.__version__``).
VERSION: Final = "0.1.0"
#: The ``User-Agent`` of the requests the library sends itself.
USER_AGENT: Final = f"wecom_kf_async/{VERSION}"
