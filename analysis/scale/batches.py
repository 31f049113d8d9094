"""Size resources a batch at a time: read a batch's series, validate them, size, drop them.

    for batch in batches(resources, size):
        result = size_batch(batch, source, ctx, now=now, declared=source_window)

Peak memory is one batch of raw series (plus the snapshot's cached row groups); what a
Recommendation keeps for charts is downsampled to the chart's own resolution, so the charts
are unchanged. A resource with a rejected series is quarantined: not sized, its status and
reason say why (analysis/sources/validate.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from analysis.collect import resource_key
from analysis.enums import Risk, RolloutMethod, Status
from analysis.model import MetricQuery, Recommendation, Resource, Series
from analysis.sizing.policy import SizingContext
from analysis.sources.validate import Rejection, check

DEFAULT_BATCH = 64  # resources per batch: ~64 x 20 series x 12,960 points ~ 270 MiB of raw series
ALL_TIME = 1 << 62  # epoch seconds: wider than any timestamp a snapshot can hold


def order(resources: Sequence[Resource]) -> list[Resource]:
    """The order every report uses (and a resource-major snapshot is written in)."""
    return sorted(resources, key=lambda r: (r.account, r.region, r.kind, r.resource_id))


def batches(resources: Sequence[Resource], size: int = DEFAULT_BATCH) -> Iterator[list[Resource]]:
    if size < 1:
        raise ValueError(f"batch size must be >= 1, got {size}")
    ordered = order(resources)
    for i in range(0, len(ordered), size):
        yield ordered[i : i + size]


def queries_of(resource: Resource) -> list[MetricQuery]:
    from analysis.registry import get

    return get(resource.kind).queries(resource)


def fetch(source: Any, resource: Resource, start: int, end: int) -> dict[MetricQuery, Series]:
    """One resource's series. From a snapshot, every stored datapoint (by the resource's row range
    when the file is indexed): a row outside [start, end) is evidence of bad data, so validation
    must see it; `within` then cuts the series to the window. CloudWatch is asked for the window."""
    queries = queries_of(resource)
    if hasattr(source, "for_account"):  # analysis.scale.accounts.PerAccount
        source = source.for_account(resource.account)
    if hasattr(source, "fetch_resource"):
        key = resource_key(resource)
        return source.fetch_resource(key, resource.region, queries, -ALL_TIME, ALL_TIME, resource.account)
    return source.fetch(resource.region, queries, start, end)


def within(series: Mapping[MetricQuery, Series], start: int, end: int) -> dict[MetricQuery, Series]:
    out = {}
    for q, s in series.items():
        lo, hi = np.searchsorted(s.timestamps, start, "left"), np.searchsorted(s.timestamps, end, "left")
        out[q] = replace(s, timestamps=s.timestamps[lo:hi], values=s.values[lo:hi])
    return out


@dataclass
class BatchResult:
    recommendations: list[Recommendation]
    rejections: dict[str, list[Rejection]] = field(default_factory=dict)  # resource key -> its rejected series


def quarantine(rec: Recommendation, rejected: Sequence[Rejection]) -> Recommendation:
    """The resource's answer without its metrics, turned into "not sized, and why"."""
    first = rejected[0]
    reason = (
        f"quarantined: {len(rejected)} metric series rejected, not sized (first: {first.metric_name} "
        f"{first.stat}: {first.reason}, {first.detail})"
    )
    return replace(
        rec,
        changes=(),
        confidence=0.0,
        status=Status.QUARANTINED,
        reason=reason,
        risk=Risk.HIGH,
        evidence={"rejected_series": [r.line() for r in rejected]},
        cost_proposed=rec.cost_current,
        rollout=RolloutMethod.NONE,
        demand={},
    )


def size_batch(
    resources: Sequence[Resource],
    source: Any,
    ctx: SizingContext,
    *,
    now: int,
    declared: tuple[int, int] | None = None,
) -> BatchResult:
    """Size one batch. `ctx.peers` should already hold every resource of the run (replicas look
    up their primary); `declared` is the window the data claims to cover (a snapshot's metadata)."""
    from analysis.registry import get
    from analysis.report.charts import MAX_POINTS, downsample_max

    start, end = ctx.window.start, ctx.window.end
    recs, rejections = [], {}
    for r in resources:
        series = fetch(source, r, start, end)
        rejected = [x for x in (check(s, now=now, window=declared) for s in series.values()) if x is not None]
        kind = get(r.kind)
        if rejected:
            rejections[resource_key(r)] = rejected
            recs.append(quarantine(kind.size(r, {}, ctx), rejected))
            continue
        rec = kind.size(r, within(series, start, end), ctx)
        # the chart's own downsampling, done now: charts are unchanged and the raw series can go
        recs.append(replace(rec, demand={d: downsample_max(ts, v, MAX_POINTS) for d, (ts, v) in rec.demand.items()}))
    if hasattr(source, "drop_cache"):
        source.drop_cache()
    return BatchResult(recs, rejections)


def size_all(
    resources: Sequence[Resource],
    source: Any,
    ctx: SizingContext,
    *,
    now: int,
    declared: tuple[int, int] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> BatchResult:
    """Every batch in one process, in report order."""
    ctx = with_peers(ctx, resources)
    out = BatchResult([])
    for batch in batches(resources, batch_size):
        got = size_batch(batch, source, ctx, now=now, declared=declared)
        out.recommendations += got.recommendations
        out.rejections.update(got.rejections)
    return out


def with_peers(ctx: SizingContext, resources: Sequence[Resource]) -> SizingContext:
    peers: Mapping[tuple[str, str], Resource] = {**ctx.peers, **{(r.region, r.resource_id): r for r in resources}}
    return replace(ctx, peers=peers)


def write_by_resource(
    path: Any,
    resources: Sequence[Resource],
    series_of: Any,
    metadata: Mapping[str, Any] | None = None,
    *,
    batch_size: int = DEFAULT_BATCH,
) -> int:
    """A resource-major snapshot: `series_of(resource)` is called one batch at a time, so only a
    batch of series is ever in memory. Returns the rows written."""
    from analysis.sources.snapshot import SnapshotWriter

    with SnapshotWriter(path, metadata, accounts=any(r.account for r in resources)) as w:
        for batch in batches(resources, batch_size):
            # the resource's account goes on each of its series (a column of a multi-account snapshot)
            w.write([(resource_key(r), [replace(s, account=r.account) for s in series_of(r)]) for r in batch])
        return w.rows


class ByResource:
    """A MetricsSource over a snapshot for callers that fetch one resource's queries at a time
    (the schedule stage): each fetch reads only the rows of the resource those queries belong to,
    never the whole snapshot."""

    def __init__(self, source: Any, resources: Sequence[Resource]):
        self.source = source
        self._owner = {(r.region, q): r for r in resources for q in queries_of(r)}

    def fetch(self, region: str, queries: Sequence[MetricQuery], start: int, end: int) -> dict[MetricQuery, Series]:
        owner = self._owner.get((region, queries[0])) if queries else None
        source = self.source
        if hasattr(source, "for_account"):  # analysis.scale.accounts.PerAccount
            source = source.for_account(owner.account if owner else "")
        if owner is None or not hasattr(source, "fetch_resource"):
            return source.fetch(region, queries, start, end)
        return source.fetch_resource(resource_key(owner), region, list(queries), start, end, owner.account)
