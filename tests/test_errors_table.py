"""Tests that the errcode table matches the reference's dispositions (section 4)."""

from __future__ import annotations

import pickle

import pytest

from wecom_kf_async import (
    ERRCODE_TABLE,
    BatchGetError,
    Disposition,
    InvalidResponseError,
    KfError,
    RequestTimeoutError,
    TransportError,
    UpstreamHTTPError,
    WeComError,
    disposition_for,
)
from wecom_kf_async._errors import error_for, is_fatal

# The reference's table (wecom-kf-api.md, section 4), written out by hand.
DOCUMENTED = {
    -1: Disposition.RETRY,
    6000: Disposition.RETRY,
    40014: Disposition.REFRESH_TOKEN,
    42001: Disposition.REFRESH_TOKEN,
    41001: Disposition.REFRESH_TOKEN,
    40001: Disposition.FATAL,
    40013: Disposition.FATAL,
    48002: Disposition.FATAL,
    60020: Disposition.FATAL,
    45009: Disposition.THROTTLE,
    45033: Disposition.THROTTLE,
    40058: Disposition.FAIL,
    40035: Disposition.FAIL,
    40063: Disposition.FAIL,
    40096: Disposition.FAIL,
    95000: Disposition.FAIL,
    95001: Disposition.FAIL,
    95004: Disposition.FAIL,
    95007: Disposition.FAIL,
    95013: Disposition.FAIL,
    95018: Disposition.FAIL,
    95017: Disposition.FATAL,
}

RETRYABLE = {Disposition.RETRY, Disposition.THROTTLE}


@pytest.mark.parametrize(("errcode", "disposition"), sorted(DOCUMENTED.items()))
def test_documented_code_has_documented_disposition(errcode: int, disposition: Disposition) -> None:
    """Each errcode of the reference's table has the disposition the reference gives it."""
    assert errcode in ERRCODE_TABLE
    assert disposition_for(errcode) is disposition
    assert ERRCODE_TABLE[errcode][0] is disposition
    assert error_for(errcode, "msg").disposition is disposition


@pytest.mark.parametrize("errcode", [12345, 95024, 99999, -40001, 1])
def test_unknown_or_unverified_code_fails_fast(errcode: int) -> None:
    """Codes missing from the table (unverified 95xxx, callback crypto codes) fail fast."""
    assert disposition_for(errcode) is Disposition.FAIL
    exc = error_for(errcode, "msg")
    assert type(exc) is WeComError
    assert exc.errcode == errcode
    assert exc.retryable is False
    assert not is_fatal(exc)


@pytest.mark.parametrize(("errcode", "disposition"), sorted(DOCUMENTED.items()))
def test_retryable_only_for_retry_and_throttle(errcode: int, disposition: Disposition) -> None:
    """A WeComError is retryable exactly when its disposition is RETRY or THROTTLE."""
    exc = error_for(errcode, "msg", path="kf/x")
    assert exc.retryable is (disposition in RETRYABLE)


@pytest.mark.parametrize(("errcode", "disposition"), sorted(DOCUMENTED.items()))
def test_is_fatal_only_for_fatal_codes(errcode: int, disposition: Disposition) -> None:
    """``is_fatal`` is True exactly for errors whose disposition is FATAL."""
    assert is_fatal(error_for(errcode, "msg")) is (disposition is Disposition.FATAL)


@pytest.mark.parametrize(
    "exc",
    [
        TransportError("connect failed", reason="ConnectError"),
        RequestTimeoutError("timed out", path="kf/sync_msg"),
        UpstreamHTTPError(502, path="kf/sync_msg"),
        UpstreamHTTPError(429, retry_after=3.0),
        InvalidResponseError("not JSON", reason="not JSON"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_transport_errors_are_retryable_and_not_fatal(exc: TransportError) -> None:
    """Every TransportError subclass is retryable and never fatal."""
    assert isinstance(exc, TransportError)
    assert exc.retryable is True
    assert is_fatal(exc) is False


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(500, True), (502, True), (503, True), (408, True), (429, True), (400, False), (404, False)],
)
def test_upstream_status_decides_retry(status: int, retryable: bool) -> None:
    """5xx, 408 and 429 are transient; other 4xx statuses are not retried."""
    assert UpstreamHTTPError(status).retryable is retryable


def test_other_errors_are_neither_retryable_nor_fatal() -> None:
    """Plain KfError and BatchGetError are not retryable; non-library exceptions are not fatal."""
    assert KfError("x").retryable is False
    assert BatchGetError({"wm1": KfError("x")}).retryable is False
    assert is_fatal(ValueError("x")) is False
    assert is_fatal(KfError("x")) is False


def test_errcode_table_is_read_only() -> None:
    """ERRCODE_TABLE cannot be changed: setting, adding or deleting an entry raises TypeError."""
    before = dict(ERRCODE_TABLE)
    with pytest.raises(TypeError):
        ERRCODE_TABLE[40014] = (Disposition.FAIL, ERRCODE_TABLE[40014][1])  # type: ignore[index]
    with pytest.raises(TypeError):
        ERRCODE_TABLE[777] = ERRCODE_TABLE[-1]  # type: ignore[index]
    with pytest.raises(TypeError):
        del ERRCODE_TABLE[-1]  # type: ignore[attr-defined]
    assert not hasattr(ERRCODE_TABLE, "update")
    assert dict(ERRCODE_TABLE) == before


@pytest.mark.parametrize(
    "error",
    [
        error_for(40014, "invalid access_token, hint: [1700000000_1_abc], from ip: 1.2.3.4"),
        error_for(45009, "api freq out of limit", path="kf/customer/batchget"),
        error_for(123456, "unknown"),
        RequestTimeoutError(
            "gettoken timed out (ReadTimeout)", path="gettoken", reason="ReadTimeout"
        ),
        UpstreamHTTPError(502, path="kf/customer/batchget", retry_after=3.0),
        BatchGetError({"wmA": error_for(-1, "system busy")}),
    ],
    ids=lambda error: type(error).__name__,
)
def test_errors_survive_pickling(error: KfError) -> None:
    """Task queues (arq, celery) pickle a job's exception for the process that waits."""
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes

    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert repr(copy) == repr(error)
    assert vars(copy).keys() == vars(error).keys()
    assert copy.retryable == error.retryable
    for name, value in vars(error).items():
        if name != "failed":
            assert getattr(copy, name) == value
