"""What every resource group shares: the caller it sends through, and structuring."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .._endpoints import Endpoint
from .._pipeline import Caller, Upload
from ..models import structure

__all__ = ["Resource"]

_T = TypeVar("_T")


class Resource:
    """Base of the resource groups hanging off :class:`~wecom_kf_async.KfClient`.

    A group holds only the small protocol it needs (``call(endpoint, body)``), never
    the client: an endpoint method checks its arguments, builds the body with
    WeCom's field names, calls, and structures the answer into a model.
    """

    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"

    async def _call(
        self,
        endpoint: Endpoint,
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
        upload: Upload | None = None,
        check: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        return await self._caller.call(endpoint, body, params=params, upload=upload, check=check)

    async def _get(
        self,
        endpoint: Endpoint,
        cls: type[_T],
        body: Mapping[str, Any] | None = None,
        *,
        params: Mapping[str, str] | None = None,
    ) -> _T:
        """Call *endpoint* and structure its whole answer into *cls*."""
        data = await self._call(endpoint, body, params=params)
        return structure(data, cls, path=endpoint.path)
