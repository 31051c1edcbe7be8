"""Temporary media: the types ``media/upload`` takes and what it answers."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import attrs
from cattrs.gen import make_dict_structure_fn, override

from ._converter import converter
from ._kf import withheld

__all__ = ["DownloadedMedia", "MediaType", "UploadedMedia"]


class MediaType(enum.StrEnum):
    """The ``type`` of a temporary medium (``media/upload``'s query parameter)."""

    #: JPG or PNG, up to 10 MB.
    IMAGE = "image"
    #: AMR, up to 2 MB and 60 seconds.
    VOICE = "voice"
    #: MP4, up to 10 MB.
    VIDEO = "video"
    #: Anything, up to 20 MB.
    FILE = "file"


@attrs.frozen(kw_only=True)
class UploadedMedia:
    """What ``media/upload`` answers: the new ``media_id`` and when it was made.

    A temporary medium lives 3 days from ``created_at``; each upload makes a new
    ``media_id``, even of the same bytes.
    """

    #: The medium's type (an undocumented type is kept as the plain string).
    type: MediaType | str
    #: The id to send (an account's avatar, an image message, ...).
    media_id: str
    #: When WeCom stored it (an aware UTC datetime; WeCom sends epoch seconds as a string).
    created_at: dt.datetime


@attrs.frozen(kw_only=True)
class DownloadedMedia:
    """What ``kf.media.download`` wrote: the medium's file name, content type and size.

    ``filename`` is the name WeCom gave (``Content-Disposition``) made safe to use
    as a file name: its last path component only, without control characters,
    quotes or leading dots; the media id when nothing usable is left.
    """

    #: The medium downloaded.
    media_id: str
    #: A safe file name (never a path); withheld from the repr (a customer chose it).
    filename: str = attrs.field(repr=withheld)
    #: The ``Content-Type`` WeCom gave (``application/octet-stream`` when it gave none).
    content_type: str
    #: Bytes written.
    size: int
    #: The path written to (``None`` when the destination was a file object);
    #: withheld from the repr (it may end in the customer's file name).
    path: str | None = attrs.field(default=None, repr=withheld)


def _media_type(value: Any, _: Any) -> MediaType | str:
    if type(value) is not str:
        raise TypeError(f"expected a media type string, got {type(value).__name__}")
    try:
        return MediaType(value)
    except ValueError:
        return value


def _epoch_seconds(value: Any, _: Any) -> dt.datetime:
    """``created_at``: epoch seconds as a string of digits (or, tolerated, an integer)."""
    if type(value) is str and value.isascii() and value.isdigit():
        seconds = int(value)
    elif type(value) is int and value >= 0:
        seconds = value
    else:
        raise TypeError(f"expected epoch seconds (a string of digits), got {value!r:.40}")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


converter.register_structure_hook(
    UploadedMedia,
    make_dict_structure_fn(
        UploadedMedia,
        converter,
        type=override(struct_hook=_media_type),
        created_at=override(struct_hook=_epoch_seconds),
    ),
)
