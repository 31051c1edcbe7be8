"""daily statistics of the corp and of servicers (``kf.statistics``)."""

from __future__ import annotations

from ._base import Resource

__all__ = ["StatisticsAPI"]


class StatisticsAPI(Resource):
    """The daily statistics of the corp and of servicers (``kf.statistics``)."""
