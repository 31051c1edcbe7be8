"""Griffe extension for the API reference: ``#:`` comments as attribute docs, plain roles.

- An attribute or constant documented by ``#:`` comment lines just above it (the
  style this codebase uses, as Sphinx's autodoc reads it) gets them as its
  docstring.
- Sphinx roles in docstrings (``:class:`~a.B```, ``:meth:`x```, ...) become code
  spans (``B``, ``x``): the reference is rendered as Markdown.
"""

from __future__ import annotations

import ast
import re
from typing import Any

import griffe

#: reST's "::" before a literal block (the indented block already reads as code).
_LITERAL = re.compile(r"::\n")
_ROLE = re.compile(r":(?:class|meth|func|attr|data|exc|mod|obj|const|py:\w+):`~?([^`]+)`")


def _plain_roles(text: str) -> str:
    def short(match: re.Match[str]) -> str:
        target = match.group(1)
        if "<" in target:  # :class:`text <target>`
            target = target.split("<", 1)[0].strip()
        elif match.group(0).split("`", 1)[1].startswith("~"):
            target = target.rsplit(".", 1)[-1]
        return f"`{target}`"

    return _ROLE.sub(short, text)


class CommentDocstrings(griffe.Extension):
    """Read ``#:`` comments into docstrings; turn Sphinx roles into code spans."""

    def on_attribute_instance(
        self,
        *,
        node: ast.AST | griffe.ObjectNode,
        attr: griffe.Attribute,
        agent: Any,
        **kwargs: Any,
    ) -> None:
        """Give *attr* the ``#:`` comment above it when it has no docstring."""
        if attr.docstring is not None or not isinstance(node, ast.AST):
            return
        lineno = getattr(node, "lineno", None)
        try:
            lines = attr.lines_collection[attr.filepath]  # type: ignore[index]
        except (KeyError, TypeError):
            return
        if lineno is None:
            return
        found: list[str] = []
        index = lineno - 2
        while index >= 0 and lines[index].strip().startswith("#:"):
            found.insert(0, lines[index].strip()[2:].strip())
            index -= 1
        if found:
            attr.docstring = griffe.Docstring("\n".join(found), lineno=index + 2, parent=attr)

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        """Rewrite the roles of every docstring of the package."""
        seen: set[int] = set()

        def walk(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = _LITERAL.sub(":\n", _plain_roles(obj.docstring.value))
            for member in obj.members.values():
                if not member.is_alias:
                    walk(member)  # type: ignore[arg-type]

        walk(pkg)
