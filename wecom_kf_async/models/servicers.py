"""Servicers (接待人员) of a KF account, and the per-item results of adding or removing them."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, overload

import attrs

from .._errors import ServicerError
from ._converter import code_or_int, converter

__all__ = [
    "Servicer",
    "ServicerResult",
    "ServicerResults",
    "ServicerStatus",
    "StopType",
]


class ServicerStatus(enum.IntEnum):
    """Whether a servicer takes new sessions (``servicer_list[].status``)."""

    #: Receiving sessions (接待中).
    RECEIVING = 0
    #: Stopped receiving (停止接待); :class:`StopType` says how.
    STOPPED = 1


class StopType(enum.IntEnum):
    """How a stopped servicer stopped (``servicer_list[].stop_type``)."""

    #: Stopped receiving (停止接待).
    STOPPED = 0
    #: Suspended for a while (暂时挂起).
    SUSPENDED = 1


@attrs.frozen(kw_only=True)
class Servicer:
    """One entry of ``kf/servicer/list``: a member, or a whole department.

    A member has ``userid`` (an ``open_userid`` for third-party apps) and, when the
    app may manage the account, ``status`` and ``stop_type``; a department added as
    a whole has only ``department_id``. Undocumented codes stay plain ints.
    """

    #: The member's userid (``None`` for a department).
    userid: str | None = None
    #: The department's id (``None`` for a member).
    department_id: int | None = None
    #: Receiving or stopped; ``None`` when WeCom leaves it out (no manage privilege).
    status: ServicerStatus | int | None = None
    #: When stopped: stopped or suspended; ``None`` when WeCom leaves it out.
    stop_type: StopType | int | None = None

    @property
    def is_department(self) -> bool:
        """Whether this entry is a department rather than a member."""
        return self.userid is None and self.department_id is not None


@attrs.frozen(kw_only=True)
class ServicerResult:
    """What ``servicer/add`` or ``servicer/del`` did with one member or department.

    ``errcode`` 0 is success; WeCom says ``"ignored"`` in ``errmsg`` (still 0) when
    there was nothing to do (already a servicer, or not one). A userid that is not in
    the corp usually gets 60111, an unknown department 60123.
    """

    #: The member's userid (``None`` for a department).
    userid: str | None = None
    #: The department's id (``None`` for a member).
    department_id: int | None = None
    #: 0 for success, else WeCom's errcode for this item.
    errcode: int = 0
    #: WeCom's message for this item (``"success"``, ``"ignored"``, ...).
    errmsg: str = ""

    @property
    def ok(self) -> bool:
        """Whether this item succeeded (``errcode`` 0, ``"ignored"`` included)."""
        return self.errcode == 0

    def describe(self) -> str:
        """The item in words: ``userid 'zhangsan'`` or ``department_id 2``."""
        if self.userid is not None:
            return f"userid {self.userid!r}"
        return f"department_id {self.department_id}"


@attrs.frozen(eq=False, init=False)
class ServicerResults(Sequence[ServicerResult]):
    """One :class:`ServicerResult` per user and per department, in input order.

    Userids come first, in the order given, then departments. A partial failure
    does not raise: look at :attr:`failed`, or call :meth:`raise_for_failures`.
    """

    _items: tuple[ServicerResult, ...]
    #: The endpoint that answered (``kf/servicer/add`` or ``kf/servicer/del``).
    path: str | None = attrs.field(default=None, kw_only=True)

    def __init__(self, items: Iterable[ServicerResult] = (), *, path: str | None = None) -> None:
        self.__attrs_init__(tuple(items), path=path)

    @overload
    def __getitem__(self, index: int) -> ServicerResult: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[ServicerResult]: ...

    def __getitem__(self, index: int | slice) -> ServicerResult | Sequence[ServicerResult]:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[ServicerResult]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ServicerResults):
            return self._items == other._items
        if isinstance(other, Sequence) and not isinstance(other, str | bytes):
            return list(self._items) == list(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"ServicerResults({list(self._items)!r}, path={self.path!r})"

    @property
    def ok(self) -> bool:
        """Whether every item succeeded."""
        return all(result.ok for result in self._items)

    @property
    def failed(self) -> list[ServicerResult]:
        """The items that failed (non-zero ``errcode``), in input order."""
        return [result for result in self._items if not result.ok]

    @property
    def succeeded(self) -> list[ServicerResult]:
        """The items that succeeded (``errcode`` 0), in input order."""
        return [result for result in self._items if result.ok]

    def raise_for_failures(self) -> ServicerResults:
        """Raise :class:`~wecom_kf_async.ServicerError` if any item failed; else return ``self``.

        Returns:
            ``self``, so that ``results = (await kf.servicers.add(...)).raise_for_failures()``
            reads in one line.

        Raises:
            ServicerError: listing the items that failed.
        """
        failed = self.failed
        if failed:
            raise ServicerError(failed, path=self.path)
        return self


def _code_hook(kind: type[enum.IntEnum]) -> Any:
    def hook(value: Any, _: Any) -> Any:
        return None if value is None else code_or_int(kind, value)

    return hook


converter.register_structure_hook(ServicerStatus | int | None, _code_hook(ServicerStatus))
converter.register_structure_hook(StopType | int | None, _code_hook(StopType))
