"""Synthetic CloudWatch workloads with a known true demand (deterministic for a seed).

A `DemandModel` describes the true demand of a resource per sizing dimension (its peak, in the
dimension's unit) and a shape over time; `generate` turns it into the `Series` of exactly the
metric queries the resource's kind asks for (its `queries` part), the way
CloudWatch would report them at 5 minutes: the period's Maximum is the true demand, the Average
a little lower. `make analyze` uses it to build the simulated account's 45-day snapshot:

    series = generate(resource, DemandModel({"cpu": 3.0, ...}, shape="diurnal"), start, end, seed=7)

The dimensions of a kind (and their units) are listed in analysis/kinds/<kind>/synthetic.py,
the kind's `synthetic` part, which turns the true demand into its metrics' values.

Shapes: steady, diurnal (business-hours peak), weekly (diurnal with quiet weekends), spikes
(steady base plus rare short spikes), trace (a real series given in `traces`). `use` (working
hours, analysis/schedule/workload.py) multiplies the `use_dims` on top: a non-production
environment idle at nights and weekends. Data defects:
`history_days` keeps only the last N days, `gap_fraction` drops that share of samples in
one-hour blocks.
"""

from __future__ import annotations

import csv
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from analysis.model import MetricQuery, Resource, Series
from analysis.registry import get
from analysis.schedule.workload import WorkingHours, use_factor
from analysis.sizing.specs import SpecCatalog

PERIOD = 300
SHAPES = ("steady", "diurnal", "weekly", "spikes", "trace")


@dataclass(frozen=True)
class DemandModel:
    peak: Mapping[str, float]  # dimension -> true peak demand over the window
    shape: str = "diurnal"
    shapes: Mapping[str, str] = field(default_factory=dict)  # per-dimension shape override
    trough: float = 0.3  # lowest demand as a share of the peak (diurnal, weekly, spikes base)
    noise: float = 0.03  # relative noise on every sample
    spikes_per_week: float = 2.0
    spike_samples: int = 3  # 15 minutes
    history_days: float | None = None  # short history: only the last N days have data
    gap_fraction: float = 0.0  # share of samples missing, in one-hour blocks
    traces: Mapping[str, np.ndarray] = field(default_factory=dict)  # dimension -> values (trace shape)
    params: Mapping[str, float] = field(default_factory=dict)  # kind extras: duration_ms, instances
    use: WorkingHours | None = None  # weekly hours someone uses it (None: any hour)
    use_dims: tuple[str, ...] = ()  # dimensions that follow `use` (connections, requests, CPU...)

    def __post_init__(self) -> None:
        for dim in self.peak:
            if self.shape_of(dim) not in SHAPES:
                raise ValueError(f"unknown shape {self.shape_of(dim)!r}; expected one of {SHAPES}")
        unknown = sorted(set(self.use_dims) - set(self.peak))
        if unknown:
            raise ValueError(f"use_dims {', '.join(unknown)} are not dimensions of the model")

    def shape_of(self, dim: str) -> str:
        return self.shapes.get(dim, "trace" if dim in self.traces else self.shape)


def _shape(model: DemandModel, dim: str, ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Values in (0, 1] with max exactly 1 (so the true peak is `peak`)."""
    kind = model.shape_of(dim)
    hours = (ts % 86400) / 3600.0
    lo = model.trough
    if kind == "trace":
        raw = np.asarray(model.traces[dim], float)
        out = np.full(len(ts), np.nan)
        out[len(ts) - min(len(ts), len(raw)) :] = raw[-len(ts) :]  # a trace fills the end of the window
        return out / np.nanmax(out)
    if kind == "steady":
        base = np.full(len(ts), 1.0 - 2 * model.noise)
    else:
        day = np.clip(np.sin((hours - 8) / 12 * np.pi), 0, None)  # peak mid-afternoon, zero at night
        base = lo + (1 - lo) * day
        if kind == "weekly":
            weekday = ((ts // 86400) + 3) % 7  # 1970-01-01 was a Thursday: 5, 6 = Saturday, Sunday
            base = np.where(weekday >= 5, lo + (base - lo) * 0.3, base)
        if kind == "spikes":
            base = np.full(len(ts), lo)
            n_spikes = max(1, int(round(model.spikes_per_week * len(ts) * PERIOD / (7 * 86400))))
            for start in rng.choice(max(1, len(ts) - model.spike_samples), size=n_spikes, replace=False):
                base[start : start + model.spike_samples] = 1.0
    vals = base * (1 + model.noise * rng.standard_normal(len(ts)))
    vals = np.clip(vals, 0.01 * lo, None)
    return vals / vals.max()


def true_demand(model: DemandModel, start: int, end: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The true demand per dimension at every 5-minute point of [start, end) (no data defects)."""
    ts = np.arange(start - start % PERIOD, end, PERIOD, dtype=np.int64)
    rng = np.random.default_rng(seed)
    demand = {dim: _shape(model, dim, ts, rng) * peak for dim, peak in sorted(model.peak.items())}
    if model.use is not None:
        factor = use_factor(ts, model.use)
        demand.update({dim: demand[dim] * factor for dim in model.use_dims})
    return ts, demand


def _mask(model: DemandModel, ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    keep = np.ones(len(ts), bool)
    if model.history_days is not None:
        keep &= ts >= ts[-1] - model.history_days * 86400 + PERIOD
    if model.gap_fraction > 0:
        block = 3600 // PERIOD
        blocks = np.arange(0, len(ts), block)
        drop = rng.choice(len(blocks), size=int(round(model.gap_fraction * len(blocks))), replace=False)
        for b in blocks[drop]:
            keep[b : b + block] = False
    return keep


# A kind's `synthetic` turns the true demand into its queries' values (None: the metric would
# not exist, e.g. no CloudWatch agent).
Synth = Callable[[MetricQuery], "np.ndarray | None"]


@functools.cache
def _default_specs() -> SpecCatalog:
    """The committed catalog, read once (the simulated account generates every resource with it)."""
    return SpecCatalog.load()


def generate(
    resource: Resource, model: DemandModel, start: int, end: int, seed: int = 0, specs: SpecCatalog | None = None
) -> dict[MetricQuery, Series]:
    """Series for every metric query of `resource` (absent where the metric would not exist,
    e.g. no CloudWatch agent), with the model's data defects applied."""
    specs = specs or _default_specs()
    ts, d = true_demand(model, start, end, seed)
    rng = np.random.default_rng(seed + 1)
    keep = _mask(model, ts, rng)
    for v in d.values():  # a trace that does not cover the window leaves the rest without data
        keep &= ~np.isnan(v)
    kind = get(resource.kind)
    synth = kind.synthetic(resource, d, len(ts), specs, model)
    out = {}
    for q in kind.queries(resource):
        values = synth(q)
        if values is None:
            continue
        values = np.asarray(values, float)[keep]
        out[q] = Series(resource.region, q, ts[keep], np.nan_to_num(values))
    return out


def load_trace(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A `timestamp,value` CSV (Numenta NAB realAWSCloudwatch format, UTC) -> (epoch s, values)."""
    ts, vals = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            t = datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            ts.append(int(t.timestamp()))
            vals.append(float(row["value"]))
    return np.asarray(ts, np.int64), np.asarray(vals, float)


def regular(ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A trace on a regular 5-minute grid from its first to last point, NaN where it has no sample."""
    grid = np.full(int((ts[-1] - ts[0]) // PERIOD) + 1, np.nan)
    grid[((ts - ts[0]) // PERIOD).astype(int)] = values
    return grid
