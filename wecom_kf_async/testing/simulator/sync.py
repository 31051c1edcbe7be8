"""``kf/sync_msg``: the message log served with real cursors, tokens and a strict limit.

A cursor names a position in the corp's log for one scope (an ``open_kfid``, or
every account): 17 bytes, a MAC of (scope, position) followed by the position
masked with a key drawn from that MAC, base64url-encoded (23 characters). It is
opaque, the same for the same position on every call, bound to its scope, and
expires 3 days after it was last handed out.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import random
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ._msgcodes import (
    ERR_CURSOR_INVALID,
    ERR_SYNC_TOKEN_INVALID,
)
from ._types import ApiError, Call, Route
from .accounts import find_account
from .messages import MessagesMixin

__all__ = [
    "CURSOR_TTL",
    "HISTORY_SECONDS",
    "SYNC_LIMIT_MAX",
    "SYNC_MSG",
    "SyncMixin",
]

SYNC_MSG: Final = "kf/sync_msg"
"""Endpoint name of the message read."""

SYNC_LIMIT_MAX: Final = 1000
"""Default and largest ``limit`` of one ``sync_msg`` call."""

HISTORY_SECONDS: Final = 3 * 86400.0
"""How far back ``sync_msg`` serves messages (3 days)."""

CURSOR_TTL: Final = 3 * 86400.0
"""Seconds after it was last handed out that a cursor expires (3 days)."""

_CURSOR_BYTES: Final = 64
_TOKEN_BYTES: Final = 128
_MAC: Final = 9
_RAW: Final = _MAC + 8


class SyncMixin(MessagesMixin):
    """Serves ``kf/sync_msg`` from the corp's message log (:class:`MessagesMixin`).

    ``open_kfid`` is optional (95000/95004 for a bad or unknown one); ``limit`` is
    1 to 1000 (40058 beyond); ``voice_format`` 0 or 1. A ``token`` from
    :meth:`callback_token` is spent by the call (95007 when unknown, spent,
    expired or another account's). Calls without a token are limited to
    :attr:`sync_msg_without_token_per_minute` per clock minute (45009 beyond). A
    cursor that is not ours, another scope's or expired answers
    :data:`ERR_CURSOR_INVALID`. Messages older than 3 days are skipped; without a
    cursor the answer starts at the oldest of the last 3 days. Pages may come
    empty with ``has_more=1`` (:attr:`empty_pages`, :meth:`script_pages`), and
    :attr:`stall_pages` plays a server that never makes progress.
    """

    ROUTES: ClassVar[Mapping[str, Route]] = {SYNC_MSG: Route("POST", "_sync_msg")}

    def _setup(self) -> None:
        super()._setup()
        material = self._fault_rng.getstate()[1][:8]
        self._page_rng = random.Random(f"pages:{material}")  # noqa: S311 - not security
        self.stall_pages = False
        """Serve every ``sync_msg`` page empty, with ``has_more=1`` and the cursor it was
        given, whatever is waiting: a misbehaving server that never makes progress."""

    # ------------------------------------------------------------------ cursors

    def cursor_for(self, position: int, open_kfid: str | None = None) -> str:
        """The cursor of *position* (a seq of the log) in a scope, as ``sync_msg`` gives it.

        Not counted as handed out (its 3 days do not start).
        """
        scope = _scope(open_kfid)
        message = scope + position.to_bytes(8, "big")
        mac = hashlib.blake2b(message, key=self._cursor_key, digest_size=_MAC).digest()
        mask = int.from_bytes(hashlib.blake2b(mac, key=self._cursor_key, digest_size=8).digest())
        raw = mac + (position ^ mask).to_bytes(8, "big")
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def _hand_out(self, position: int, open_kfid: str | None, now: float) -> str:
        cursor = self.cursor_for(position, open_kfid)
        self._cursor_issued[cursor] = now
        return cursor

    def _position(self, cursor: str, open_kfid: str | None, now: float) -> int:
        """The position *cursor* names, or :data:`ERR_CURSOR_INVALID`."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except (binascii.Error, ValueError):
            raise ApiError(ERR_CURSOR_INVALID, "invalid cursor") from None
        if len(raw) != _RAW:
            raise ApiError(ERR_CURSOR_INVALID, "invalid cursor")
        mac, masked = raw[:_MAC], raw[_MAC:]
        mask = int.from_bytes(hashlib.blake2b(mac, key=self._cursor_key, digest_size=8).digest())
        position = int.from_bytes(masked) ^ mask
        if not hmac.compare_digest(self.cursor_for(position, open_kfid), cursor.rstrip("=")):
            raise ApiError(ERR_CURSOR_INVALID, "invalid cursor (not issued, or another scope's)")
        issued = self._cursor_issued.get(cursor)
        if issued is not None and now - issued > CURSOR_TTL:
            raise ApiError(ERR_CURSOR_INVALID, "cursor expired (over 3 days old)")
        return position

    # ------------------------------------------------------------------- limits

    def _spend_token(self, token: str, open_kfid: str | None, now: float) -> None:
        entry = self._callback_tokens.pop(token, None)
        if entry is None:
            raise ApiError(ERR_SYNC_TOKEN_INVALID, "invalid msg token (unknown or used)")
        kfid, expires_at = entry
        if now >= expires_at:
            raise ApiError(ERR_SYNC_TOKEN_INVALID, "invalid msg token (expired)")
        if open_kfid is not None and kfid != open_kfid:
            raise ApiError(ERR_SYNC_TOKEN_INVALID, "invalid msg token (another open_kfid's)")

    def _count_without_token(self, now: float) -> None:
        window = int(now // 60)
        current, count = self._no_token_window
        count = count + 1 if current == window else 1
        self._no_token_window = (window, count)
        limit = self.sync_msg_without_token_per_minute
        if limit is not None and count > limit:
            raise ApiError(45009, f"api freq out of limit: sync_msg without token, {limit}/min")

    # ------------------------------------------------------------------ handler

    def _sync_msg(self, call: Call) -> dict[str, Any]:
        request = call.json()
        now = call.now
        cursor = _optional_str(request, "cursor", _CURSOR_BYTES)
        token = _optional_str(request, "token", _TOKEN_BYTES)
        limit = request.get("limit", SYNC_LIMIT_MAX)
        if (
            isinstance(limit, bool)
            or not isinstance(limit, int)
            or not 1 <= limit <= SYNC_LIMIT_MAX
        ):
            raise ApiError(40058, f"limit must be an integer from 1 to {SYNC_LIMIT_MAX}")
        if request.get("voice_format", 0) not in (0, 1) or isinstance(
            request.get("voice_format"), bool
        ):
            raise ApiError(40058, "voice_format must be 0 (AMR) or 1 (SILK)")
        raw_kfid = request.get("open_kfid")
        open_kfid = None if raw_kfid in (None, "") else find_account(self.corp, raw_kfid).open_kfid
        if token:
            self._spend_token(token, open_kfid, now)
        else:
            self._count_without_token(now)
        position = self._position(cursor, open_kfid, now) if cursor else 0
        log = self.corp.messages
        end = log.end(open_kfid)
        script = self._page_script
        cap = script.popleft() if script else None
        empty = (
            self.stall_pages
            or cap == 0
            or (
                cap is None
                and self.empty_pages > 0
                and position < end
                and self._page_rng.random() < self.empty_pages
            )
        )
        if empty:
            return {
                "next_cursor": self._hand_out(position, open_kfid, now),
                "has_more": 1,
                "msg_list": [],
            }
        size = limit if cap is None else min(limit, cap)
        items, after = log.page(open_kfid, position, size, now - HISTORY_SECONDS)
        return {
            "next_cursor": self._hand_out(after, open_kfid, now),
            "has_more": int(after < end),
            "msg_list": items,
        }


def _scope(open_kfid: str | None) -> bytes:
    return b"*" if open_kfid is None else b"kfid:" + open_kfid.encode()


def _optional_str(request: Mapping[str, Any], key: str, max_bytes: int) -> str | None:
    value = request.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value.encode()) > max_bytes:
        raise ApiError(40058, f"{key} must be a string of at most {max_bytes} bytes")
    return value
