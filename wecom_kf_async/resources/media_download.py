"""``media/get``: temporary media downloaded in Range requests, resumed where cut (page 96486).

What holds:

- **Streamed.** The body goes from the socket to the destination a chunk at a
  time; nothing holds the file, whatever its size.
- **Ranges of at most 20 MB.** WeCom refuses a file over 20 MB fetched whole
  (errcode 830002) and a range over 20 MB; each request asks ``range_size``
  bytes (default and most :data:`RANGE_MAX`).
- **Resumed, never restarted.** A connection cut mid-range resumes with a Range
  from the first byte not received: no byte is lost, none is written twice. A
  resume that gets no byte further counts against :data:`RESUMES_WITHOUT_PROGRESS`.
- **Checked.** A 206 whose ``Content-Range`` is not what was asked (another
  start, past the end asked, another total) is refused, as is a 200 to a range
  that does not start at 0 and a body longer than announced
  (:class:`~wecom_kf_async.InvalidResponseError`). An answer that is JSON where
  bytes were expected is the error it carries (40007 for an unknown or expired
  id), never the file's content.
- **Safe names.** The file name WeCom gives is reduced to a plain file name
  (:func:`safe_filename`), never used as a path.
- **Whole or nothing on disk.** A path destination is written to ``<dest>.part``
  and renamed when complete; a failure removes the part file.
- **One way down.** Each range is one call through the pipeline (token, budget,
  concurrency slot held while its body is read, retries of the opening,
  instrumentation, redaction: the token is in the URL).
"""

from __future__ import annotations

import contextlib
import email.message
import email.utils
import io
import mimetypes
import os
import re
from collections.abc import AsyncGenerator, Callable
from typing import IO, Final, TypeAlias

import httpx

from .. import _checks
from .._endpoints import ENDPOINTS
from .._errors import InvalidResponseError, TransportError
from .._pipeline import Caller
from .._streamed import body_failure
from ..models import DownloadedMedia

__all__ = [
    "RANGE_MAX",
    "RESUMES_WITHOUT_PROGRESS",
    "Destination",
    "Progress",
    "download",
    "iter_bytes",
    "safe_filename",
]

MEDIA_GET = ENDPOINTS["media/get"]

#: The largest range one request asks (20 MB, page 96486); also the default.
RANGE_MAX: Final = 20 * 1024 * 1024
#: Cut connections in a row, each without a byte of progress, after which a
#: download gives up (each reopening goes through the pipeline's retries too).
RESUMES_WITHOUT_PROGRESS: Final = 3
#: Longest file name kept, in UTF-8 bytes (common file systems' limit of 255,
#: less room for the ``.part`` suffix).
_MAX_NAME_BYTES: Final = 250
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")
_UNSAFE_CHARS = re.compile(r'[<>:"|?*]')
_DEFAULT_TYPE: Final = "application/octet-stream"

#: Where ``kf.media.download`` writes: a path (str or PathLike), a directory (the
#: safe file name WeCom gives is used in it), or a writable binary file object.
Destination: TypeAlias = "str | os.PathLike[str] | IO[bytes]"
#: Called after each chunk with the bytes so far and the total (``None`` until known).
Progress: TypeAlias = Callable[[int, "int | None"], object]


def safe_filename(raw: str | None, fallback: str, content_type: str = _DEFAULT_TYPE) -> str:
    """*raw* (a name from ``Content-Disposition``) as a plain file name, or one from *fallback*.

    Only the last path component is kept (``/`` and ``\\`` both separate);
    control and other unprintable characters go, ``<>:"|?*`` become ``_``, and
    leading dots and surrounding spaces are stripped, so the result is never
    ``..``, a hidden file, an absolute path or a drive. Empty after that, the
    name is *fallback* (the media id, made safe the same way) with the extension
    of *content_type*.
    """
    name = _clean(raw or "")
    if not name:
        extension = mimetypes.guess_extension(content_type.split(";", 1)[0].strip()) or ""
        name = (_clean(fallback) or "media") + extension
    encoded = name.encode()
    if len(encoded) > _MAX_NAME_BYTES:
        stem, extension = os.path.splitext(name)
        room = _MAX_NAME_BYTES - len(extension.encode())
        name = stem.encode()[:room].decode("utf-8", "ignore") + extension
    return name


def _clean(name: str) -> str:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable())
    return _UNSAFE_CHARS.sub("_", name).strip().lstrip(".").strip()


def _disposition_filename(header: str | None) -> str | None:
    """The file name of a ``Content-Disposition`` header (``filename*`` preferred)."""
    if not header:
        return None
    message = email.message.Message()
    message["content-disposition"] = header
    plain: str | None = None
    try:
        for key, value in message.get_params([], header="content-disposition"):
            if key != "filename":
                continue
            if isinstance(value, tuple):  # filename*=charset'lang'%XX...: preferred
                return email.utils.collapse_rfc2231_value(value)
            plain = plain or value
    except (ValueError, LookupError):  # a malformed header or an unknown charset
        return None
    return plain


class _Download:
    """One download's progress: what arrived, and what WeCom said of the file."""

    def __init__(self, caller: Caller, media_id: str, range_size: int) -> None:
        self._caller = caller
        self.media_id = media_id
        self._range_size = range_size
        #: Bytes received so far: where the next range starts.
        self.offset = 0
        #: The file's size, once an answer gave it.
        self.total: int | None = None
        self.filename: str | None = None
        self.content_type = _DEFAULT_TYPE

    async def chunks(self) -> AsyncGenerator[bytes, None]:
        """The file's bytes in order, range after range, resuming where a range was cut."""
        stalled = 0
        while self.total is None or self.offset < self.total:
            before = self.offset
            cut: list[TransportError] = []
            async with contextlib.aclosing(self._range(cut)) as chunks:
                async for chunk in chunks:
                    yield chunk
            if cut:
                stalled = 0 if self.offset > before else stalled + 1
                if stalled > RESUMES_WITHOUT_PROGRESS:
                    raise cut[0]
            elif self.total is None:  # a whole file of unannounced size, read to its end
                self.total = self.offset

    async def _range(self, cut: list[TransportError]) -> AsyncGenerator[bytes, None]:
        """One request from :attr:`offset`; a cut body appends its error to *cut*."""
        start = self.offset
        last = start + self._range_size - 1
        if self.total is not None:
            last = min(last, self.total - 1)
        headers = {"Range": f"bytes={start}-{last}", "Accept-Encoding": "identity"}
        params = {"media_id": self.media_id}
        async with self._caller.stream(MEDIA_GET, params=params, headers=headers) as response:
            expected = self._accept(response, start, last)
            received = 0
            chunks = response.aiter_raw()
            failure: TransportError | None = None
            while True:
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except Exception as exc:
                    failure = body_failure(MEDIA_GET.path, exc)
                    if failure is None:
                        raise
                    break
                received += len(chunk)
                if expected is not None and received > expected:
                    raise _invalid(f"the answer is longer than the {expected} bytes announced")
                self.offset += len(chunk)
                yield chunk
            if failure is None and expected is not None and received < expected:
                failure = TransportError(
                    f"{MEDIA_GET.path}: the answer ended after {received} of {expected} bytes",
                    path=MEDIA_GET.path,
                    reason="short body",
                )
            if failure is not None:
                cut.append(failure)

    def _accept(self, response: httpx.Response, start: int, last: int) -> int | None:
        """Check the head of an answer to ``bytes=start-last``; the bytes its body will carry."""
        headers = response.headers
        if headers.get("content-encoding", "identity").lower() not in ("identity", ""):
            raise _invalid(f"the file came encoded ({headers['content-encoding']!r})")
        length = _length(headers.get("content-length"))
        if response.status_code == 206:
            match = _CONTENT_RANGE.fullmatch(headers.get("content-range", "").strip())
            if match is None:
                raise _invalid("a 206 without a Content-Range 'bytes a-b/total'")
            first, end, total = (int(group) for group in match.groups())
            if (
                first != start
                or end < first
                or end > last
                or end >= total
                or (self.total is not None and total != self.total)
                or (length is not None and length != end - first + 1)
            ):
                raise _invalid(
                    f"Content-Range 'bytes {first}-{end}/{total}' does not match the range "
                    f"asked (bytes {start}-{last}"
                    + (f" of {self.total})" if self.total is not None else ")")
                )
            self.total = total
            expected: int | None = end - first + 1
        elif start > 0:
            raise _invalid(f"the whole file (HTTP {response.status_code}) to a range from {start}")
        else:  # the whole file to a range from 0: accepted as the whole file
            self.total = expected = length
        if self.filename is None:
            kind = headers.get("content-type", "").strip() or _DEFAULT_TYPE
            self.content_type = kind
            raw = _disposition_filename(headers.get("content-disposition"))
            self.filename = safe_filename(raw, self.media_id, kind)
        return expected

    def result(self, path: str | None) -> DownloadedMedia:
        return DownloadedMedia(
            media_id=self.media_id,
            filename=self.filename or safe_filename(None, self.media_id),
            content_type=self.content_type,
            size=self.offset,
            path=path,
        )


def _length(value: str | None) -> int | None:
    if value is None:
        return None
    if not value.strip().isdigit():
        raise _invalid(f"a Content-Length of {value[:40]!r}")
    return int(value)


def _invalid(what: str) -> InvalidResponseError:
    return InvalidResponseError(
        f"{MEDIA_GET.path} answered {what}", path=MEDIA_GET.path, reason="bad range answer"
    )


def _check(media_id: object, range_size: object) -> tuple[str, int]:
    checked = _checks.media_id(media_id)
    if isinstance(range_size, bool) or not isinstance(range_size, int):
        raise TypeError(f"range_size must be an int, got {type(range_size).__name__}")
    if not 1 <= range_size <= RANGE_MAX:
        raise ValueError(
            f"range_size must be 1 to {RANGE_MAX} bytes (WeCom refuses ranges over 20 MB), "
            f"got {range_size}"
        )
    return checked, range_size


async def iter_bytes(
    caller: Caller, media_id: object, range_size: object
) -> AsyncGenerator[bytes, None]:
    """The bytes of *media_id* in order (see :meth:`MediaAPI.iter_bytes`)."""
    job = _Download(caller, *_check(media_id, range_size))
    async with contextlib.aclosing(job.chunks()) as chunks:
        async for chunk in chunks:
            yield chunk


async def download(
    caller: Caller,
    media_id: object,
    dest: Destination,
    range_size: object,
    on_progress: Progress | None,
) -> DownloadedMedia:
    """Write *media_id* to *dest* (see :meth:`MediaAPI.download`)."""
    job = _Download(caller, *_check(media_id, range_size))
    if isinstance(dest, str | os.PathLike):
        return await _to_path(job, os.fspath(dest), on_progress)
    write = getattr(dest, "write", None)
    if not callable(write) or isinstance(dest, io.TextIOBase):
        raise TypeError(
            f"dest must be a path or a binary file object opened for writing, "
            f"got {type(dest).__name__}"
        )
    async with contextlib.aclosing(job.chunks()) as chunks:
        async for chunk in chunks:
            write(chunk)
            if on_progress is not None:
                on_progress(job.offset, job.total)
    return job.result(None)


def _is_directory(dest: str) -> bool:
    if not isinstance(dest, str):
        raise TypeError("dest must be a str path, not bytes")
    return os.path.isdir(dest)


async def _to_path(job: _Download, dest: str, on_progress: Progress | None) -> DownloadedMedia:
    into_directory = _is_directory(dest)
    handle: IO[bytes] | None = None
    part = ""

    def open_part() -> IO[bytes]:
        nonlocal dest, part
        if into_directory:  # the name is known once the first answer came
            dest = os.path.join(dest, job.filename or safe_filename(None, job.media_id))
        part = dest + ".part"
        return open(part, "wb")

    try:
        async with contextlib.aclosing(job.chunks()) as chunks:
            async for chunk in chunks:
                if handle is None:
                    handle = open_part()
                handle.write(chunk)
                if on_progress is not None:
                    on_progress(job.offset, job.total)
        if handle is None:  # an empty file
            handle = open_part()
        handle.close()
        os.replace(part, dest)
    except BaseException:
        if handle is not None:
            handle.close()
            with contextlib.suppress(OSError):
                os.unlink(part)
        raise
    return job.result(dest)
