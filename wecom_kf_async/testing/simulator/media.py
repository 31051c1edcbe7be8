"""The simulator's temporary media (``media/upload``)."""

from __future__ import annotations

from ._base import SimulatorBase

__all__ = ["MediaMixin"]


class MediaMixin(SimulatorBase):
    """Serves temporary media (``media/upload``)."""
