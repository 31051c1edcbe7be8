"""One answer of ``kf/sync_msg``: a page of typed messages and where to go on from."""

from __future__ import annotations

import attrs

from .messages import KfMessage

__all__ = ["SyncPage"]


@attrs.frozen(kw_only=True)
class SyncPage:
    """One page of ``kf/sync_msg``.

    ``has_more`` may be true with no message at all: keep reading until it is false
    (:meth:`MessagesAPI.stream <wecom_kf_async.MessagesAPI.stream>` does).
    """

    #: The messages and events of the page, typed (unknown types as ``Unknown*``).
    messages: list[KfMessage] = attrs.field(factory=list)
    #: Where the next call goes on from (``None`` if WeCom sent none).
    next_cursor: str | None = None
    #: Whether there is more to read.
    has_more: bool = False
