"""``account/*`` endpoints and contact links (``kf.accounts``)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["AccountsAPI"]


class AccountsAPI(Resource):
    """The ``account/*`` endpoints and contact links (``kf.accounts``)."""
