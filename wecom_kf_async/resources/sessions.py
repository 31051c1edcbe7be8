"""``service_state/*`` endpoints: where a session is, and moving it (``kf.sessions``)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["SessionsAPI"]


class SessionsAPI(Resource):
    """The ``service_state/*`` endpoints: where a session is, and moving it (``kf.sessions``)."""
