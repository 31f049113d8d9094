"""Replay a proposal against the 45 days it came from: would the new size have carried that demand?

Each dimension's demand series (as it would be on the new size: a Lambda function's concurrency
at its predicted duration, for example) is laid against the proposed capacity (a constant, or a
series for an elastic Auto Scaling group whose scaling policy changes the count). The figures
go into every record's evidence (`evidence.replay`); a proposal with any minute over capacity
is not emitted (analysis/sizing/recommend.py) and its reason says when and by how much.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from analysis.sizing.stats import Demand


@dataclass(frozen=True)
class DimensionReplay:
    """One dimension's demand laid against the proposed capacity."""

    name: str
    unit: str
    minutes_over: float  # minutes the demand was above the capacity
    first_over: int | None  # epoch seconds of the first period over capacity
    worst_excess: float  # largest demand - capacity (0 when never over), in `unit`
    worst_at: int | None  # epoch seconds of that period
    p99_utilisation: float  # demand / capacity
    peak_utilisation: float

    def describe(self) -> str:
        return (
            f"{self.name} over capacity for {self.minutes_over:.0f} minutes (first {_when(self.first_over)}, "
            f"worst +{self.worst_excess:.3g} {self.unit} at {_when(self.worst_at)}, "
            f"peak utilisation {self.peak_utilisation:.0%})"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "unit": self.unit,
            "minutes_over_capacity": self.minutes_over,
            "first_over": _when(self.first_over),
            "worst_excess": self.worst_excess,
            "worst_at": _when(self.worst_at),
            "p99_utilisation": self.p99_utilisation,
            "peak_utilisation": self.peak_utilisation,
        }


def _when(t: int | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def replay_dimension(demand: Demand, values: np.ndarray, capacity: float | np.ndarray) -> DimensionReplay | None:
    """`values` (aligned with demand.timestamps) against `capacity`; None without data or capacity."""
    cap = np.broadcast_to(np.asarray(capacity, float), values.shape)
    if not len(values) or not np.all(cap > 0):
        return None
    excess = values - cap
    over = excess > 1e-9
    util = values / cap
    worst = int(np.argmax(excess))
    return DimensionReplay(
        demand.name,
        demand.unit,
        float(np.count_nonzero(over)) * demand.period / 60,
        int(demand.timestamps[np.argmax(over)]) if over.any() else None,
        max(0.0, float(excess[worst])),
        int(demand.timestamps[worst]) if over.any() else None,
        float(np.percentile(util, 99, method="higher")),
        float(util.max()),
    )


@dataclass(frozen=True)
class Replay:
    """Every replayed dimension of one proposal and its cost over the window."""

    dimensions: Mapping[str, DimensionReplay]
    cost_window: Mapping[str, float | None]  # on-demand USD over the window: current, proposed

    @property
    def over(self) -> list[DimensionReplay]:
        return [d for _, d in sorted(self.dimensions.items()) if d.minutes_over > 0]

    @property
    def binding(self) -> DimensionReplay | None:
        """The dimension with the highest peak utilisation on the proposed size."""
        return max(self.dimensions.values(), key=lambda d: (d.peak_utilisation, d.name), default=None)

    def as_dict(self) -> dict[str, Any]:
        b = self.binding
        return {
            "minutes_over_capacity": sum(d.minutes_over for d in self.dimensions.values()),
            "binding": None if b is None else b.name,
            "p99_utilisation": None if b is None else b.p99_utilisation,
            "peak_utilisation": None if b is None else b.peak_utilisation,
            "cost_window": dict(self.cost_window),
            "dimensions": {name: d.as_dict() for name, d in sorted(self.dimensions.items())},
        }


def replay(
    demands: list[Demand],
    capacity: Mapping[str, float | np.ndarray | None],
    projected: Mapping[str, np.ndarray],
    cost_window: Mapping[str, float | None],
) -> Replay:
    """Replay each demand (or its `projected` values on the new size) against `capacity`
    (None: unlimited, not replayed)."""
    out = {}
    for d in demands:
        cap = capacity.get(d.name)
        if cap is None:
            continue
        r = replay_dimension(d, np.asarray(projected.get(d.name, d.values), float), cap)
        if r is not None:
            out[d.name] = r
    return Replay(out, cost_window)
