"""Resource kinds register themselves here (one folder per kind under analysis/kinds/).

A kind bundles what the analysis knows about one AWS resource type: how to discover it,
which metrics size it, how to size it and how to price a configuration of it. Each part is
registered by the module that implements it, so adding a kind touches one folder.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

PARTS = ("discover", "queries", "size", "price")


@dataclass
class Kind:
    name: str
    parts: dict[str, Callable[..., Any]] = field(default_factory=dict)

    def __getattr__(self, part: str) -> Callable[..., Any]:
        try:
            return self.parts[part]
        except KeyError:
            raise AttributeError(f"kind {self.name!r} has no {part!r} part registered") from None


_KINDS: dict[str, Kind] = {}


def register(kind: str, part: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: `@register("rds", "size")` makes the function the rds sizing policy."""
    if part not in PARTS:
        raise ValueError(f"unknown part {part!r}; expected one of {PARTS}")

    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        _KINDS.setdefault(kind, Kind(kind)).parts[part] = fn
        return fn

    return deco


def kinds() -> dict[str, Kind]:
    """All kinds, after importing every module under analysis/kinds/ (stable order)."""
    from . import kinds as pkg

    for info in sorted(pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."), key=lambda i: i.name):
        importlib.import_module(info.name)
    return dict(sorted(_KINDS.items()))


def get(kind: str) -> Kind:
    try:
        return kinds()[kind]
    except KeyError:
        raise KeyError(f"unknown resource kind {kind!r}; known: {', '.join(kinds())}") from None
