"""``servicer/*`` endpoints: who serves an account (``kf.servicers``)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["ServicersAPI"]


class ServicersAPI(Resource):
    """The ``servicer/*`` endpoints: who serves an account (``kf.servicers``)."""
