"""``account/*`` endpoints and contact links (``kf.accounts``)."""

from __future__ import annotations

import builtins
from typing import Any, Final
from urllib.parse import quote, urlsplit

from .. import _checks
from .._constants import MAX_ACCOUNTS_PER_CORP
from .._endpoints import ENDPOINTS
from ..models import Account, AddedAccount, ContactWay, structure
from ._base import Resource

__all__ = ["ACCOUNT_LIST_PAGE", "MAX_ACCOUNTS_PER_CORP", "AccountsAPI"]

ACCOUNT_ADD = ENDPOINTS["kf/account/add"]
ACCOUNT_DEL = ENDPOINTS["kf/account/del"]
ACCOUNT_UPDATE = ENDPOINTS["kf/account/update"]
ACCOUNT_LIST = ENDPOINTS["kf/account/list"]
ADD_CONTACT_WAY = ENDPOINTS["kf/add_contact_way"]

#: Accounts per ``account/list`` page (WeCom's maximum, and its default).
ACCOUNT_LIST_PAGE: Final = 100


class AccountsAPI(Resource):
    """The ``account/*`` endpoints and contact links (``kf.accounts``).

    ``add`` is not retried after a failure that may have reached WeCom (a retry
    could create a second account): it raises
    :class:`~wecom_kf_async.OutcomeUnknownError`. ``update``, ``delete`` and
    ``contact_url`` are retried; a retried ``delete`` answered 95004 ("no such
    account") counts as done. A corp has at most :data:`MAX_ACCOUNTS_PER_CORP`
    (5,000) accounts (page 96404); WeCom documents no errcode for one more.
    """

    async def add(self, name: str, media_id: str) -> str:
        """Create a KF account.

        Args:
            name: Display name, 1 to 16 characters.
            media_id: The avatar: the ``media_id`` of an image uploaded with
                ``kf.media.upload("image", ...)`` (temporary media live 3 days).

        Returns:
            The new account's ``open_kfid``.

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: A name over 16 characters, an empty or malformed media id
                (nothing is sent).
            OutcomeUnknownError: The call failed in a way that may have created
                the account (a timeout, a cut-off answer); it was not retried. List
                the accounts and look for the name before adding it again.
            WeComError: WeCom refused (40058 bad name, 40007 unknown media id, ...).
        """
        body = {"name": _checks.account_name(name), "media_id": _checks.media_id(media_id)}
        added = await self._get(ACCOUNT_ADD, AddedAccount, body)
        return added.open_kfid

    async def update(
        self, open_kfid: str, *, name: str | None = None, media_id: str | None = None
    ) -> None:
        """Rename an account and/or give it a new avatar.

        Args:
            open_kfid: The account.
            name: The new display name, 1 to 16 characters (``None``: unchanged).
            media_id: The new avatar's image ``media_id`` (``None``: unchanged).

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: Neither ``name`` nor ``media_id`` given, or a bad value
                (nothing is sent).
            KfStateError: 95000 malformed or 95004 unknown ``open_kfid``.
            WeComError: Any other refusal.
        """
        body: dict[str, Any] = {"open_kfid": _checks.open_kfid(open_kfid)}
        if name is not None:
            body["name"] = _checks.account_name(name)
        if media_id is not None:
            body["media_id"] = _checks.media_id(media_id)
        if len(body) == 1:
            raise ValueError("update needs name or media_id (or both); neither was given")
        await self._call(ACCOUNT_UPDATE, body)

    async def delete(self, open_kfid: str) -> None:
        """Delete an account.

        Retried after an ambiguous failure; when the retry is answered 95004 (no
        such account) the first try did it, and this returns normally.

        Args:
            open_kfid: The account.

        Raises:
            TypeError: ``open_kfid`` is not a str (nothing is sent).
            ValueError: ``open_kfid`` is empty or too long (nothing is sent).
            KfStateError: 95000 malformed or 95004 unknown ``open_kfid`` (on a
                first try).
            WeComError: Any other refusal.
        """
        await self._call(ACCOUNT_DEL, {"open_kfid": _checks.open_kfid(open_kfid)})

    async def list(self) -> builtins.list[Account]:
        """Every KF account of the corp, all pages (100 per call).

        Returns:
            The accounts, in WeCom's order.

        Raises:
            InvalidResponseError: A page of the wrong shape.
            WeComError: WeCom refused.
        """
        accounts: builtins.list[Account] = []
        offset = 0
        while True:
            body = {"offset": offset, "limit": ACCOUNT_LIST_PAGE}
            data = await self._call(ACCOUNT_LIST, body)
            page = structure(
                data.get("account_list", []), builtins.list[Account], path=ACCOUNT_LIST.path
            )
            accounts.extend(page)
            # WeCom: fewer than `limit` accounts means there are no more.
            if len(page) < ACCOUNT_LIST_PAGE:
                return accounts
            offset += len(page)

    async def contact_url(self, open_kfid: str, scene: str | None = None) -> str:
        """The account's contact link (``add_contact_way``), to embed or turn into a QR code.

        Each call hands out a link; the same scene may be asked for again.

        Args:
            open_kfid: The account.
            scene: A value of your own (at most 32 bytes of ``[0-9a-zA-Z_-]``) that
                the ``enter_session`` event and ``customer/batchget`` report back
                (``None`` or ``""``: none). Only a link with a scene accepts a
                :meth:`with_scene_param`.

        Returns:
            The link, e.g. ``https://work.weixin.qq.com/kf/kfc...``.

        Raises:
            TypeError: An argument of the wrong type (nothing is sent).
            ValueError: A bad ``open_kfid`` or ``scene`` (nothing is sent).
            KfStateError: 95000 malformed or 95004 unknown ``open_kfid``.
        """
        body = {"open_kfid": _checks.open_kfid(open_kfid)}
        if scene is not None and _checks.scene(scene):
            body["scene"] = scene
        way = await self._get(ADD_CONTACT_WAY, ContactWay, body)
        return way.url

    def with_scene_param(self, url: str, scene_param: str) -> str:
        """Append a url-encoded ``scene_param`` to a contact link (no request).

        WeCom hands ``scene_param`` back, as given, in the ``enter_session`` event
        of a customer who came through the link. It limits the value to 128 bytes
        before encoding.

        Args:
            url: A link from :meth:`contact_url` (made with a ``scene``).
            scene_param: Any text up to 128 bytes (UTF-8), e.g. ``"campaign=42&src=qr"``.

        Returns:
            The link with ``scene_param=...`` appended.

        Raises:
            TypeError: An argument that is not a str.
            ValueError: ``url`` is not an http(s) link or already has a
                ``scene_param``; ``scene_param`` is empty or over 128 bytes.
        """
        link = _checks.text("url", url)
        value = _checks.scene_param(scene_param)
        parts = urlsplit(link)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"url must be an http(s) contact link, got {link[:80]!r}")
        if parts.fragment:
            raise ValueError("url must not have a #fragment")
        if any(pair.split("=", 1)[0] == "scene_param" for pair in parts.query.split("&")):
            raise ValueError("url already has a scene_param")
        separator = "&" if parts.query else ("" if link.endswith("?") else "?")
        return f"{link}{separator}scene_param={quote(value, safe='')}"
