"""The sizing entry point of `make analyze`:

    ctx = SizingContext.default(start, end)            # or SizingContext(Window(...), specs, prices, ...)
    recs = analyse(resources, source_or_series, ctx)   # sorted by (region, kind, resource_id)
    rows = totals(records(recs, env))                  # analysis.report.records: per tier + total

`source_or_series` is a MetricsSource (CloudWatch or a Parquet snapshot: `fetch(region, queries,
start, end)`) or any iterable / mapping of Series (each Series carries its region).
Recommendations with status "emitted" are the ones that become tfvars.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from analysis.model import MetricQuery, Recommendation, Resource, Series
from analysis.registry import get
from analysis.sizing.policy import SizingContext

Fetch = Callable[[str, Sequence[MetricQuery]], dict[MetricQuery, Series]]


def fetcher(source_or_series: Any, start: int, end: int) -> Fetch:
    """(region, queries) -> the series found over [start, end): from a MetricsSource, or from
    Series already in hand (indexed once by region and query)."""
    if hasattr(source_or_series, "fetch"):
        return lambda region, queries: source_or_series.fetch(region, queries, start, end)
    items: Iterable[Series] = source_or_series.values() if isinstance(source_or_series, Mapping) else source_or_series
    index = {(s.region, s.query): s for s in items}
    return lambda region, queries: {q: index[(region, q)] for q in queries if (region, q) in index}


def analyse(resources: Sequence[Resource], source_or_series: Any, ctx: SizingContext) -> list[Recommendation]:
    ctx = replace(ctx, peers={**ctx.peers, **{(r.region, r.resource_id): r for r in resources}})
    fetch = fetcher(source_or_series, ctx.window.start, ctx.window.end)
    out = []
    for r in sorted(resources, key=lambda r: (r.region, r.kind, r.resource_id)):
        kind = get(r.kind)
        out.append(kind.size(r, fetch(r.region, kind.queries(r)), ctx))
    return out
