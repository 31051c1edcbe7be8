"""``wecom-kf media``: temporary media (upload)."""

from __future__ import annotations

import argparse
import os
from typing import Final

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
        help="upload temporary media (images, voice, video, files)",
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
