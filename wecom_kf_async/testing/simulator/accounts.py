"""The simulator's KF accounts and their contact links (``account/*``, ``add_contact_way``)."""

from __future__ import annotations

from ._base import SimulatorBase

__all__ = ["AccountsMixin"]


class AccountsMixin(SimulatorBase):
    """Serves KF accounts and their contact links (``account/*``, ``add_contact_way``)."""
