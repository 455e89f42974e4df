"""The user's ``[keys]``: which binding ids exist, so that a misspelt id is reported, not ignored.

Textual's keymap silently skips an id no binding has; someone who remapped ``form.pubish_anyway``
would find out in the middle of an incident. The console warns at start instead.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable, Iterator

from textual.binding import Binding
from textual.dom import DOMNode

#: The packages whose screens and widgets define the console's bindings.
PACKAGES = ("warroom.console.screens", "warroom.console.widgets")


def _subclasses(cls: type[DOMNode]) -> Iterator[type[DOMNode]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def binding_ids() -> set[str]:
    """Every binding id of the console's app, screens and widgets."""
    for package in PACKAGES:
        for module in pkgutil.iter_modules(importlib.import_module(package).__path__):
            importlib.import_module(f"{package}.{module.name}")
    ids: set[str] = set()
    for cls in _subclasses(DOMNode):
        if not cls.__module__.startswith("warroom."):
            continue
        for binding in cls.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                ids.add(binding.id)
    return ids


def unknown_ids(wanted: Iterable[str]) -> list[str]:
    """The ids of ``wanted`` that no binding has, sorted."""
    known = binding_ids()
    return sorted(set(wanted) - known)
