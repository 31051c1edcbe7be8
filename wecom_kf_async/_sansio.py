"""The protocol without I/O: turn an HTTP answer into data or the right exception.

WeCom reports errors as HTTP 200 with a non-zero ``errcode``; anything that is not
HTTP 200 with a JSON object is a transport-level failure.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from ._constants import MAX_TOKEN_BYTES, TOKEN_LIFETIME_RANGE
from ._errors import InvalidResponseError, UpstreamHTTPError, error_for

__all__ = ["check_token_answer", "decipher_response", "redact"]

_SECRET_PARAM_RE = re.compile(r"((?:access_token|corpsecret)=)[^&\s\"'#]*", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace the values of ``access_token`` and ``corpsecret`` query parameters."""
    return _SECRET_PARAM_RE.sub(r"\1***", text)


_NOT_JSON = object()
_TOO_DEEP = object()


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        return None
    return seconds if seconds >= 0 else None


def decipher_response(
    status_code: int, headers: Mapping[str, str], body: bytes, *, path: str
) -> dict[str, Any]:
    """Return the JSON object of a successful WeCom answer, or raise.

    Raises :class:`UpstreamHTTPError` for a status other than 200,
    :class:`InvalidResponseError` for a body that is not a JSON object, and the
    :class:`WeComError` subclass chosen by the errcode table for ``errcode != 0``.
    """
    if status_code != 200:
        raise UpstreamHTTPError(status_code, path=path, retry_after=_retry_after(headers))
    try:
        data = json.loads(body)
    except ValueError:
        data = _NOT_JSON
    except RecursionError:  # valid JSON, nested deeper than any answer of WeCom's
        data = _TOO_DEEP
    if data is _TOO_DEEP:
        raise InvalidResponseError(
            f"response from {path} is JSON nested too deeply to read ({len(body)} bytes)",
            path=path,
            reason="too deeply nested",
        )
    if data is _NOT_JSON:
        # Raised outside the except block: the decode error (which holds the whole
        # body) must not ride along as __context__.
        raise InvalidResponseError(
            f"response from {path} is not JSON ({len(body)} bytes)", path=path, reason="not JSON"
        )
    if not isinstance(data, dict):
        raise InvalidResponseError(
            f"response from {path} is JSON but not an object", path=path, reason="not an object"
        )
    errcode = data.get("errcode", 0)
    if type(errcode) is not int:  # a bool, a float, a string: not an errcode
        raise InvalidResponseError(
            f"response from {path} has a non-integer errcode", path=path, reason="bad errcode"
        )
    if errcode != 0:
        errmsg = data.get("errmsg", "")
        raise error_for(errcode, errmsg if isinstance(errmsg, str) else repr(errmsg), path=path)
    return data


def check_token_answer(
    data: Mapping[str, Any], *, field: str = "access_token", path: str = "gettoken"
) -> tuple[str, float]:
    """The token and its lifetime from a gettoken answer; anything implausible raises.

    A lifetime of zero, a negative one or NaN would have the client fetch a new
    token for every request, for ever; a value that is not a short, printable string
    is no token.
    """
    value = data.get(field)
    expires_in = data.get("expires_in", 7200)
    if (
        not isinstance(value, str)
        or not value
        or not value.isprintable()  # first: a lone surrogate is unprintable, and unencodable
        or len(value.encode()) > MAX_TOKEN_BYTES
        or any(c.isspace() for c in value)
    ):
        raise InvalidResponseError(
            f"{path} answered without a usable {field}", path=path, reason="bad token"
        )
    low, high = TOKEN_LIFETIME_RANGE
    if (
        isinstance(expires_in, bool)
        or not isinstance(expires_in, int | float)
        or not math.isfinite(expires_in)
        or not low <= expires_in <= high
    ):
        raise InvalidResponseError(
            f"{path} answered an implausible expires_in ({expires_in!r}; "
            f"expected {low:.0f} to {high:.0f} seconds)",
            path=path,
            reason="bad expires_in",
        )
    return value, float(expires_in)


def encode_json(body: Mapping[str, Any]) -> bytes:
    """A request body as WeCom takes it: compact UTF-8 JSON, non-ASCII as is."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
