"""Fast, strict structure hooks generated from the attrs classes' own field declarations.

``sync_msg`` pages carry up to 1,000 messages and a bot reads millions, so the message
models skip cattrs' generated hooks (which dispatch a hook per field and coerce
types) for functions that check each JSON type and set the slots directly, as
``models/customers.py`` does by hand. Here nothing is written per class: the attrs
class *is* the table of field specs. :func:`compile_hook` reads each field's name,
annotation and default, and generates one straight-line function:

==================================  ============================================
annotation                          accepted JSON (anything else is malformed)
==================================  ============================================
``str`` / ``int`` / ``float``       that type (``float`` also takes an integer)
``str | int``                       a string or an integer
``datetime``                        integer epoch seconds, made an aware UTC time
``SomeIntEnum | int``               an integer: the member, or the plain int
an attrs class                      an object, built inline if compiled here
``tuple[AttrsClass, ...]``          an array of such objects
``dict[str, Any]``                  an object, kept as sent (a body with no known fields)
``X | None`` (default ``None``)     the same, or absent / ``null``
==================================  ============================================

A field without a default is required. A field may come from a nested object (an
event's fields live under ``"event"``) and fall back to the top level. A malformed
field raises :class:`Malformed`, naming the field's path and the JSON types, never
the value (which may be a customer's words).
"""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any, TypeVar

import attrs

from ._converter import converter

__all__ = ["Malformed", "compile_hook", "hook_of"]

_T = TypeVar("_T")

_JSON_TYPE = {str: "a string", int: "an integer", float: "a number", dict: "an object"}


class Malformed(TypeError):
    """A field of the wrong JSON type, or a required field missing.

    The text names the field's path and the JSON types only, never the value.
    """

    def __init__(self, path: str, expected: str, got: object) -> None:
        self.path = path
        self.expected = expected
        self.got = "missing" if got is None else _json_name(got)
        if got is None:
            super().__init__(f"{path} is missing (or null)")
        else:
            super().__init__(f"{path} must be {expected}, got {self.got}")

    def within(self, parent: str) -> Malformed:
        """The same problem, its path prefixed by *parent* (``text`` + ``content``)."""
        return Malformed(f"{parent}.{self.path}", self.expected, _Named(self.got))


class _Named:
    """Stands for a value already described by its JSON type name."""

    def __init__(self, name: str) -> None:
        self.name = name


def _json_name(value: object) -> str:
    if isinstance(value, _Named):
        return value.name
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, list):
        return "an array"
    return _JSON_TYPE.get(type(value), type(value).__name__)


#: Compiled hooks by class, for nesting (registered on the converter too).
_HOOKS: dict[type, Callable[..., Any]] = {}
#: The generated source of each hook, for reading and debugging.
_SOURCES: dict[type, str] = {}


def hook_of(cls: type[_T]) -> Callable[..., _T]:
    """The fast hook of *cls* (compiled here), else the converter's hook for it."""
    hook = _HOOKS.get(cls)
    if hook is not None:
        return hook
    registered = converter.get_structure_hook(cls)
    return lambda raw, _=None: registered(raw, cls)


def _slot_setter(cls: type, name: str) -> Callable[[object, object], None]:
    """The setter of the slot *name* as attribute lookup finds it (the most derived)."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None:
            setter: Callable[[object, object], None] = descriptor.__set__
            return setter
    raise TypeError(f"{cls.__name__}.{name} is not a slot: declare it @attrs.frozen")


def _check(kind: Any, var: str, path: str, ns: dict[str, Any]) -> list[str]:
    """Source lines that check (and convert) *var*, which holds a non-null value."""
    bad = f"raise _Malformed({path!r}, {{}}, {var})"
    if kind is str or kind is int:
        return [
            f"if type({var}) is not {kind.__name__}:",
            "    " + bad.format(repr(_JSON_TYPE[kind])),
        ]
    if kind is float:
        return [
            f"if type({var}) is not float:",
            f"    if type({var}) is not int: " + bad.format("'a number'"),
            f"    {var} = float({var})",
        ]
    if kind == (str, int):
        return [
            f"if type({var}) is not str and type({var}) is not int:",
            "    " + bad.format("'a string or an integer'"),
        ]
    if kind is dict:
        return [f"if type({var}) is not dict: " + bad.format("'an object'")]
    if kind is datetime:
        return [
            f"if type({var}) is not int: " + bad.format("'epoch seconds (an integer)'"),
            "try:",
            f"    {var} = _fromtimestamp({var}, _UTC)",
            "except (OverflowError, OSError, ValueError):",
            f"    raise _Malformed({path!r}, 'epoch seconds', _OUT_OF_RANGE) from None",
        ]
    if isinstance(kind, type) and issubclass(kind, enum.IntEnum):
        codes = f"_codes_{kind.__name__}"
        ns[codes] = {member.value: member for member in kind}
        return [
            f"if type({var}) is not int: " + bad.format("'an integer code'"),
            f"{var} = {codes}.get({var}, {var})",
        ]
    if isinstance(kind, tuple) and kind[0] == "tuple":
        hook = f"_hook_{kind[1].__name__}"
        ns[hook] = hook_of(kind[1])
        return [
            f"if type({var}) is not list: " + bad.format("'an array'"),
            "try:",
            f"    {var} = tuple([{hook}(x) for x in {var}])",
            "except _Malformed as exc:",
            f"    raise exc.within({path + '[]'!r}) from None",
        ]
    if kind in _HOOKS:  # one of ours: build it inline, no call
        lines = [f"if type({var}) is not dict: " + bad.format("'an object'")]
        built, result = _object_lines(kind, var, path, ns)
        return [*lines, *built, f"{var} = {result}"]
    hook = f"_hook_{kind.__name__}"
    ns[hook] = hook_of(kind)
    return [
        "try:",
        f"    {var} = {hook}({var})",
        "except _Malformed as exc:",
        f"    raise exc.within({path!r}) from None",
    ]


def _kind(annotation: Any, where: str) -> tuple[Any, bool]:
    """(the kind of check, whether ``None`` is allowed) of a field's annotation."""
    args = typing.get_args(annotation)
    union = isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union
    members = [a for a in args if a is not type(None)] if union else [annotation]
    nullable = union and len(members) < len(args)
    if len(members) == 1:
        (only,) = members
        if typing.get_origin(only) is tuple:
            item, ellipsis = typing.get_args(only)
            if ellipsis is Ellipsis and attrs.has(item):
                return ("tuple", item), nullable
        if only in (str, int, float, datetime) or attrs.has(only):
            return only, nullable
        if typing.get_origin(only) is dict:
            return dict, nullable
    if len(members) == 2 and int in members:
        other = members[0] if members[1] is int else members[1]
        if other is str:
            return (str, int), nullable
        if isinstance(other, type) and issubclass(other, enum.IntEnum):
            return other, nullable
    raise TypeError(f"{where}: no fast structuring for {annotation!r}")


def _object_lines(
    cls: type,
    src: str,
    path: str,
    ns: dict[str, Any],
    *,
    nested: str | None = None,
    top: Collection[str] = (),
    nested_first: Collection[str] = (),
) -> tuple[list[str], str]:
    """Source lines that build a *cls* from the dict in variable *src*, and its variable.

    Each field is read, checked and converted, then the object is made and its slots
    set. Variables are numbered per object (``o3_1``), so objects nest inline.
    """
    number = ns["_objects"] = ns["_objects"] + 1
    obj, get = f"o{number}", f"get{number}"
    hints = typing.get_type_hints(cls)
    lines = [f"{get} = {src}.get"]
    if nested is not None:
        lines += [
            f"inner{number} = {get}({nested!r})",
            f"if type(inner{number}) is not dict:",
            f"    raise _Malformed({nested!r}, 'an object', inner{number})",
            f"nget{number} = inner{number}.get",
        ]
    ns[f"_cls{number}"] = cls
    sets = [f"{obj} = _new(_cls{number})"]
    for index, field in enumerate(attrs.fields(cls)):
        var, key = f"{obj}_{index}", field.name
        kind, nullable = _kind(hints[key], f"{cls.__name__}.{key}")
        if isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            raise TypeError(f"{cls.__name__}.{key}: use an immutable default, not a factory")
        at_top = nested is None or key in top
        where = key if at_top else f"{nested}.{key}"
        where = f"{path}.{where}" if path else where
        if at_top:
            lines.append(f"{var} = {get}({key!r})")
        else:
            lines.append(f"{var} = nget{number}({key!r})")
            if key in nested_first:
                lines.append(f"if {var} is None: {var} = {get}({key!r})")
        check = _check(kind, var, where, ns)
        if field.default is attrs.NOTHING:
            # Every check refuses None (naming it missing), except a foreign hook's.
            if kind not in _HOOKS and attrs.has(kind):
                lines.append(f"if {var} is None: raise _Malformed({where!r}, 'present', None)")
            lines += check
        elif field.default is None and nullable and kind in (str, int):
            lines += [
                f"if {var} is not None and type({var}) is not {kind.__name__}:",
                f"    raise _Malformed({where!r}, {_JSON_TYPE[kind]!r}, {var})",
            ]
        elif field.default is None and nullable:
            lines += [f"if {var} is not None:", *("    " + line for line in check)]
        else:
            ns[f"_default{number}_{index}"] = field.default
            lines += [f"if {var} is None:", f"    {var} = _default{number}_{index}", "else:"]
            lines += ["    " + line for line in check]
        ns[f"_set{number}_{index}"] = _slot_setter(cls, key)
        sets.append(f"_set{number}_{index}({obj}, {var})")
    return [*lines, *sets], obj


def compile_hook(
    cls: type[_T],
    *,
    nested: str | None = None,
    top: Collection[str] = (),
    nested_first: Collection[str] = (),
) -> Callable[..., _T]:
    """Generate, register and return the strict structure hook of the attrs class *cls*.

    Nested classes compiled before are built inline (no call per nested object).

    Args:
        cls: A frozen, slotted attrs class whose field names are WeCom's JSON keys.
        nested: The key of an object holding the fields (``"event"``), or ``None``
            when they are all at the top level.
        top: With *nested*: the fields read from the top level instead.
        nested_first: With *nested*: fields read from the nested object, else from
            the top level (an event's ``open_kfid``).

    Returns:
        A function ``(raw, _=None) -> cls`` that raises :class:`Malformed` for a
        value that is not an object, a missing required field or a wrong JSON type.
        It is registered on the converter for *cls* and used for nested fields.
    """
    name = cls.__name__
    ns: dict[str, Any] = {
        "_Malformed": Malformed,
        "_new": object.__new__,
        "_fromtimestamp": datetime.fromtimestamp,
        "_OUT_OF_RANGE": _Named("an integer out of range"),
        "_UTC": UTC,
        "_objects": 0,
    }
    built, result = _object_lines(
        cls, "raw", "", ns, nested=nested, top=top, nested_first=nested_first
    )
    lines = [
        "def structure(raw, _=None):",
        f"    if type(raw) is not dict: raise _Malformed({name!r}, 'an object', raw)",
        *("    " + line for line in built),
        f"    return {result}",
    ]
    source = "\n".join(lines)
    # Generated from the class's own declarations above, never from input data.
    exec(compile(source, f"<structure {name}>", "exec"), ns)  # noqa: S102
    hook: Callable[..., _T] = ns["structure"]
    hook.__doc__ = f"Structure a JSON object into {name}, strictly (generated)."
    _HOOKS[cls] = hook
    _SOURCES[cls] = source
    converter.register_structure_hook(cls, hook)
    return hook
