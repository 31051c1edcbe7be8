"""The simulator's KF accounts and their contact links (``account/*``, ``add_contact_way``)."""

from __future__ import annotations

import hashlib
import random
import re
import string
import zlib
from collections.abc import Mapping
from typing import Any, ClassVar, Final, TypeGuard

from ..._constants import MAX_ACCOUNTS_PER_CORP
from ._state import Corp, SimAccount, SimServicer
from ._types import ApiError, Call, Route
from .media import DEMO_MEDIA_ID, MediaMixin

__all__ = [
    "ACCOUNT_ADD",
    "ACCOUNT_DEL",
    "ACCOUNT_LIST",
    "ACCOUNT_UPDATE",
    "ADD_CONTACT_WAY",
    "DEMO_ACCOUNT_NAME",
    "DEMO_AVATAR_MEDIA_ID",
    "ERR_ACCOUNT_LIMIT",
    "AccountsMixin",
    "find_account",
]

ACCOUNT_ADD: Final = "kf/account/add"
ACCOUNT_DEL: Final = "kf/account/del"
ACCOUNT_UPDATE: Final = "kf/account/update"
ACCOUNT_LIST: Final = "kf/account/list"
ADD_CONTACT_WAY: Final = "kf/add_contact_way"

ERR_ACCOUNT_LIMIT: Final = 95030
"""``account/add`` when the corp has its :data:`MAX_ACCOUNTS_PER_CORP` (5,000) accounts
(page 96404). **Invented**: WeCom documents no errcode for it; the errcode table
marks the row so."""

#: Name of the account :meth:`AccountsMixin.seed_demo` creates.
DEMO_ACCOUNT_NAME: Final = "Demo support"
#: ``media_id`` of the image accounts seeded without an avatar get (created on demand).
DEMO_AVATAR_MEDIA_ID: Final = DEMO_MEDIA_ID

_NAME_CHARS: Final = 16
_LIST_LIMIT: Final = 100
_SCENE_BYTES: Final = 32
_SCENE = re.compile(r"[0-9a-zA-Z_-]*")
#: Longest well-formed ``open_kfid``, in bytes.
_OPEN_KFID_BYTES: Final = 64
_ID_CHARS: Final = string.ascii_letters + string.digits + "_"


def find_account(corp: Corp, raw: object) -> SimAccount:
    """The account *raw* names, or the errcode WeCom gives (95000 malformed, 95004 unknown).

    Every resource that takes an ``open_kfid`` checks it through here.
    """
    if not _well_formed(raw):
        raise ApiError(95000, "invalid open_kfid")
    account = corp.accounts.get(raw)
    if account is None:
        raise ApiError(95004, f"open_kfid not exist: {raw}")
    return account


def _well_formed(raw: object) -> TypeGuard[str]:
    """A non-empty string of at most 64 bytes, without whitespace."""
    return (
        isinstance(raw, str)
        and bool(raw)
        and len(raw.encode()) <= _OPEN_KFID_BYTES
        and raw.isprintable()
        and not any(c.isspace() for c in raw)
    )


def _avatar_url(media_id: str) -> str:
    return f"https://wework.sim.invalid/kfavatar/{zlib.crc32(media_id.encode()):08x}/0"


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()


class AccountsMixin(MediaMixin):
    """Serves KF accounts and their contact links (``account/*``, ``add_contact_way``).

    Accounts live in ``sim.corp.accounts``. ``account/add`` accepts an avatar
    ``media_id`` only if it is in ``sim.corp.media`` (what ``media/upload`` made,
    or :meth:`add_media`); names are 1 to 16 characters; ``account/list``
    pages with ``offset``/``limit`` (1 to 100). A malformed ``open_kfid`` answers
    95000, an unknown one 95004. ``manage_privilege`` is reported, not enforced.
    ``account/add`` beyond the corp's 5,000 accounts answers :data:`ERR_ACCOUNT_LIMIT`.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {
        ACCOUNT_ADD: Route("POST", "_account_add"),
        ACCOUNT_DEL: Route("POST", "_account_del"),
        ACCOUNT_UPDATE: Route("POST", "_account_update"),
        ACCOUNT_LIST: Route("POST", "_account_list"),
        ADD_CONTACT_WAY: Route("POST", "_add_contact_way"),
    }

    def _setup(self) -> None:
        super()._setup()
        # Ids look random but follow from the simulator's seed: the fresh state of
        # the seeded fault RNG is read (not consumed) to seed this one.
        seed_material = self._fault_rng.getstate()[1][:8]
        self._account_rng = random.Random(f"accounts:{seed_material}")  # noqa: S311

    # ------------------------------------------------------------------ seeding

    def add_account(
        self,
        name: str,
        *,
        open_kfid: str | None = None,
        manage_privilege: bool = True,
        media_id: str | None = None,
    ) -> str:
        """Create a KF account directly (no request, not counted); return its ``open_kfid``.

        Args:
            name: Its name (not checked against the 16-character limit, so tests
                can seed what WeCom itself may hold).
            open_kfid: Its id (default: a new random-looking one, ``wk`` + 30
                characters, reproducible from the simulator's seed).
            manage_privilege: What ``account/list`` reports for it.
            media_id: Its avatar (default: :data:`DEMO_AVATAR_MEDIA_ID`, put into
                ``sim.corp.media`` if missing).

        Raises:
            ValueError: ``open_kfid`` is malformed or taken.
        """
        if open_kfid is None:
            open_kfid = self._new_open_kfid()
        elif not _well_formed(open_kfid):
            raise ValueError(f"open_kfid must be 1 to 64 bytes without spaces, got {open_kfid!r}")
        elif open_kfid in self.corp.accounts:
            raise ValueError(f"an account {open_kfid!r} exists already")
        avatar = self.add_media(media_id=DEMO_AVATAR_MEDIA_ID) if media_id is None else media_id
        self.corp.accounts[open_kfid] = SimAccount(
            open_kfid=open_kfid,
            name=name,
            media_id=avatar,
            avatar=_avatar_url(avatar),
            manage_privilege=manage_privilege,
        )
        return open_kfid

    def seed_demo(self) -> None:
        """Add the account :data:`DEMO_ACCOUNT_NAME`: zhangsan serves it, lisi has stopped."""
        super().seed_demo()
        account = self.corp.accounts[self.add_account(DEMO_ACCOUNT_NAME)]
        account.servicers["zhangsan"] = SimServicer(userid="zhangsan")
        account.servicers["lisi"] = SimServicer(userid="lisi", status=1, stop_type=0)

    def _new_open_kfid(self) -> str:
        while True:
            suffix = "".join(self._account_rng.choice(_ID_CHARS) for _ in range(30))
            open_kfid = f"wk{suffix}"
            if open_kfid not in self.corp.accounts:
                return open_kfid

    # ---------------------------------------------------------------- handlers

    def _checked_name(self, raw: object) -> str:
        if not isinstance(raw, str) or not raw.strip():
            raise ApiError(40058, "name must be a non-empty string")
        if len(raw) > _NAME_CHARS:
            raise ApiError(40058, f"name is {len(raw)} characters long; the limit is {_NAME_CHARS}")
        return raw

    def _checked_media(self, raw: object) -> str:
        if not isinstance(raw, str) or raw not in self.corp.media:
            raise ApiError(40007, "invalid media_id")
        return raw

    def _account_add(self, call: Call) -> dict[str, Any]:
        request = call.json()
        name = self._checked_name(request.get("name"))
        media_id = self._checked_media(request.get("media_id"))
        if len(self.corp.accounts) >= MAX_ACCOUNTS_PER_CORP:
            raise ApiError(
                ERR_ACCOUNT_LIMIT, f"the corp has {MAX_ACCOUNTS_PER_CORP} KF accounts already"
            )
        return {"open_kfid": self.add_account(name, media_id=media_id)}

    def _account_del(self, call: Call) -> dict[str, Any]:
        account = find_account(self.corp, call.json().get("open_kfid"))
        del self.corp.accounts[account.open_kfid]
        for key in [key for key in self.corp.sessions if key[0] == account.open_kfid]:
            del self.corp.sessions[key]
        return {}

    def _account_update(self, call: Call) -> dict[str, Any]:
        request = call.json()
        account = find_account(self.corp, request.get("open_kfid"))
        name = request.get("name")
        media_id = request.get("media_id")
        if name is None and media_id is None:
            raise ApiError(40058, "name or media_id must be given")
        new_name = account.name if name is None else self._checked_name(name)
        new_media = account.media_id if media_id is None else self._checked_media(media_id)
        account.name = new_name
        account.media_id = new_media
        account.avatar = _avatar_url(new_media)
        return {}

    def _account_list(self, call: Call) -> dict[str, Any]:
        request = call.json()
        offset = request.get("offset", 0)
        limit = request.get("limit", _LIST_LIMIT)
        if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
            raise ApiError(40058, "offset must be an integer >= 0")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= _LIST_LIMIT:
            raise ApiError(40058, f"limit must be an integer from 1 to {_LIST_LIMIT}")
        page = list(self.corp.accounts.values())[offset : offset + limit]
        return {
            "account_list": [
                {
                    "open_kfid": account.open_kfid,
                    "name": account.name,
                    "avatar": account.avatar,
                    "manage_privilege": account.manage_privilege,
                }
                for account in page
            ]
        }

    def _add_contact_way(self, call: Call) -> dict[str, Any]:
        request = call.json()
        account = find_account(self.corp, request.get("open_kfid"))
        scene = request.get("scene", "")
        if (
            not isinstance(scene, str)
            or len(scene.encode()) > _SCENE_BYTES
            or not _SCENE.fullmatch(scene)
        ):
            raise ApiError(40058, f"scene must be at most {_SCENE_BYTES} bytes of [0-9a-zA-Z_-]")
        url = f"https://work.weixin.qq.com/kf/kfc{_digest(account.open_kfid)[:16]}"
        if scene:
            url += f"?enc_scene=ENC{_digest(account.open_kfid, scene)[:20].upper()}"
        account.contact_urls.append(url)
        return {"url": url}
