"""The simulator's upgrade service.

Endpoints: ``customer/get_upgrade_service_config``, ``customer/upgrade_service`` and
``customer/cancel_upgrade_service``.
"""

from __future__ import annotations

from ._base import SimulatorBase

__all__ = ["UpgradeMixin"]


class UpgradeMixin(SimulatorBase):
    """Serves the upgrade service: members and group chats recommended to customers."""
