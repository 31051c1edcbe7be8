"""``wecom-kf servicers``: who serves an account (list, add, delete)."""

from __future__ import annotations

from ._common import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``servicers`` to *commands*."""
