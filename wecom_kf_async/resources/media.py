"""``media/upload``: temporary media for avatars and messages (``kf.media``)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["MediaAPI"]


class MediaAPI(Resource):
    """The ``media/upload``: temporary media for avatars and messages (``kf.media``)."""
