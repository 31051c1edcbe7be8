"""The simulator's temporary media (``media/upload``).

The multipart body is parsed with the standard library only (a boundary
splitter); ``sim.corp.media`` records the type, file name, size, time and the
bytes (``media/get`` serves them, see :mod:`.media_get`). ``account/add``
accepts the ids it hands out.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar, Final

from ._base import SimulatorBase
from ._state import SimMedia
from ._types import ApiError, Call, Route

__all__ = [
    "DEMO_MEDIA_ID",
    "MEDIA_MAX_BYTES",
    "MEDIA_MIN_BYTES",
    "MEDIA_UPLOAD",
    "MediaMixin",
    "parse_multipart",
]

MEDIA_UPLOAD: Final = "media/upload"

#: The demo image :meth:`MediaMixin.seed_demo` puts into ``sim.corp.media`` (the
#: avatar of the accounts' demo data too), for ``wecom-kf ... --simulate``.
DEMO_MEDIA_ID: Final = "sim_demo_avatar"

_MB: Final = 1024 * 1024
#: Largest upload per type, in bytes (WeCom's media/upload page).
MEDIA_MAX_BYTES: Final[Mapping[str, int]] = {
    "image": 10 * _MB,
    "voice": 2 * _MB,
    "video": 10 * _MB,
    "file": 20 * _MB,
}
#: Smallest upload: "every file must be larger than 5 bytes".
MEDIA_MIN_BYTES: Final = 6

#: WeCom's global errcodes for what can be wrong with an upload. Which of them
#: ``media/upload`` answers in each case is not documented (unverified).
_BAD_TYPE: Final = 40004  # invalid media type
_BAD_SIZE: Final = 40006  # invalid file size
_NO_MEDIA: Final = 41005  # media data missing
_EMPTY_MEDIA: Final = 44001  # empty media data

#: Bytes per generated block; each block starts with its index, so a gap or an
#: overlap anywhere changes the hash.
_BLOCK: Final = 64 * 1024
_PARAM = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def _params(header: str) -> dict[str, str]:
    """The ``key=value`` parameters of a header such as Content-Disposition."""
    found: dict[str, str] = {}
    for match in _PARAM.finditer(header):
        quoted, bare = match.group(2), match.group(3)
        value = re.sub(r"\\(.)", r"\1", quoted) if quoted is not None else bare
        found[match.group(1).lower()] = value
    return found


def parse_multipart(content_type: str, body: bytes) -> list[tuple[dict[str, str], bytes]]:
    """The parts of a ``multipart/form-data`` body: ``(headers, content)`` each.

    Header names are lower-cased. Raises ``ValueError`` for a body that is not
    well-formed multipart.
    """
    kind, _, rest = content_type.partition(";")
    if kind.strip().lower() != "multipart/form-data":
        raise ValueError(f"content type {kind.strip()!r} is not multipart/form-data")
    boundary = _params(";" + rest).get("boundary")
    if not boundary:
        raise ValueError("the multipart content type has no boundary")
    delimiter = b"--" + boundary.encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise ValueError("the multipart body does not end with its closing delimiter")
    parts: list[tuple[dict[str, str], bytes]] = []
    for piece in pieces[1:-1]:
        if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
            raise ValueError("a multipart part is not delimited by CRLF")
        head, separator, content = piece[2:-2].partition(b"\r\n\r\n")
        if not separator:
            raise ValueError("a multipart part has no blank line after its headers")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, colon, value = line.partition(":")
            if not colon:
                raise ValueError(f"bad multipart header line {line[:80]!r}")
            headers[name.strip().lower()] = value.strip()
        parts.append((headers, content))
    return parts


def _generated(media_id: str, start: int, stop: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``stop`` (exclusive) of the medium generated from *media_id*."""
    base = hashlib.shake_256(media_id.encode()).digest(_BLOCK)
    block = start // _BLOCK
    while block * _BLOCK < stop:
        data = block.to_bytes(8, "big") + base[8:]
        low = max(start - block * _BLOCK, 0)
        high = min(stop - block * _BLOCK, _BLOCK)
        yield data[low:high]
        block += 1


def _sliced(data: bytes, start: int, stop: int) -> Iterator[bytes]:
    for offset in range(start, stop, _BLOCK):
        yield data[offset : min(offset + _BLOCK, stop)]


class MediaMixin(SimulatorBase):
    """Serves temporary media (``media/upload``) into ``sim.corp.media``.

    Checks, as WeCom would answer them: the ``type`` query parameter is one of
    image, voice, video, file (40004 otherwise); the body is multipart with a
    part named ``media`` that has a file name (41005 otherwise); the file is not
    empty (44001) and within its type's limits (40006: more than 5 bytes, image
    and video up to 10 MB, voice 2 MB, file 20 MB). Seed media with
    :meth:`add_media`.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        MEDIA_UPLOAD: Route("POST", "_media_upload"),
    }

    def _setup(self) -> None:
        super()._setup()
        self._media_seq = 0

    def add_media(
        self,
        type: str = "image",
        *,
        filename: str = "avatar.png",
        size: int = 2048,
        media_id: str | None = None,
    ) -> str:
        """Put a medium into ``sim.corp.media`` directly (no request); return its ``media_id``.

        ``account/add`` accepts an image added this way as an avatar.

        Args:
            type: image, voice, video or file (not checked against the limits).
            filename: Its file name.
            size: Its size in bytes.
            media_id: Its id (default: a new one); an existing entry is kept as it is.
        """
        if media_id is None:
            media_id = self._new_media_id(type, filename)
        elif media_id in self.corp.media:
            return media_id
        self.corp.media[media_id] = SimMedia(
            media_id=media_id,
            type=type,
            filename=filename,
            size=size,
            created_at=int(self.clock()),
        )
        return media_id

    def media_bytes(self, media_id: str) -> bytes:
        """The whole content ``media/get`` serves for *media_id* (for small media in tests)."""
        medium = self.corp.media[media_id]
        return b"".join(self._pieces(medium, 0, medium.size))

    def media_sha256(self, media_id: str) -> str:
        """The SHA-256 (hex) of what ``media/get`` serves for *media_id* (piece by piece)."""
        medium = self.corp.media[media_id]
        digest = hashlib.sha256()
        for piece in self._pieces(medium, 0, medium.size):
            digest.update(piece)
        return digest.hexdigest()

    @staticmethod
    def _pieces(medium: SimMedia, start: int, stop: int) -> Iterator[bytes]:
        if medium.data is not None:
            return _sliced(medium.data, start, stop)
        return _generated(medium.media_id, start, stop)

    def seed_demo(self) -> None:
        """Add the demo image :data:`DEMO_MEDIA_ID`."""
        super().seed_demo()
        self.add_media(media_id=DEMO_MEDIA_ID)

    def _new_media_id(self, type: str, filename: str) -> str:
        """A new id that looks like WeCom's (a digit and letters), unique in this simulator."""
        while True:
            self._media_seq += 1
            digest = zlib.crc32(f"{type}:{filename}:{self._media_seq}".encode())
            media_id = f"3sim{type}{self._media_seq:06d}{digest:08x}"
            if media_id not in self.corp.media:
                return media_id

    def _media_upload(self, call: Call) -> dict[str, Any]:
        kind = call.query.get("type", "")
        if kind not in MEDIA_MAX_BYTES:
            raise ApiError(_BAD_TYPE, f"invalid media type {kind!r}")
        try:
            parts = parse_multipart(call.headers.get("content-type", ""), call.body)
        except ValueError as exc:
            raise ApiError(_NO_MEDIA, f"no multipart media: {exc}") from None
        fields = [
            (_params(headers.get("content-disposition", "")), data) for headers, data in parts
        ]
        media = [(params, data) for params, data in fields if params.get("name") == "media"]
        if not media:
            raise ApiError(_NO_MEDIA, "the form has no field named 'media'")
        params, content = media[0]
        filename = params.get("filename")
        if not filename:
            raise ApiError(_NO_MEDIA, "the 'media' field has no filename")
        size = len(content)
        if size == 0:
            raise ApiError(_EMPTY_MEDIA)
        limit = MEDIA_MAX_BYTES[kind]
        if size < MEDIA_MIN_BYTES or size > limit:
            raise ApiError(
                _BAD_SIZE,
                f"invalid file size {size}: a {kind} must be {MEDIA_MIN_BYTES} to {limit} bytes",
            )
        media_id = self._new_media_id(kind, filename)
        created_at = int(call.now)
        self.corp.media[media_id] = SimMedia(
            media_id=media_id,
            type=kind,
            filename=filename,
            size=size,
            created_at=created_at,
            data=content,
        )
        return {"type": kind, "media_id": media_id, "created_at": str(created_at)}
