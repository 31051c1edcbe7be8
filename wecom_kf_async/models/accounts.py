"""KF accounts (``account/list``) and the answers of ``account/add`` and ``add_contact_way``."""

from __future__ import annotations

import attrs

__all__ = ["Account", "AddedAccount", "ContactWay"]


@attrs.frozen(kw_only=True)
class Account:
    """One KF account (客服账号), as ``kf/account/list`` returns it.

    ``manage_privilege`` says whether the calling app may manage the account
    (change it, its servicers and its sessions); it is newer than the rest of the
    answer and absent from older documentation, so it may be missing (``None``).
    """

    #: The account's id (``wk...``), at most 64 bytes.
    open_kfid: str
    #: Display name, at most 16 characters.
    name: str = ""
    #: URL of the avatar image.
    avatar: str | None = None
    #: Whether this app may manage the account (``None`` when WeCom leaves it out).
    manage_privilege: bool | None = None


@attrs.frozen(kw_only=True)
class AddedAccount:
    """What ``kf/account/add`` answers: the new account's id."""

    open_kfid: str


@attrs.frozen(kw_only=True)
class ContactWay:
    """What ``kf/add_contact_way`` answers: the account's contact link."""

    url: str
