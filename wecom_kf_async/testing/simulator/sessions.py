"""The simulator's sessions and their state machine (``service_state/*``)."""

from __future__ import annotations

from ._base import SimulatorBase

__all__ = ["SessionsMixin"]


class SessionsMixin(SimulatorBase):
    """Serves sessions and their state machine (``service_state/*``)."""
