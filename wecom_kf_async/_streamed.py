"""Streamed answers (downloads): telling a file from an error answer, and body failures.

WeCom answers a download with the file (200, or 206 for a range, with a
``Content-Disposition``) or, when it refuses, with the same JSON error object as
any other endpoint (page 96486). An answer that is JSON, or text that is not
offered as a file (no ``Content-Disposition``, no ``Content-Range``: a proxy's
page), is therefore read (at most :data:`MAX_ERROR_BODY` bytes) and deciphered
into its error: it is never handed on as the file's content. (So a medium that
WeCom would serve as ``application/json`` cannot be downloaded; page 96486 shows
JSON only as its failure answer.)
"""

from __future__ import annotations

from typing import Final

import httpx

from ._errors import InvalidResponseError, KfError, TransportError
from ._sansio import decipher_response
from ._transport import describe_failure

__all__ = ["MAX_ERROR_BODY", "answer_error", "body_failure", "is_file"]

#: The most read of an answer that should be an error object (WeCom's are ~200 bytes).
MAX_ERROR_BODY: Final = 64 * 1024


def is_file(response: httpx.Response) -> bool:
    """Whether *response* carries a file's bytes: 200 or 206, not JSON, and not text
    unless offered as a file."""
    if response.status_code not in (200, 206):
        return False
    headers = response.headers
    kind = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if kind == "application/json":
        return False
    return not kind.startswith("text/") or (
        "content-disposition" in headers or "content-range" in headers
    )


async def answer_error(response: httpx.Response, path: str) -> KfError:
    """The error an answer that is no file carries (its body read, at most 64 KiB).

    A WeCom error object gives its :class:`~wecom_kf_async.WeComError`; another
    status its :class:`~wecom_kf_async.UpstreamHTTPError`; anything else (JSON
    without an error, a body too long to be an error) an
    :class:`~wecom_kf_async.InvalidResponseError`. httpx's errors while reading
    propagate (the caller turns them into the library's, see :func:`body_failure`).
    """
    body = bytearray()
    async for chunk in response.aiter_raw():
        body += chunk
        if len(body) > MAX_ERROR_BODY:
            return InvalidResponseError(
                f"{path} answered over {MAX_ERROR_BODY} bytes of "
                f"{response.headers.get('content-type', 'no content type')!r} where a file "
                "was expected",
                path=path,
                reason="not a file",
            )
    status = 200 if response.status_code == 206 else response.status_code
    try:
        decipher_response(status, response.headers, bytes(body), path=path)
    except KfError as exc:
        return exc
    return InvalidResponseError(
        f"{path} answered a JSON object without an error where a file was expected",
        path=path,
        reason="not a file",
    )


def body_failure(path: str, exc: Exception) -> TransportError | None:
    """The library's error for *exc* raised while a body was read (``None``: not ours).

    The httpx exception is not kept (its request carries the URL, and with it the
    access token): raise the result outside the ``except`` block.
    """
    described = describe_failure(exc)
    if described is None:
        return None
    _, reason, _ = described
    return TransportError(f"{path}: the answer was cut off ({reason})", path=path, reason=reason)
