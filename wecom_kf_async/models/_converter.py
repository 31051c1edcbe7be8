"""The one cattrs converter every model goes through, strict about JSON types."""

from __future__ import annotations

import enum
import logging
from typing import Any, TypeVar

import cattrs

from .._constants import LOGGER_NAME
from .._errors import InvalidResponseError

__all__ = ["code_or_int", "converter", "structure"]

logger = logging.getLogger(LOGGER_NAME)

_T = TypeVar("_T")
_E = TypeVar("_E", bound=enum.IntEnum)

#: The converter every model goes through. Extra keys from the server are ignored.
converter = cattrs.Converter(forbid_extra_keys=False)


def _strict(kind: type[Any], name: str) -> Any:
    def hook(value: Any, _: Any) -> Any:
        if type(value) is kind or (kind is float and type(value) is int):
            return kind(value)
        raise TypeError(f"expected {name}, got {type(value).__name__}")

    return hook


# cattrs would coerce (str(5) == "5", int("7") == 7, bool("no") is True): WeCom's
# answers are JSON, and a field of the wrong JSON type is a malformed answer.
converter.register_structure_hook(str, _strict(str, "a string"))
converter.register_structure_hook(int, _strict(int, "an integer"))
converter.register_structure_hook(float, _strict(float, "a number"))
converter.register_structure_hook(bool, _strict(bool, "true or false"))


def code_or_int(kind: type[_E], value: Any) -> _E | int:
    """A documented code as its enum member; an undocumented one kept as a plain int."""
    if type(value) is not int:
        raise TypeError(f"expected an integer code, got {type(value).__name__}")
    try:
        return kind(value)
    except ValueError:
        return value


def structure(data: Any, cls: type[_T], *, path: str) -> _T:
    """Structure *data* (part of WeCom's answer to *path*) into *cls*, or raise.

    A shape that does not fit is an :class:`~wecom_kf_async.InvalidResponseError`
    naming the path and the model, never a bare cattrs or ``TypeError``.
    """
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        detail = "; ".join(_messages(exc))[:300]
        logger.warning("%s answered a %s of the wrong shape: %s", path, cls.__name__, detail)
        raise InvalidResponseError(
            f"{path} answered a {cls.__name__} of the wrong shape: {detail}",
            path=path,
            reason="bad shape",
        ) from None


def _messages(exc: BaseException) -> list[str]:
    """The leaf messages of a cattrs error tree (or the exception's own)."""
    if isinstance(exc, cattrs.BaseValidationError):
        out: list[str] = []
        for inner in exc.exceptions:
            out.extend(_messages(inner))
        return out or [str(exc)]
    return [f"{type(exc).__name__}: {exc}"]
