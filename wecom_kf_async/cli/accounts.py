"""``wecom-kf accounts``: KF accounts (list, add, delete, contact-url)."""

from __future__ import annotations

from ._common import Commands

__all__ = ["register"]


def register(commands: Commands) -> None:
    """Add ``accounts`` to *commands*."""
