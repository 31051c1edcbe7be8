"""``wecom-kf media``: temporary media (upload, download with a progress bar)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Final, TextIO

from .._client import KfClient
from ..models import MediaType
from ._common import Commands, UsageError, add_client_options, emit

__all__ = ["register"]

#: The type a file extension implies (anything else is a ``file``).
_TYPE_BY_EXTENSION: Final = {
    ".jpg": MediaType.IMAGE,
    ".jpeg": MediaType.IMAGE,
    ".png": MediaType.IMAGE,
    ".amr": MediaType.VOICE,
    ".mp4": MediaType.VIDEO,
}


def register(commands: Commands) -> None:
    """Add ``media`` to *commands*."""
    media = commands.add_parser(
        "media",
        help="upload and download temporary media (images, voice, video, files)",
        description="Temporary media live 3 days; their media_id goes into messages "
        "and account avatars.",
    )
    actions = media.add_subparsers(dest="media_command", required=True, metavar="ACTION")
    upload = actions.add_parser(
        "upload",
        help="upload a file and print its media_id (media/upload)",
        description="Upload FILE (streamed, not read into memory) and print one JSON "
        "object: type, media_id, created_at.",
    )
    upload.add_argument("file", metavar="FILE", help="the file to upload")
    upload.add_argument(
        "--type",
        choices=[kind.value for kind in MediaType],
        default=None,
        help="media type (default: from the extension: .jpg/.jpeg/.png image, .amr "
        "voice, .mp4 video, anything else file)",
    )
    add_client_options(upload)
    upload.set_defaults(run=_run_upload, check=_check_upload)
    download = actions.add_parser(
        "download",
        help="download a medium (media/get), with a progress bar on stderr",
        description="Download MEDIA_ID in Range requests of at most 20 MB, streamed to "
        "FILE (written to FILE.part, renamed when complete), and print one JSON object: "
        "media_id, filename, content_type, size, path.",
    )
    download.add_argument("media_id", metavar="MEDIA_ID", help="the medium to download")
    download.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        default=".",
        help="where to write it; a directory takes the (safe) file name WeCom gives "
        "(default: the current directory)",
    )
    add_client_options(download)
    download.set_defaults(run=_run_download)


def _check_upload(args: argparse.Namespace) -> None:
    """Check the file and settle the type before any client is made."""
    if not os.path.isfile(args.file):
        raise UsageError(f"no such file: {args.file}")
    if args.type is None:
        extension = os.path.splitext(args.file)[1].lower()
        args.type = _TYPE_BY_EXTENSION.get(extension, MediaType.FILE).value


async def _run_upload(args: argparse.Namespace, kf: KfClient) -> int:
    media = await kf.media.upload(args.type, args.file)
    row = {
        "type": str(media.type),
        "media_id": media.media_id,
        "created_at": media.created_at.isoformat(),
    }
    emit([row], args.format, ["type", "media_id", "created_at"])
    return 0


class _ProgressBar:
    """A one-line bar on *stream*, redrawn when the shown percentage changes."""

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self._stream = stream
        self._width = width
        self._shown: tuple[int, int] | None = None

    def __call__(self, done: int, total: int | None) -> None:
        percent = 100 * done // total if total else 0
        key = (percent, done if not total else 0)
        if key == self._shown:
            return
        self._shown = key
        filled = self._width * percent // 100
        bar = "#" * filled + "." * (self._width - filled)
        size = f"{done / 1e6:.1f}/{total / 1e6:.1f} MB" if total else f"{done / 1e6:.1f} MB"
        self._stream.write(f"\r[{bar}] {percent:3d}% {size}")
        self._stream.flush()

    def finish(self) -> None:
        if self._shown is not None:
            self._stream.write("\n")
            self._stream.flush()


async def _run_download(args: argparse.Namespace, kf: KfClient) -> int:
    bar = _ProgressBar(sys.stderr)
    try:
        saved = await kf.media.download(args.media_id, args.output, on_progress=bar)
    finally:
        bar.finish()
    row = {
        "media_id": saved.media_id,
        "filename": saved.filename,
        "content_type": saved.content_type,
        "size": saved.size,
        "path": saved.path,
    }
    emit([row], args.format, list(row))
    return 0
