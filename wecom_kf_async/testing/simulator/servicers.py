"""The simulator's who serves an account (``servicer/*``)."""

from __future__ import annotations

from ._base import SimulatorBase

__all__ = ["ServicersMixin"]


class ServicersMixin(SimulatorBase):
    """Serves who serves an account (``servicer/*``)."""
