"""The simulator's daily statistics and the corp qualification.

Endpoints: ``get_corp_statistic``, ``get_servicer_statistic``, ``get_corp_qualification``.
"""

from __future__ import annotations

from ._base import SimulatorBase

__all__ = ["StatisticsMixin"]


class StatisticsMixin(SimulatorBase):
    """Serves daily statistics and the corp qualification."""
