"""``wecom-kf media``: temporary media (upload)."""

from __future__ import annotations

from ._common import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``media`` to *commands*."""
