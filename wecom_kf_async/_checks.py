"""Argument checks shared by every resource and builder: raise before any request.

A wrong type raises ``TypeError`` and a bad value ``ValueError``, each naming the
argument. Limits WeCom documents are kept as named constants here, in bytes where
WeCom counts bytes (UTF-8) and in characters where it counts characters.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable
from typing import Final, TypeVar

__all__ = [
    "MAX_CHAT_ID_BYTES",
    "MAX_CURSOR_BYTES",
    "MAX_EVENT_CODE_BYTES",
    "MAX_EXTERNAL_USERID_BYTES",
    "MAX_IDS_PER_CALL",
    "MAX_MEDIA_ID_BYTES",
    "MAX_MSGID_BYTES",
    "MAX_NAME_CHARS",
    "MAX_OPEN_KFID_BYTES",
    "MAX_SCENE_BYTES",
    "MAX_SCENE_PARAM_BYTES",
    "MAX_SYNC_TOKEN_BYTES",
    "MAX_USERID_BYTES",
    "MAX_WORDING_BYTES",
    "account_name",
    "bounded_int",
    "chat_id",
    "choice",
    "cursor",
    "department_id",
    "external_userid",
    "id_list",
    "media_id",
    "msgid",
    "open_kfid",
    "scene",
    "scene_param",
    "sync_token",
    "text",
    "userid",
    "wording",
]

_E = TypeVar("_E", bound=enum.Enum)
_T = TypeVar("_T")

#: ``open_kfid``: at most 64 bytes.
MAX_OPEN_KFID_BYTES: Final = 64
#: ``external_userid`` has no documented limit. The ids WeCom hands out are 32 ASCII
#: characters (``wm`` + 30); 256 bytes refuses only what cannot be one.
MAX_EXTERNAL_USERID_BYTES: Final = 256
#: A member's ``userid`` (or a third-party app's ``open_userid``): 1 to 64 bytes.
MAX_USERID_BYTES: Final = 64
#: A customer group chat's ``chat_id`` has no documented limit. The ids WeCom hands
#: out are 32 ASCII characters (``wr`` + 30); 256 bytes refuses only what cannot be one.
MAX_CHAT_ID_BYTES: Final = 256
#: ``wording`` of an upgrade-service recommendation: WeCom documents no limit (not
#: found on the page or in SDKs; unverified). 2048 bytes, the largest text limit the
#: KF API documents (a text message), refuses only a runaway string.
MAX_WORDING_BYTES: Final = 2048
#: ``scene`` of a contact link: at most 32 bytes of ``[0-9a-zA-Z_-]``.
MAX_SCENE_BYTES: Final = 32
#: ``scene_param`` appended to a contact link: at most 128 bytes before url-encoding.
MAX_SCENE_PARAM_BYTES: Final = 128
#: ``msgid`` of a sent message: at most 32 bytes of ``[0-9a-zA-Z_-]``.
MAX_MSGID_BYTES: Final = 32
#: ``cursor`` of ``sync_msg``: at most 64 bytes.
MAX_CURSOR_BYTES: Final = 64
#: ``token`` of ``sync_msg`` (from a callback): at most 128 bytes.
MAX_SYNC_TOKEN_BYTES: Final = 128
#: ``media_id``: at most 128 bytes.
MAX_MEDIA_ID_BYTES: Final = 128
#: ``code`` of ``send_msg_on_event`` (a ``welcome_code`` or ``msg_code``) has no
#: documented limit; 256 bytes refuses only what cannot be one.
MAX_EVENT_CODE_BYTES: Final = 256
#: A KF account's ``name``: at most 16 characters.
MAX_NAME_CHARS: Final = 16
#: Ids in one list of one call (servicers, customers), unless an endpoint says less.
MAX_IDS_PER_CALL: Final = 100

_KEY_CHARS = re.compile(r"[0-9a-zA-Z_-]*")
#: Department ids are unsigned 32-bit integers.
_MAX_DEPARTMENT_ID = 2**32 - 1


def _type_name(value: object) -> str:
    return type(value).__name__


def text(
    name: str,
    value: object,
    *,
    max_bytes: int | None = None,
    max_chars: int | None = None,
    allow_empty: bool = False,
    pattern: re.Pattern[str] | None = None,
    what: str = "",
) -> str:
    """A string argument within its limits: length in bytes (UTF-8) and/or characters."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {_type_name(value)}")
    if not value and not allow_empty:
        raise ValueError(f"{name} must not be empty")
    if max_chars is not None and len(value) > max_chars:
        raise ValueError(f"{name} is {len(value)} characters long; the limit is {max_chars}")
    if max_bytes is not None or not value.isascii():
        # Encoded even without a limit: a lone surrogate ("\ud800") cannot be sent.
        try:
            size = len(value.encode())
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"{name} is not valid text: a lone surrogate at index {exc.start} "
                "(UTF-8 cannot encode it)"
            ) from None
        if max_bytes is not None and size > max_bytes:
            raise ValueError(f"{name} is {size} bytes long (UTF-8); the limit is {max_bytes}")
    if pattern is not None and not pattern.fullmatch(value):
        raise ValueError(f"{name} must consist of {what}, got {value!r}")
    return value


def _identifier(name: str, value: object, max_bytes: int) -> str:
    """An id WeCom issued: non-empty, bounded, no whitespace or control characters."""
    checked = text(name, value, max_bytes=max_bytes)
    # Every whitespace character but the ASCII space is unprintable, so these two
    # C-speed tests refuse exactly whitespace and control characters.
    if not checked.isprintable() or " " in checked:
        raise ValueError(f"{name} contains whitespace or control characters: {checked[:80]!r}")
    return checked


def open_kfid(value: object, name: str = "open_kfid") -> str:
    """A KF account id."""
    return _identifier(name, value, MAX_OPEN_KFID_BYTES)


def external_userid(value: object, name: str = "external_userid") -> str:
    """A customer's id."""
    return _identifier(name, value, MAX_EXTERNAL_USERID_BYTES)


def userid(value: object, name: str = "userid") -> str:
    """A member's (servicer's) id."""
    return _identifier(name, value, MAX_USERID_BYTES)


def chat_id(value: object, name: str = "chat_id") -> str:
    """A customer group chat's id."""
    return _identifier(name, value, MAX_CHAT_ID_BYTES)


def wording(value: object, name: str = "wording") -> str:
    """The words that come with an upgrade-service recommendation (may be empty)."""
    return text(name, value, max_bytes=MAX_WORDING_BYTES, allow_empty=True)


def media_id(value: object, name: str = "media_id") -> str:
    """An uploaded medium's id."""
    return _identifier(name, value, MAX_MEDIA_ID_BYTES)


def cursor(value: object, name: str = "cursor") -> str:
    """A ``sync_msg`` cursor."""
    return _identifier(name, value, MAX_CURSOR_BYTES)


def sync_token(value: object, name: str = "token") -> str:
    """A ``sync_msg`` token from a callback."""
    return _identifier(name, value, MAX_SYNC_TOKEN_BYTES)


def scene(value: object, name: str = "scene") -> str:
    """A contact link's scene value (may be empty)."""
    return text(
        name,
        value,
        max_bytes=MAX_SCENE_BYTES,
        allow_empty=True,
        pattern=_KEY_CHARS,
        what="letters, digits, '_' and '-'",
    )


def scene_param(value: object, name: str = "scene_param") -> str:
    """A contact link's ``scene_param`` value, before url-encoding (any text)."""
    return text(name, value, max_bytes=MAX_SCENE_PARAM_BYTES)


def msgid(value: object, name: str = "msgid") -> str:
    """A message id chosen by the sender."""
    return text(
        name,
        value,
        max_bytes=MAX_MSGID_BYTES,
        pattern=_KEY_CHARS,
        what="letters, digits, '_' and '-'",
    )


def account_name(value: object, name: str = "name") -> str:
    """A KF account's display name."""
    checked = text(name, value, max_chars=MAX_NAME_CHARS)
    if checked.isspace():
        raise ValueError(f"{name} must not be blank")
    return checked


def bounded_int(name: str, value: object, low: int, high: int) -> int:
    """An integer in ``[low, high]`` (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {_type_name(value)}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value}")
    return value


def department_id(value: object, name: str = "department_id") -> int:
    """A department id."""
    return bounded_int(name, value, 1, _MAX_DEPARTMENT_ID)


def choice(name: str, value: object, kind: type[_E]) -> _E:
    """A member of the enum *kind*, given as the member or its value."""
    if isinstance(value, kind):
        return value
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a {kind.__name__}, got bool")
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(repr(member.value) for member in kind)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}") from None


def id_list(
    name: str,
    values: object,
    check: Callable[[object, str], _T],
    *,
    max_items: int | None = None,
) -> list[_T]:
    """A list of ids, each checked by *check* (a function of ``(value, name)``).

    A bare string is refused (it would be read as a list of characters); duplicates
    are dropped, the first one kept. ``max_items`` refuses longer lists.
    """
    if isinstance(values, str | bytes | bytearray) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list, got {_type_name(values)}")
    items = list(values)
    unique = list(
        dict.fromkeys(check(item, f"{name}[{index}]") for index, item in enumerate(items))
    )
    if max_items is not None and len(unique) > max_items:
        raise ValueError(f"{name} has {len(unique)} items; the limit is {max_items} per call")
    return unique
