"""Resource kinds: one folder per kind under analysis/kinds/, each exporting one `KIND`.

A kind declares everything the analysis knows about one AWS resource type (see `Kind`): the
registry imports every package under analysis/kinds/ and collects their `KIND`, so adding a kind
is creating one folder.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from analysis.enums import RolloutMethod
from stacks.naming import Tier

if TYPE_CHECKING:
    import numpy as np

    from analysis.model import Cost, MetricQuery, Recommendation, Resource, Series
    from analysis.sizing.policy import SizingContext
    from analysis.sizing.specs import SpecCatalog
    from analysis.sources.aws import RegionClients
    from analysis.synthetic import DemandModel, Synth


@dataclass(frozen=True)
class Kind:
    """What one resource kind declares (all required: a kind without one of them cannot be sized)."""

    name: str  # Resource.kind, e.g. "rds"
    tier: Tier  # the stack tier its resources belong to (report totals group by it)
    discover: Callable[[RegionClients], list[Resource]]  # live resources of one region
    queries: Callable[..., list[MetricQuery]]  # (resource, period=300): the metrics that size it
    size: Callable[[Resource, Mapping[MetricQuery, Series], SizingContext], Recommendation]
    price: Callable[..., Cost]  # (config, region, catalog, usage=None): monthly cost of a configuration
    # (resource, true demand per dimension, points, specs, model): CloudWatch values of each query
    synthetic: Callable[[Resource, Mapping[str, np.ndarray], int, SpecCatalog, DemandModel], Synth]
    rollout: RolloutMethod  # how its changes usually roll out
    rollout_explanation: str = ""  # what that method changes for this kind (rollout plan steps)

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a kind needs a name")
        if self.rollout is RolloutMethod.NONE:
            raise ValueError(f"kind {self.name!r}: rollout method {self.rollout} rolls nothing out")


@functools.cache
def kinds() -> dict[str, Kind]:
    """Every kind, by name (sorted), from the `KIND` of each package under analysis/kinds/."""
    from analysis import kinds as pkg

    found: dict[str, Kind] = {}
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{pkg.__name__}.{info.name}")
        kind: Any = getattr(module, "KIND", None)
        if not isinstance(kind, Kind):
            raise TypeError(f"{module.__name__} exports no KIND = Kind(...)")
        if kind.name in found:
            raise ValueError(f"kind {kind.name!r} declared twice ({module.__name__})")
        found[kind.name] = kind
    return dict(sorted(found.items()))


def get(kind: str) -> Kind:
    try:
        return kinds()[kind]
    except KeyError:
        raise KeyError(f"unknown resource kind {kind!r}; known: {', '.join(kinds())}") from None
