"""``wecom-kf stats``: daily statistics (corp, servicer)."""

from __future__ import annotations

from ._common import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``stats`` to *commands*."""
