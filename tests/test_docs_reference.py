"""The API reference covers every public name once, and every public name has a docstring."""

from __future__ import annotations

import importlib
import inspect
import re
from collections import Counter
from pathlib import Path

import pytest

import wecom_kf_async

ROOT = Path(__file__).resolve().parents[1]
REFERENCE = ROOT / "docs" / "reference"
MODULES = [
    "wecom_kf_async",
    "wecom_kf_async.models",
    "wecom_kf_async.messages",
    "wecom_kf_async.resources",
    "wecom_kf_async.callback",
    "wecom_kf_async.fleet",
    "wecom_kf_async.providers",
    "wecom_kf_async.instrumentation",
    "wecom_kf_async.testing",
    "wecom_kf_async.testing.simulator",
]


_DIRECTIVE = re.compile(r"^::: (?P<target>[\w.]+)[ \t]*\n(?P<options>(?:[ \t]+.*\n?)*)", re.M)


def parsed() -> list[tuple[str, list[str] | None]]:
    """Every ``::: target`` of the reference pages, with its ``members:`` list if any."""
    found: list[tuple[str, list[str] | None]] = []
    for page in sorted(REFERENCE.glob("*.md")):
        for match in _DIRECTIVE.finditer(page.read_text(encoding="utf-8")):
            options = match.group("options")
            members = None
            if "members:" in options:
                members = re.findall(r"^\s+- (\w+)\s*$", options.split("members:", 1)[1], re.M)
            found.append((match.group("target"), members))
    return found


def directives() -> list[str]:
    """Every ``::: target`` of the reference pages."""
    return [target for target, _ in parsed()]


def rendered() -> Counter[int]:
    """How many times each object is rendered (by identity), modules expanded to __all__."""
    counts: Counter[int] = Counter()
    for target, members in parsed():
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError:
            module_name, _, name = target.rpartition(".")
            counts[id(getattr(importlib.import_module(module_name), name))] += 1
            continue
        for name in module.__all__ if members is None else members:
            counts[id(getattr(module, name))] += 1
    return counts


def test_every_public_module_has_a_reference_page() -> None:
    targets = set(directives())
    for module in MODULES[1:]:
        assert module in targets, f"no reference page renders {module}"


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_is_in_the_reference(module_name: str) -> None:
    module = importlib.import_module(module_name)
    counts = rendered()
    missing = [
        name
        for name in module.__all__
        if name != "__version__" and counts[id(getattr(module, name))] == 0
    ]
    assert not missing, f"{module_name}: not in the API reference: {missing}"


def test_no_class_or_function_is_rendered_twice() -> None:
    counts = rendered()
    twice = sorted(
        f"{module}.{name}"
        for module in MODULES
        for name in importlib.import_module(module).__all__
        if (
            inspect.isclass(obj := getattr(importlib.import_module(module), name))
            or inspect.isroutine(obj)
        )
        and counts[id(obj)] > 1
    )
    assert not twice, f"rendered on more than one page: {twice}"


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_class_and_function_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__
    undocumented = [
        name
        for name in module.__all__
        if (inspect.isclass(obj := getattr(module, name)) or inspect.isroutine(obj))
        and not (obj.__doc__ or "").strip()
    ]
    assert not undocumented, f"{module_name}: no docstring: {undocumented}"


def test_the_top_level_page_renders_what_no_module_page_does() -> None:
    page = (REFERENCE / "wecom_kf_async.md").read_text(encoding="utf-8")
    on_top = set(re.findall(r"^::: wecom_kf_async\.(\w+)\s*$", page, re.M))
    submodules = {
        name for module in MODULES[1:] for name in importlib.import_module(module).__all__
    }
    expected = set(wecom_kf_async.__all__) - submodules - {"__version__"}
    assert on_top == expected
