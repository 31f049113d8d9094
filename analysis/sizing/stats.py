"""Demand statistics from 5-minute CloudWatch series: alignment, percentiles, coverage.

Percentiles are computed here from the 5-minute Maximum (or Average) series, because
CloudWatch percentiles are not available for every namespace (ElastiCache, NLB) and need raw
samples. The percentile uses the `higher` method: always an observed value, never interpolated
below one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from analysis.model import MetricQuery, Series
from analysis.sizing.policy import DimensionPolicy, Window


def find(series: Mapping[MetricQuery, Series], metric: str, stat: str, **dims: str) -> list[Series]:
    """Non-empty series of `metric`/`stat` whose dimensions include `dims`, in stable order."""
    out = []
    for q, s in sorted(series.items(), key=lambda kv: (kv[0].dimensions, kv[0].namespace)):
        d = dict(q.dimensions)
        if q.metric_name == metric and q.stat == stat and all(d.get(k) == v for k, v in dims.items()) and len(s.values):
            out.append(s)
    return out


def aligned(parts: Sequence[Series]) -> tuple[np.ndarray, np.ndarray]:
    """Union of timestamps and a (len(parts), n) matrix of values, NaN where a part has no point."""
    if not parts:
        return np.empty(0, np.int64), np.empty((0, 0))
    ts = np.unique(np.concatenate([np.asarray(p.timestamps, np.int64) for p in parts]))
    out = np.full((len(parts), len(ts)), np.nan)
    for i, p in enumerate(parts):
        idx = np.searchsorted(ts, np.asarray(p.timestamps, np.int64))
        out[i, idx] = np.asarray(p.values, float)
    return ts, out


def combine(parts: Sequence[Series], how: str = "sum", require_all: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Per-timestamp sum or max over parts. With require_all, a timestamp missing from any part
    is dropped (ReadIOPS + WriteIOPS must both be there); otherwise missing parts are skipped."""
    ts, m = aligned(parts)
    if not len(ts):
        return ts, np.empty(0)
    present = ~np.isnan(m)
    keep = present.all(axis=0) if require_all else present.any(axis=0)
    m = m[:, keep]
    with np.errstate(all="ignore"):
        vals = np.nansum(m, axis=0) if how == "sum" else np.nanmax(m, axis=0)
    return ts[keep], vals


@dataclass(frozen=True, eq=False)
class Demand:
    """One sizing dimension's demand series and its statistics (units: `unit`)."""

    name: str
    unit: str
    timestamps: np.ndarray
    values: np.ndarray
    policy: DimensionPolicy
    period: int = 300

    @property
    def n(self) -> int:
        return int(len(self.values))

    @property
    def pct(self) -> float | None:
        return float(np.percentile(self.values, self.policy.percentile, method="higher")) if self.n else None

    @property
    def p100(self) -> float | None:
        return float(self.values.max()) if self.n else None

    @property
    def target(self) -> float | None:
        """Capacity this dimension needs: percentile plus headroom, and p100 plus peak headroom."""
        pct, p100 = self.pct, self.p100
        if pct is None or p100 is None:
            return None
        t = pct * (1 + self.policy.headroom)
        if self.policy.peak_headroom is not None:
            t = max(t, p100 * (1 + self.policy.peak_headroom))
        return max(t, 0.0)

    @property
    def cv(self) -> float:
        """Coefficient of variation (std / mean); 0 for a flat or empty series."""
        if self.n < 2:
            return 0.0
        mean = float(np.mean(self.values))
        return float(np.std(self.values)) / mean if mean > 0 else 0.0

    def coverage(self, window: Window) -> float:
        """Fraction of the requested window's 5-minute samples present (days with data, counted
        by the share of each day's samples present)."""
        expected = max(1, math.floor(window.seconds / self.period))
        inside = (self.timestamps >= window.start) & (self.timestamps < window.end)
        return min(1.0, int(np.count_nonzero(inside)) / expected)

    def days_with_data(self) -> int:
        return int(len(np.unique(self.timestamps // 86400))) if self.n else 0


def demand(
    name: str, unit: str, ts: np.ndarray, values: np.ndarray, policy: DimensionPolicy, period: int = 300
) -> Demand:
    values = np.asarray(values, float)
    ok = np.isfinite(values)
    return Demand(name, unit, np.asarray(ts, np.int64)[ok], np.clip(values[ok], 0, None), policy, period)


def from_series(
    name: str,
    unit: str,
    parts: Iterable[Series],
    policy: DimensionPolicy,
    scale: float = 1.0,
    how: str = "sum",
    require_all: bool = False,
) -> Demand:
    parts = list(parts)
    ts, vals = combine(parts, how, require_all)
    period = parts[0].query.period if parts else 300
    return demand(name, unit, ts, vals * scale, policy, period)
