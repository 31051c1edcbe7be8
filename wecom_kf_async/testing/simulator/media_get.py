"""The simulator's media download (``media/get``, official page 96486): Range, 830002, expiry.

It serves every medium in ``sim.corp.media``: what ``media/upload`` received (its
bytes), what customers sent (``sim.customer_says`` adds their media ids) and what
``sim.add_media`` seeded. A medium without bytes of its own gets ``size`` bytes
generated from its id, block by block as the body is sent, so a 100 MB medium
costs no memory; ``sim.media_bytes`` and ``sim.media_sha256`` (in :mod:`.media`)
give what a download must produce.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from typing import ClassVar, Final
from urllib.parse import quote

from ._types import ApiError, Call, Route
from ._wire import Binary
from .media import MediaMixin

__all__ = ["MEDIA_GET", "MEDIA_GET_MAX_BYTES", "MEDIA_TTL", "MediaGetMixin"]

MEDIA_GET: Final = "media/get"
#: The most ``media/get`` sends in one answer: a larger file needs Range requests,
#: and a larger range is refused (errcode 830002, page 96486).
MEDIA_GET_MAX_BYTES: Final = 20 * 1024 * 1024
#: How long a temporary medium lives, in seconds (3 days, page 96486).
MEDIA_TTL: Final = 3 * 24 * 3600

_INVALID_MEDIA_ID: Final = 40007
_TOO_LARGE: Final = 830002
_RANGE = re.compile(r"bytes=(\d+)-(\d*)")


def _disposition(filename: str) -> bytes:
    """``attachment; filename="..."`` (with ``filename*=UTF-8''...`` for any other name)."""
    plain = filename.isascii() and filename.isprintable() and '"' not in filename
    fallback = filename if plain else re.sub(r'[^ -~]|"', "_", filename)
    value = f'attachment; filename="{fallback}"'
    if not plain:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value.encode("latin-1")


class MediaGetMixin(MediaMixin):
    """Serves ``media/get`` as WeCom documents it (page 96486).

    Without a ``Range`` header the whole file is answered (200), unless it is over
    20 MB (errcode 830002); ``Range: bytes=a-b`` (or ``a-``) answers 206 with
    ``Content-Range``, a range over 20 MB gets 830002 and one past the end 416.
    An unknown id, or one older than 3 days on the simulator's clock, answers
    40007. The ``"drop"`` fault cuts the body half way.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {MEDIA_GET: Route("GET", "_media_get")}

    def _setup(self) -> None:
        super()._setup()
        #: The ``Range`` header of every ``media/get`` call answered, in order
        #: (``None``: none), for tests that check how a download asked.
        self.media_get_ranges: list[str | None] = []

    def _media_get(self, call: Call) -> Binary:
        media_id = call.query.get("media_id", "")
        medium = self.corp.media.get(media_id)
        if medium is None or call.now >= medium.created_at + MEDIA_TTL:
            raise ApiError(_INVALID_MEDIA_ID)
        asked = call.headers.get("range")
        self.media_get_ranges.append(asked)
        size = medium.size
        content_type = (
            mimetypes.guess_type(medium.filename)[0] or "application/octet-stream"
        ).encode()
        disposition = _disposition(medium.filename)
        headers: list[tuple[bytes, bytes]] = [(b"content-disposition", disposition)]
        if asked is None:
            if size > MEDIA_GET_MAX_BYTES:
                raise ApiError(_TOO_LARGE, "file too large: use Range requests of at most 20 MB")
            status, start, stop = 200, 0, size
        else:
            match = _RANGE.fullmatch(asked.strip())
            if match is None:
                raise ApiError(40035, f"invalid Range header {asked[:40]!r}")
            start = int(match.group(1))
            last = int(match.group(2)) if match.group(2) else size - 1
            if start >= size or last < start:
                unsatisfiable = ((b"content-range", f"bytes */{size}".encode()),)
                return Binary(416, b"text/plain", 0, unsatisfiable, lambda: iter(()))
            stop = min(last, size - 1) + 1
            if stop - start > MEDIA_GET_MAX_BYTES:
                raise ApiError(_TOO_LARGE, "range too large: at most 20 MB per request")
            status = 206
            headers.append((b"content-range", f"bytes {start}-{stop - 1}/{size}".encode()))
        headers.append((b"accept-ranges", b"bytes"))
        return Binary(
            status,
            content_type,
            stop - start,
            tuple(headers),
            lambda: self._pieces(medium, start, stop),
        )
