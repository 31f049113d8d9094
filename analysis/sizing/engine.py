"""The sizing entry point of `make analyze`:

    ctx = SizingContext.default(start, end)            # or SizingContext(Window(...), specs, prices, ...)
    recs = analyse(resources, source_or_series, ctx)   # sorted by (region, kind, resource_id)
    rows = totals(records(recs, env))                  # analysis.report.records: per tier + total

`source_or_series` is a MetricsSource (CloudWatch or a Parquet snapshot: `fetch(region, queries,
start, end)`) or any iterable / mapping of Series (each Series carries its region).
Recommendations with status "emitted" are the ones that become tfvars.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from analysis.model import MetricQuery, Recommendation, Resource, Series
from analysis.registry import get
from analysis.sizing.policy import SizingContext


def _index(series: Iterable[Series] | Mapping[Any, Series]) -> dict[tuple[str, MetricQuery], Series]:
    items = series.values() if isinstance(series, Mapping) else series
    return {(s.region, s.query): s for s in items}


def analyse(resources: Sequence[Resource], source_or_series: Any, ctx: SizingContext) -> list[Recommendation]:
    ctx = replace(ctx, peers={**ctx.peers, **{(r.region, r.resource_id): r for r in resources}})
    ordered = sorted(resources, key=lambda r: (r.region, r.kind, r.resource_id))
    index = None if hasattr(source_or_series, "fetch") else _index(source_or_series)
    out = []
    for r in ordered:
        kind = get(r.kind)
        queries = kind.queries(r)
        if index is None:
            fetched = source_or_series.fetch(r.region, queries, ctx.window.start, ctx.window.end)
        else:
            fetched = {q: index[(r.region, q)] for q in queries if (r.region, q) in index}
        out.append(kind.size(r, fetched, ctx))
    return out
