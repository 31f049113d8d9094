"""Candidate search: the cheapest configuration whose capacity covers every dimension's target."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Candidate:
    name: str  # e.g. "db.r6g.large" or "cache.r7g.large x 3 shards x 1 replica"
    config: Mapping[str, Any]  # the config fields this candidate sets
    capacity: Mapping[str, float]  # dimension -> capacity in the dimension's unit
    monthly: float | None  # on-demand monthly cost used for ranking (None = price missing)
    current: bool = False
    notes: tuple[str, ...] = field(default=())

    def covers(self, targets: Mapping[str, float | None]) -> bool:
        return all(t is None or self.capacity.get(d, 0.0) >= t for d, t in targets.items())


def rank(c: Candidate) -> tuple[float, int, str]:
    # Unpriced candidates rank last (their cost is unknown, never assumed); on a tie keep today's size.
    return (c.monthly if c.monthly is not None else math.inf, 0 if c.current else 1, c.name)


def cheapest(candidates: Iterable[Candidate], targets: Mapping[str, float | None]) -> Candidate | None:
    """Cheapest candidate covering all targets; unpriced alternatives are never proposed."""
    feasible = [c for c in candidates if c.covers(targets) and (c.current or c.monthly is not None)]
    return min(feasible, key=rank) if feasible else None
