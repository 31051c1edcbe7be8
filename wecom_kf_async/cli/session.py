"""``wecom-kf session``: a customer's session (get, transfer)."""

from __future__ import annotations

from ._common import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``session`` to *commands*."""
