"""``wecom-kf accounts``: KF accounts (list, add, update, delete, contact-url)."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable

from .. import _checks
from .._client import KfClient
from ._common import Commands, UsageError, add_client_options, emit

__all__ = ["register"]

_ACCOUNT_COLUMNS = ("open_kfid", "name", "manage_privilege", "avatar")


def register(commands: Commands) -> None:
    """Add ``accounts`` and its actions to *commands*."""
    accounts = commands.add_parser(
        "accounts",
        help="KF accounts: list, add, update, delete, contact-url",
        description="Manage KF accounts (客服账号) and hand out their contact links.",
    )
    actions = accounts.add_subparsers(dest="action", required=True, metavar="ACTION")

    listing = actions.add_parser(
        "list", help="print every account (all pages)", description="Print every KF account."
    )
    add_client_options(listing)
    listing.set_defaults(run=_list)

    add = actions.add_parser(
        "add",
        help="create an account and print its open_kfid",
        description="Create a KF account. It is not retried after a timeout: when the "
        "outcome is unknown, list the accounts before adding it again.",
    )
    add.add_argument("--name", required=True, help="display name, 1 to 16 characters (required)")
    _avatar_options(add, required=True)
    add_client_options(add)
    add.set_defaults(run=_add, check=_check_add)

    update = actions.add_parser(
        "update",
        help="rename an account and/or change its avatar",
        description="Rename a KF account and/or give it a new avatar.",
    )
    update.add_argument("open_kfid", metavar="OPEN_KFID", help="the account")
    update.add_argument(
        "--name", default=None, help="new display name, 1 to 16 characters (default: unchanged)"
    )
    _avatar_options(update, required=False)
    add_client_options(update)
    update.set_defaults(run=_update, check=_check_update)

    delete = actions.add_parser(
        "delete", help="delete an account", description="Delete a KF account."
    )
    delete.add_argument("open_kfid", metavar="OPEN_KFID", help="the account")
    add_client_options(delete)
    delete.set_defaults(run=_delete, check=_check_delete)

    contact = actions.add_parser(
        "contact-url",
        help="print an account's contact link",
        description="Print the contact link of a KF account (add_contact_way).",
    )
    contact.add_argument("open_kfid", metavar="OPEN_KFID", help="the account")
    contact.add_argument(
        "--scene",
        default=None,
        help="a value reported back when a customer enters through the link, up to 32 "
        "bytes of [0-9a-zA-Z_-] (default: none)",
    )
    contact.add_argument(
        "--scene-param",
        default=None,
        metavar="TEXT",
        help="text appended url-encoded as scene_param, up to 128 bytes; needs --scene "
        "(default: none)",
    )
    add_client_options(contact)
    contact.set_defaults(run=_contact_url, check=_check_contact_url)


def _avatar_options(parser: argparse.ArgumentParser, *, required: bool) -> None:
    """``--media-id ID`` or ``--avatar FILE`` (one of them, if *required*)."""
    group = parser.add_mutually_exclusive_group(required=required)
    default = " (one of --media-id/--avatar is required)" if required else " (default: unchanged)"
    group.add_argument(
        "--media-id",
        default=None,
        metavar="ID",
        help=f"avatar: the media_id of an uploaded image{default}",
    )
    group.add_argument(
        "--avatar",
        default=None,
        metavar="FILE",
        help=f"avatar: an image file, uploaded first with media/upload{default}",
    )


def _checked(check: Callable[..., object], *args: object) -> None:
    """Run a library check; its TypeError/ValueError becomes a UsageError (exit 2)."""
    try:
        check(*args)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def _check_avatar(args: argparse.Namespace) -> None:
    if args.media_id is not None:
        _checked(_checks.media_id, args.media_id, "--media-id")
    if args.avatar is not None and not os.path.isfile(args.avatar):
        raise UsageError(f"--avatar: no such file: {args.avatar}")


def _check_add(args: argparse.Namespace) -> None:
    _checked(_checks.account_name, args.name, "--name")
    _check_avatar(args)


def _check_update(args: argparse.Namespace) -> None:
    _checked(_checks.open_kfid, args.open_kfid)
    if args.name is None and args.media_id is None and args.avatar is None:
        raise UsageError("give --name, --media-id or --avatar")
    if args.name is not None:
        _checked(_checks.account_name, args.name, "--name")
    _check_avatar(args)


def _check_delete(args: argparse.Namespace) -> None:
    _checked(_checks.open_kfid, args.open_kfid)


def _check_contact_url(args: argparse.Namespace) -> None:
    _checked(_checks.open_kfid, args.open_kfid)
    if args.scene is not None:
        _checked(_checks.scene, args.scene, "--scene")
    if args.scene_param is not None:
        if not args.scene:
            raise UsageError("--scene-param needs --scene (WeCom ignores it on a link without one)")
        _checked(_checks.scene_param, args.scene_param, "--scene-param")


async def _avatar_media_id(args: argparse.Namespace, kf: KfClient) -> str | None:
    """The avatar's media_id: given, or uploaded from ``--avatar``."""
    if args.avatar is not None:
        media = await kf.media.upload("image", args.avatar)
        return media.media_id
    media_id: str | None = args.media_id
    return media_id


async def _list(args: argparse.Namespace, kf: KfClient) -> int:
    accounts = await kf.accounts.list()
    rows = [
        {
            "open_kfid": account.open_kfid,
            "name": account.name,
            "manage_privilege": account.manage_privilege,
            "avatar": account.avatar,
        }
        for account in accounts
    ]
    emit(rows, args.format, _ACCOUNT_COLUMNS)
    return 0


async def _add(args: argparse.Namespace, kf: KfClient) -> int:
    media_id = await _avatar_media_id(args, kf)
    if media_id is None:  # argparse already requires one of the two
        raise UsageError("give --media-id or --avatar")
    open_kfid = await kf.accounts.add(name=args.name, media_id=media_id)
    emit([{"open_kfid": open_kfid, "name": args.name, "media_id": media_id}], args.format)
    return 0


async def _update(args: argparse.Namespace, kf: KfClient) -> int:
    media_id = await _avatar_media_id(args, kf)
    await kf.accounts.update(args.open_kfid, name=args.name, media_id=media_id)
    row = {"open_kfid": args.open_kfid, "updated": True, "name": args.name, "media_id": media_id}
    emit([row], args.format)
    return 0


async def _delete(args: argparse.Namespace, kf: KfClient) -> int:
    await kf.accounts.delete(args.open_kfid)
    emit([{"open_kfid": args.open_kfid, "deleted": True}], args.format)
    return 0


async def _contact_url(args: argparse.Namespace, kf: KfClient) -> int:
    url = await kf.accounts.contact_url(args.open_kfid, scene=args.scene)
    if args.scene_param is not None:
        url = kf.accounts.with_scene_param(url, args.scene_param)
    emit([{"open_kfid": args.open_kfid, "scene": args.scene, "url": url}], args.format)
    return 0
