"""``media/upload`` and ``media/get``: temporary media for avatars and messages (``kf.media``).

Downloads are in :mod:`.media_download` (ranges, resuming, safe names).

The file is streamed from disk in chunks (httpx multipart reads file objects
piece by piece), never read whole, and opened afresh (or rewound) for each
attempt, so a retry sends the same bytes again. A retry after an ambiguous
failure may leave a second medium behind: harmless, it expires after 3 days.
"""

from __future__ import annotations

import builtins
import io
import mimetypes
import os
from collections.abc import AsyncGenerator, Mapping
from types import MappingProxyType
from typing import IO, Any, Final, TypeAlias

from .. import _checks
from .._endpoints import ENDPOINTS
from ..models import DownloadedMedia, MediaType, UploadedMedia, structure
from . import media_download
from ._base import Resource
from .media_download import RANGE_MAX, Destination, Progress

__all__ = [
    "MEDIA_MAX_BYTES",
    "MEDIA_MIN_BYTES",
    "MediaAPI",
    "MediaSource",
]

MEDIA_UPLOAD = ENDPOINTS["media/upload"]

_MB: Final = 1024 * 1024

#: Largest upload per type, in bytes (media/upload page, reference section 3). Whether
#: WeCom's "MB" is 2**20 or 10**6 bytes is unverified; the larger reading is used so
#: that no upload WeCom would take is refused here (WeCom still checks).
MEDIA_MAX_BYTES: Final[Mapping[MediaType, int]] = MappingProxyType(
    {
        MediaType.IMAGE: 10 * _MB,
        MediaType.VOICE: 2 * _MB,
        MediaType.VIDEO: 10 * _MB,
        MediaType.FILE: 20 * _MB,
    }
)

#: Smallest upload, in bytes: "every file must be larger than 5 bytes".
MEDIA_MIN_BYTES: Final = 6

#: Longest file name accepted, in bytes (not documented: a sanity bound).
_MAX_FILENAME_BYTES: Final = 255

#: What ``kf.media.upload`` takes: a path, the bytes, or a seekable binary file.
MediaSource: TypeAlias = "str | os.PathLike[str] | bytes | IO[bytes]"


def _filename(value: object) -> str:
    name = _checks.text("filename", value, max_bytes=_MAX_FILENAME_BYTES)
    if not name.isprintable() or any(c in name for c in '/\\"'):
        raise ValueError(
            f"filename must be a plain file name (no path, quotes or control characters), "
            f"got {name[:80]!r}"
        )
    return name


class _MediaUpload:
    """The multipart body of one upload, produced afresh for each attempt.

    Implements the pipeline's ``Upload`` protocol: :meth:`open` gives httpx its
    ``files=`` with the file positioned at its start, :meth:`close` closes what
    :meth:`open` opened (never a file object the caller owns, which httpx
    reads from its start).
    """

    def __init__(
        self,
        *,
        path: str | None,
        data: bytes | None,
        stream: IO[bytes] | None,
        filename: str,
    ) -> None:
        self._path = path
        self._data = data
        self._stream = stream
        self._filename = filename
        self._content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        self._opened: IO[bytes] | None = None

    def open(self) -> dict[str, Any]:
        """``files=`` for httpx: the form field ``media`` with the file name."""
        self.close()
        handle: IO[bytes]
        if self._path is not None:
            handle = self._opened = open(self._path, "rb")  # noqa: SIM115 - closed in close()
        elif self._data is not None:
            handle = io.BytesIO(self._data)
        else:
            assert self._stream is not None  # noqa: S101 - one of the three is set
            handle = self._stream
            handle.seek(0)
        return {"media": (self._filename, handle, self._content_type)}

    def close(self) -> None:
        """Close the file :meth:`open` opened from a path."""
        opened, self._opened = self._opened, None
        if opened is not None:
            opened.close()


def _prepare(source: object, filename: object) -> tuple[_MediaUpload, int]:
    """The upload for *source*, and its size in bytes; bad input raises, nothing is sent."""
    if isinstance(source, str | os.PathLike):
        path = os.fspath(source)
        if not isinstance(path, str):
            raise TypeError("a path to upload must be a str path, not bytes")
        try:
            stat = os.stat(path)
        except OSError as exc:
            raise ValueError(f"cannot upload {path!r}: {exc.strerror}") from None
        if not os.path.isfile(path):
            raise ValueError(f"cannot upload {path!r}: not a regular file")
        name = _filename(os.path.basename(path) if filename is None else filename)
        upload = _MediaUpload(path=path, data=None, stream=None, filename=name)
        return upload, stat.st_size
    if filename is None:
        raise ValueError("filename is required when uploading bytes or a file object")
    name = _filename(filename)
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        return _MediaUpload(path=None, data=data, stream=None, filename=name), len(data)
    read = getattr(source, "read", None)
    if not callable(read) or isinstance(source, io.TextIOBase):
        raise TypeError(
            f"the medium must be a path, bytes or a binary file object, got {type(source).__name__}"
        )
    seekable = getattr(source, "seekable", None)
    if not callable(seekable) or not seekable():
        raise ValueError(
            "the file object is not seekable: a retry could not send it again; "
            "pass a path, bytes or a seekable file"
        )
    stream: IO[bytes] = source  # type: ignore[assignment]
    if not isinstance(stream.read(0), bytes):
        raise TypeError("the file object must be opened in binary mode ('rb')")
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    return _MediaUpload(path=None, data=None, stream=stream, filename=name), size


class MediaAPI(Resource):
    """``media/upload`` and ``media/get``: temporary media (``kf.media``)."""

    async def download(
        self,
        media_id: str,
        dest: Destination,
        *,
        range_size: int = RANGE_MAX,
        on_progress: Progress | None = None,
    ) -> DownloadedMedia:
        """Download a temporary medium (``media/get``) to *dest*, streamed, in ranges.

        Each request asks at most *range_size* bytes (WeCom serves at most 20 MB
        per request); a connection cut mid-way resumes from the first byte not
        received. A path is written to ``<dest>.part`` and renamed when complete
        (the part file is removed on failure); an existing directory receives the
        file under the (made safe) name WeCom gives; a file object is written to
        from its current position and left open.

        Args:
            media_id: A medium a customer sent (``ImageMessage.media_id``, ...) or
                one uploaded; media live 3 days.
            dest: A path, a directory, or a binary file object opened for writing.
            range_size: Bytes per request, 1 to :data:`RANGE_MAX` (20 MB).
            on_progress: Called after each chunk with ``(bytes so far, total)``
                (the total is ``None`` until an answer gave it).

        Returns:
            The :class:`DownloadedMedia`: safe ``filename``, ``content_type``, ``size``.

        Raises:
            TypeError, ValueError: A bad argument; nothing is sent.
            InvalidRequestError: 40007, an unknown or expired ``media_id``.
            InvalidResponseError: An answer that does not match the range asked.
            KfError: What else WeCom or the transport answered.
        """
        return await media_download.download(self._caller, media_id, dest, range_size, on_progress)

    def iter_bytes(
        self, media_id: str, *, range_size: int = RANGE_MAX
    ) -> AsyncGenerator[bytes, None]:
        """The bytes of a temporary medium (``media/get``), in order, as they arrive.

        ``async for chunk in kf.media.iter_bytes(media_id)``: fetched in ranges
        of at most *range_size* bytes and resumed where a connection was cut, as
        :meth:`download` does. The concurrency slot of the range being read is
        held between two chunks: read on, or close the iterator
        (``contextlib.aclosing``) when stopping early. Arguments are checked at
        the first ``anext``; errors are those of :meth:`download`.
        """
        return media_download.iter_bytes(self._caller, media_id, range_size)

    async def upload(
        self,
        type: MediaType | str,
        media: MediaSource,
        filename: str | None = None,
    ) -> UploadedMedia:
        """Upload a temporary medium (``media/upload``); it lives 3 days.

        The file is streamed, not read whole; a path is opened (a file object
        rewound to its start) for each attempt. Retried after a failure like a
        read: a repeat only makes another ``media_id``.

        Args:
            type: ``"image"``, ``"voice"``, ``"video"`` or ``"file"`` (a :class:`MediaType`).
            media: A path (``str`` or ``os.PathLike``), the bytes, or a seekable
                binary file object (sent whole, from its start).
            filename: The name WeCom shows (a file message displays it); by default
                the path's file name; required for bytes and file objects.

        Returns:
            The :class:`UploadedMedia`, with its ``media_id`` and ``created_at``.

        Raises:
            TypeError: An argument of the wrong type (a text-mode file included).
            ValueError: An unknown type, a missing or bad file name, a file that
                cannot be read or is not seekable, or a size outside the type's
                limits (:data:`MEDIA_MIN_BYTES`, :data:`MEDIA_MAX_BYTES`); nothing
                is sent.
            OSError: The path could not be opened for an attempt (it went away
                after the checks).
            KfError: What WeCom or the transport answered.
        """
        if not isinstance(type, str):
            raise TypeError(
                f"type must be a MediaType or a str, got {builtins.type(type).__name__}"
            )
        kind = _checks.choice("type", type, MediaType)
        upload, size = _prepare(media, filename)
        limit = MEDIA_MAX_BYTES[kind]
        if size < MEDIA_MIN_BYTES:
            raise ValueError(f"the medium is {size} bytes; WeCom needs more than 5")
        if size > limit:
            raise ValueError(
                f"the {kind.value} is {size} bytes; the limit for {kind.value} is "
                f"{limit} bytes ({limit // _MB} MB)"
            )
        data = await self._call(MEDIA_UPLOAD, params={"type": kind.value}, upload=upload)
        return structure(data, UploadedMedia, path=MEDIA_UPLOAD.path)
