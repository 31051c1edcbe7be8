"""``gettoken`` and the tokens it hands out."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar, Final

from ._base import SimulatorBase
from ._types import ApiError, Call, Route

__all__ = ["GETTOKEN", "TokensMixin"]

GETTOKEN: Final = "gettoken"
"""Endpoint name (path after ``/cgi-bin/``) of the access-token endpoint."""


class TokensMixin(SimulatorBase):
    """Issues, rotates and expires access tokens."""

    ROUTES: ClassVar[Mapping[str, Route]] = {
        GETTOKEN: Route("GET", "_gettoken", needs_token=False),
    }

    @property
    def current_token(self) -> str | None:
        """The token ``gettoken`` would hand out now, or None if a new one is due."""
        token = self._current_token
        if token is None or self.clock() >= self._tokens.get(token, -math.inf):
            return None
        return token

    def issue_token(self) -> str:
        """Return a valid token as ``gettoken`` would, without a request (not counted)."""
        return self._token_for(self.clock())[0]

    def rotate_token(self) -> None:
        """Invalidate every issued token now: they answer 40014 from here on."""
        self._tokens.clear()
        self._current_token = None

    def expire_tokens(self) -> None:
        """Mark every issued token as expired: they answer 42001 from here on."""
        expired = -math.inf
        for token in self._tokens:
            self._tokens[token] = expired
        self._current_token = None

    def _token_for(self, now: float) -> tuple[str, int]:
        token = self._current_token
        if token is not None:
            expiry = self._tokens.get(token, -math.inf)
            if now < expiry:
                return token, math.ceil(expiry - now)
        token = secrets.token_urlsafe(48)
        self._tokens[token] = now + self.token_ttl
        self.issued_tokens.add(token)
        self._current_token = token
        return token, math.ceil(self.token_ttl)

    def _check_token(self, token: str | None, now: float) -> None:
        if not token:
            raise ApiError(41001)
        expiry = self._tokens.get(token)
        if expiry is None:
            raise ApiError(40014)
        if now >= expiry:
            raise ApiError(42001)

    def _gettoken(self, call: Call) -> dict[str, Any]:
        corp_id = call.query.get("corpid")
        if not corp_id:
            raise ApiError(41002)
        secret = call.query.get("corpsecret")
        if not secret:
            raise ApiError(41004)
        if corp_id != self.corp_id:
            raise ApiError(40013)
        if not secrets.compare_digest(secret.encode(), self._secret.encode()):
            raise ApiError(40001)
        token, expires_in = self._token_for(call.now)
        return {"access_token": token, "expires_in": expires_in}
