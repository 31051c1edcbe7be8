"""Tests for the I/O-free protocol layer: ``decipher_response``, ``redact`` and error text."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from wecom_kf_async import (
    AccessTokenError,
    ConfigurationError,
    Disposition,
    InvalidRequestError,
    InvalidResponseError,
    KfStateError,
    PermissionDeniedError,
    RateLimitedError,
    ServerBusyError,
    TransportError,
    UpstreamHTTPError,
    WeComError,
)
from wecom_kf_async._redact import RedactingFilter
from wecom_kf_async._sansio import decipher_response, redact

PATH = "kf/customer/batchget"
HINT = "1699999999_12_abc"
REAL_ERRMSG = (
    f"api freq out of limit, hint: [{HINT}], from ip: 1.2.3.4, "
    "more info at https://open.work.weixin.qq.com/devtool/query?e=45009"
)
JSON_HEADERS = httpx.Headers({"Content-Type": "application/json"})


def _body(payload: object) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode()


def _decipher(payload: object, status: int = 200, headers: httpx.Headers | None = None) -> dict:
    body = payload if isinstance(payload, bytes) else _body(payload)
    return decipher_response(status, headers or JSON_HEADERS, body, path=PATH)


def test_errcode_zero_returns_the_whole_object() -> None:
    """An answer with errcode 0 comes back as the decoded JSON object, every key kept."""
    payload = {
        "errcode": 0,
        "errmsg": "ok",
        "customer_list": [{"external_userid": "wm1", "nickname": "张三"}],
        "invalid_external_userid": ["zhangsan"],
    }
    assert _decipher(payload) == payload


def test_errcode_zero_with_a_warning_errmsg_is_still_success() -> None:
    """The errmsg text is never branched on: errcode 0 with a warning message succeeds."""
    payload = {"errcode": 0, "errmsg": "ok. Warning: wrong json format.", "x": 1}
    assert _decipher(payload) == payload


def test_missing_errcode_counts_as_success() -> None:
    """An object without an errcode key is treated as errcode 0."""
    payload = {"access_token": "abc", "expires_in": 7200}
    assert _decipher(payload) == payload


@pytest.mark.parametrize(
    ("errcode", "exc_class"),
    [
        (-1, ServerBusyError),
        (6000, ServerBusyError),
        (40014, AccessTokenError),
        (42001, AccessTokenError),
        (41001, AccessTokenError),
        (40001, ConfigurationError),
        (40013, ConfigurationError),
        (48002, PermissionDeniedError),
        (60020, PermissionDeniedError),
        (45009, RateLimitedError),
        (45033, RateLimitedError),
        (40058, InvalidRequestError),
        (95001, KfStateError),
    ],
)
def test_errcode_raises_the_class_of_its_category(
    errcode: int, exc_class: type[WeComError]
) -> None:
    """Each non-zero errcode raises the exception class its category names, errcode kept."""
    with pytest.raises(exc_class) as info:
        _decipher({"errcode": errcode, "errmsg": "something went wrong"})
    assert info.value.errcode == errcode
    assert info.value.errmsg == "something went wrong"
    assert info.value.path == PATH


def test_unknown_errcode_is_a_plain_wecom_error_that_fails_fast() -> None:
    """An errcode outside the table raises plain WeComError with disposition FAIL, errcode kept."""
    with pytest.raises(WeComError) as info:
        _decipher({"errcode": 12345, "errmsg": "brand new error"})
    exc = info.value
    assert type(exc) is WeComError
    assert exc.errcode == 12345
    assert exc.disposition is Disposition.FAIL
    assert exc.retryable is False


def test_hint_is_parsed_from_a_real_errmsg() -> None:
    """WeCom's request id between ``hint: [`` and ``]`` ends up in ``exc.hint``."""
    with pytest.raises(RateLimitedError) as info:
        _decipher({"errcode": 45009, "errmsg": REAL_ERRMSG})
    assert info.value.hint == HINT
    assert info.value.errmsg == REAL_ERRMSG


def test_hint_is_none_when_errmsg_has_none() -> None:
    """An errmsg without a hint leaves ``exc.hint`` as None."""
    with pytest.raises(ServerBusyError) as info:
        _decipher({"errcode": -1, "errmsg": "system busy"})
    assert info.value.hint is None


def test_missing_errmsg_still_raises_with_the_errcode() -> None:
    """A non-zero errcode without errmsg raises the right class with an empty errmsg."""
    with pytest.raises(AccessTokenError) as info:
        _decipher({"errcode": 42001})
    assert info.value.errcode == 42001
    assert info.value.hint is None


@pytest.mark.parametrize("status", [400, 404, 429, 500, 502, 503, 504])
def test_non_200_status_is_an_upstream_http_error(status: int) -> None:
    """Any status but 200 raises UpstreamHTTPError with that status, even with a JSON body."""
    with pytest.raises(UpstreamHTTPError) as info:
        _decipher({"errcode": 0, "errmsg": "ok"}, status=status)
    exc = info.value
    assert exc.status_code == status
    assert exc.path == PATH
    assert exc.retry_after is None
    assert isinstance(exc, TransportError)
    assert exc.retryable is (status >= 500 or status in (408, 429))


@pytest.mark.parametrize(("header", "expected"), [("7", 7.0), ("1.5", 1.5), ("0", 0.0)])
def test_retry_after_seconds_are_parsed(header: str, expected: float) -> None:
    """A numeric Retry-After header on a non-200 answer becomes ``retry_after`` in seconds."""
    headers = httpx.Headers({"Retry-After": header, "Content-Type": "text/html"})
    with pytest.raises(UpstreamHTTPError) as info:
        _decipher(b"<html>busy</html>", status=503, headers=headers)
    assert info.value.retry_after == expected


@pytest.mark.parametrize("header", ["soon", "-3", "Wed, 21 Oct 2015 07:28:00 GMT"])
def test_unusable_retry_after_is_ignored(header: str) -> None:
    """A Retry-After that is not a non-negative number of seconds leaves ``retry_after`` None."""
    headers = httpx.Headers({"Retry-After": header})
    with pytest.raises(UpstreamHTTPError) as info:
        _decipher(b"", status=429, headers=headers)
    assert info.value.retry_after is None


BAD_BODIES = {
    "html": b"<html><head><title>502 Bad Gateway</title></head>"
    b"<body>/cgi-bin/kf/customer/batchget?access_token=TOPSECRETTOKEN</body></html>",
    "truncated": b'{"errcode": 0, "errmsg": "ok", "customer_list": [{"external_userid": "wm',
    "array": b'[{"errcode": 0}]',
    "empty": b"",
    "string": b'"ok"',
}


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_body_that_is_not_a_json_object_is_invalid_response(kind: str) -> None:
    """HTTP 200 with an HTML, truncated, empty or non-object body raises InvalidResponseError."""
    with pytest.raises(InvalidResponseError) as info:
        _decipher(BAD_BODIES[kind])
    exc = info.value
    assert exc.path == PATH
    assert exc.retryable is True
    assert "TOPSECRETTOKEN" not in str(exc)
    assert "TOPSECRETTOKEN" not in repr(exc)


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_invalid_response_error_is_not_chained(kind: str) -> None:
    """InvalidResponseError carries neither ``__cause__`` nor ``__context__`` (no body leaks)."""
    with pytest.raises(InvalidResponseError) as info:
        _decipher(BAD_BODIES[kind])
    assert info.value.__cause__ is None
    assert info.value.__context__ is None


def test_non_integer_errcode_is_invalid_response() -> None:
    """An errcode that is not an integer is a malformed answer, not success or a WeCom error."""
    with pytest.raises(InvalidResponseError):
        _decipher({"errcode": "0", "errmsg": "ok"})


@pytest.mark.parametrize("errcode", [True, False, 0.0, 45009.0, None, [0]])
def test_errcode_of_another_json_type_is_invalid_response(errcode: object) -> None:
    """true, 0.0 or null is no errcode: the answer is malformed, neither success nor error."""
    with pytest.raises(InvalidResponseError):
        _decipher({"errcode": errcode, "errmsg": "ok"})


def test_errmsg_of_another_json_type_or_huge_size_stays_a_bounded_error() -> None:
    """A non-string errmsg still raises by errcode; a huge one is cut short in str()."""
    with pytest.raises(WeComError) as raised:
        _decipher({"errcode": 40058, "errmsg": {"nested": [1, 2]}})
    assert raised.value.errcode == 40058
    with pytest.raises(WeComError) as raised:
        _decipher({"errcode": 40058, "errmsg": "x" * 1_000_000})
    assert len(str(raised.value)) < 400


def test_str_of_wecom_error_holds_errcode_path_and_short_message_only() -> None:
    """``str(exc)`` names errcode, path, errmsg's human part and the hint, not the ip/link tail."""
    with pytest.raises(RateLimitedError) as info:
        _decipher({"errcode": 45009, "errmsg": REAL_ERRMSG})
    text = str(info.value)
    assert "45009" in text
    assert PATH in text
    assert "api freq out of limit" in text
    assert HINT in text
    assert "1.2.3.4" not in text
    assert "more info" not in text
    assert "https://" not in text


def test_repr_of_wecom_error_holds_errcode_and_path_but_not_errmsg() -> None:
    """``repr(exc)`` names the class, errcode and path, and leaves errmsg out."""
    with pytest.raises(PermissionDeniedError) as info:
        _decipher({"errcode": 60020, "errmsg": "not allow to access from your ip, " + REAL_ERRMSG})
    text = repr(info.value)
    assert "PermissionDeniedError" in text
    assert "60020" in text
    assert PATH in text
    assert "1.2.3.4" not in text
    assert "not allow" not in text


def test_str_of_upstream_http_error_names_status_and_path() -> None:
    """``str(UpstreamHTTPError)`` names the HTTP status and the path."""
    with pytest.raises(UpstreamHTTPError) as info:
        _decipher(b"", status=502)
    assert "502" in str(info.value)
    assert PATH in str(info.value)


SECRET_TOKEN = "Ab-3_x.Y%2Bz%3D%3D"  # percent-encoded chars, dots, dashes
SECRET = "sEcReT_9%2F8~7"


@pytest.mark.parametrize(
    "url",
    [
        f"https://qyapi.weixin.qq.com/cgi-bin/kf/sync_msg?access_token={SECRET_TOKEN}",
        f"https://qyapi.weixin.qq.com/cgi-bin/kf/servicer/list?access_token={SECRET_TOKEN}&open_kfid=wk1",
        f"https://qyapi.weixin.qq.com/cgi-bin/kf/servicer/list?open_kfid=wk1&access_token={SECRET_TOKEN}&x=1",
        f"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret={SECRET}",
        f"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpsecret={SECRET}&corpid=ww1",
        f"/cgi-bin/kf/customer/batchget?access_token={SECRET_TOKEN}#frag",
        f'HTTP Request: POST /cgi-bin/kf/send_msg?ACCESS_TOKEN={SECRET_TOKEN} "HTTP/1.1 200 OK"',
        f"GET gettoken?corpid=ww1&corpsecret={SECRET} then "
        f"POST kf/sync_msg?access_token={SECRET_TOKEN}&debug=1",
    ],
)
def test_redact_hides_token_and_secret_values(url: str) -> None:
    """``redact`` replaces every access_token/corpsecret value, wherever it sits in the URL."""
    cleaned = redact(url)
    assert SECRET_TOKEN not in cleaned
    assert SECRET not in cleaned
    # no fragment of the value survives either (e.g. the part after an encoded char)
    assert "Ab-3" not in cleaned
    assert "sEcReT" not in cleaned
    assert "***" in cleaned


def test_redact_keeps_the_rest_of_the_url() -> None:
    """``redact`` leaves parameter names and the other parameters untouched."""
    url = f"https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret={SECRET}&x=2"
    assert (
        redact(url) == "https://qyapi.weixin.qq.com/cgi-bin/gettoken?corpid=ww1&corpsecret=***&x=2"
    )
    assert redact("no secrets here?a=1") == "no secrets here?a=1"


def test_redacting_filter_cleans_formatted_log_records() -> None:
    """RedactingFilter rewrites a record whose args carry a token URL, and keeps the record."""
    record = logging.LogRecord(
        "httpx",
        logging.INFO,
        __file__,
        1,
        "HTTP Request: %s %s",
        ("GET", f"https://x/cgi-bin/kf/account/list?access_token={SECRET_TOKEN}"),
        None,
    )
    assert RedactingFilter().filter(record) is True
    message = record.getMessage()
    assert SECRET_TOKEN not in message
    assert "HTTP Request: GET" in message
