"""Collection: inventory every region, fetch each resource's metric set, write a snapshot.

`collect(...)` is what `python -m analysis collect` runs; `coverage(series, start, end)` is
the measure of missing data the sizing stage turns into confidence.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from analysis.model import Resource, Series

DAY = 86_400
MIN_DAYS, MAX_DAYS, DEFAULT_DAYS = 1, 455, 45  # 455 days: CloudWatch's longest retention (1-hour data)
BASE_PERIOD = 300  # 5-minute series: what the sizing percentiles are computed from


# --- coverage ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How much of the requested window a series (or a resource's series) actually covers."""

    days_requested: int
    days_with_data: int
    gaps: int  # maximal runs of missing periods, the leading and trailing ones included
    datapoints: int
    expected_datapoints: int

    @property
    def fraction(self) -> float:
        return self.datapoints / self.expected_datapoints if self.expected_datapoints else 0.0

    @property
    def flag(self) -> str:
        """ "none" (no datapoint), "partial" (days missing or gaps) or "complete"."""
        if self.datapoints == 0:
            return "none"
        return "complete" if self.gaps == 0 and self.days_with_data >= self.days_requested else "partial"

    def as_dict(self) -> dict[str, Any]:
        return {
            "days_requested": self.days_requested,
            "days_with_data": self.days_with_data,
            "gaps": self.gaps,
            "datapoints": self.datapoints,
            "expected_datapoints": self.expected_datapoints,
            "fraction": round(self.fraction, 4),
            "flag": self.flag,
        }


def coverage(series: Series, start: int, end: int) -> Coverage:
    """Coverage of one series over [start, end) at its query's period."""
    period = series.query.period
    ts = np.asarray(series.timestamps, dtype=np.int64)
    ts = ts[(ts >= start) & (ts < end)]
    expected = max(1, math.ceil((end - start) / period))
    days_requested = max(1, math.ceil((end - start) / DAY))
    if len(ts) == 0:
        return Coverage(days_requested, 0, 1, 0, expected)
    slots = np.unique((ts - start) // period)
    gaps = int(np.count_nonzero(np.diff(slots) > 1)) + int(slots[0] > 0) + int(slots[-1] < expected - 1)
    days = int(np.unique((ts - start) // DAY).size)
    return Coverage(days_requested, days, gaps, int(len(ts)), expected)


def resource_coverage(series: Sequence[Series], start: int, end: int) -> dict[str, Any]:
    """A resource's coverage: that of its best-covered series, plus how many series had any data.

    Some series are legitimately absent (agent memory, NLB flows without traffic); the best
    series says whether the resource itself reported for the whole window.
    """
    covs = [coverage(s, start, end) for s in series]
    with_data = [c for c in covs if c.datapoints]
    best = max(with_data, key=lambda c: (c.datapoints, -c.gaps), default=None)
    days_requested = max(1, math.ceil((end - start) / DAY))
    base = best.as_dict() if best else Coverage(days_requested, 0, 1, 0, 1).as_dict()
    base.update(series=len(covs), series_with_data=len(with_data), datapoints=sum(c.datapoints for c in covs))
    return base


def resource_key(r: Resource) -> str:
    """`region/kind/id`, prefixed by `account/` when the resource carries one."""
    key = f"{r.region}/{r.kind}/{r.resource_id}"
    return f"{r.account}/{key}" if r.account else key


# --- the run ------------------------------------------------------------------------------


@dataclass
class CollectResult:
    resources: list[Resource]
    usage: Any  # analysis.sources.cloudwatch.ApiUsage (imported lazily)
    coverage: dict[str, dict[str, Any]]  # resource_key -> resource_coverage
    messages: list[str]
    regions: list[str]
    unreachable_regions: list[str]
    start: int
    end: int
    period: int
    anything: bool  # at least one (region, kind) inventoried
    files: list[str] = field(default_factory=list)

    def report(self) -> dict[str, Any]:
        """What the JSON report records about collection."""
        flags: dict[str, int] = {}
        for c in self.coverage.values():
            flags[c["flag"]] = flags.get(c["flag"], 0) + 1
        return {
            "regions": self.regions,
            "unreachable_regions": self.unreachable_regions,
            "window": {
                "start": self.start,
                "end": self.end,
                "days": (self.end - self.start) // DAY,
                "period": self.period,
            },
            "resources": len(self.resources),
            "excluded": sum(1 for r in self.resources if r.excluded),
            "managed": sum(1 for r in self.resources if r.managed),
            "coverage_flags": dict(sorted(flags.items())),
            "api_usage": self.usage.as_dict(),
            "messages": self.messages,
        }


def window(days: int, now: float) -> tuple[int, int, int]:
    """(start, end, period): end aligned to the period; 300 s unless retention demands 3600 s."""
    from analysis.sources.cloudwatch import required_period

    # aligning `end` down ages the start by less than one period (<= 3600 s)
    period = max(BASE_PERIOD, required_period(int(now) - days * DAY - 3600, int(now)))
    end = int(now) // period * period
    return end - days * DAY, end, period


def parts_dir(output: str | Path) -> Path:
    """Where a collection streams its batches: `metrics.parquet` -> `metrics.parquet.parts/`."""
    return Path(f"{output}.parts")


PART_COVERAGE = "rightsize.coverage"  # part metadata: JSON {resource key: coverage} of its batch


def _part_path(root: Path, account: str, region: str, position: int) -> Path:
    """Hive-style `[account=<id>/]region=<r>/part-<first resource's position>.parquet`: sorted
    paths are the resources' order, stable across a resumed run."""
    folder = root / (f"account={account}" if account else "") / f"region={region}"
    return folder / f"part-{position:06d}.parquet"


def _resumed(root: Path) -> tuple[dict[str, dict[str, Any]], tuple[int, int, int] | None]:
    """Coverage of every resource already on disk and the window those parts were collected for."""
    import pyarrow.parquet as pq

    cov: dict[str, dict[str, Any]] = {}
    win = None
    for f in sorted(root.rglob("part-*.parquet")):
        try:
            meta = {k.decode(): v.decode() for k, v in (pq.read_metadata(f).metadata or {}).items()}
            cov.update(json.loads(meta[PART_COVERAGE]))
            win = (int(meta["window_start"]), int(meta["window_end"]), int(meta["period"]))
        except (OSError, KeyError, ValueError):
            f.unlink()  # a part cut short by the crash: its batch is collected again
    return cov, win


@dataclass(frozen=True)
class RegionJob:
    """The metrics of one account's resources in one region."""

    account: str  # "" in a single-account run
    region: str
    resources: list[Resource]
    done: frozenset[str] = frozenset()  # resource keys already on disk (a resumed run)


@dataclass
class RegionResult:
    coverage: dict[str, dict[str, Any]]
    messages: list[str]
    usage: dict[str, int]  # ApiUsage counters


USAGE_COUNTERS: tuple[str, ...] = ("calls", "planned_calls", "minimum_calls", "metrics_requested", "series")
USAGE_COUNTERS += ("datapoints", "throttled", "incomplete_series")


def collect_region(
    connector,
    job: RegionJob,
    root: Path,
    win: tuple[int, int, int],
    batch_size: int,
    max_workers: int = 4,
    progress: Callable[[str, int, int], None] | None = None,
) -> RegionResult:
    """Fetch a job's resources a batch at a time, each batch written at once as a part under `root`."""
    from analysis import registry
    from analysis.scale.batches import batches
    from analysis.sources.aws import is_unreachable
    from analysis.sources.cloudwatch import CloudWatchError, CloudWatchSource
    from analysis.sources.snapshot import SnapshotWriter

    start, end, period = win
    kinds = registry.kinds()
    source = CloudWatchSource(connector, max_workers=max_workers, progress=progress, now=lambda: end)
    local = sorted(job.resources, key=lambda r: (r.kind, r.resource_id))
    position = {resource_key(r): i for i, r in enumerate(local)}
    cov: dict[str, dict[str, Any]] = {}
    messages: list[str] = []
    meta = {"window_start": start, "window_end": end, "period": period}
    try:
        for batch in batches([r for r in local if resource_key(r) not in job.done], batch_size):
            per_resource = {resource_key(r): kinds[r.kind].queries(r, period=period) for r in batch}
            got = source.fetch(job.region, [q for qs in per_resource.values() for q in qs], start, end)
            batch_cov = {k: resource_coverage([got[q] for q in qs], start, end) for k, qs in per_resource.items()}
            part = _part_path(root, job.account, job.region, position[resource_key(batch[0])])
            with SnapshotWriter(
                part, {**meta, PART_COVERAGE: json.dumps(batch_cov, sort_keys=True)}, accounts=bool(job.account)
            ) as w:
                w.write([(k, [replace(got[q], account=job.account) for q in qs]) for k, qs in per_resource.items()])
            cov.update(batch_cov)
    except CloudWatchError as e:
        messages.append(f"{job.region}: metrics skipped: {e}")
    except Exception as e:
        if not is_unreachable(e):
            raise
        messages.append(f"{job.region}: CloudWatch unreachable, metrics skipped ({type(e).__name__})")
    return RegionResult(cov, messages + source.messages, {k: getattr(source.usage, k) for k in USAGE_COUNTERS})


def collect(
    connector,
    regions: Sequence[str],
    days: int = DEFAULT_DAYS,
    tag_filters: Sequence[tuple[str, str]] = (),
    stacks_dir: str | Path = "cdktf.out/stacks",
    output: str | Path | None = None,
    max_workers: int = 4,
    now: float | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    *,
    accounts: Sequence[tuple[str, Any]] = (),
    batch_size: int = 0,
    resume: bool = False,
    client: Any = None,
) -> CollectResult:
    """Inventory + metrics for every account and region; faults are isolated per kind / region.

    Series are fetched a batch of resources at a time and each batch is written at once as a
    part under `parts_dir(output)`, so memory holds one batch and a crash loses at most the
    batch in flight: with `resume` the parts on disk are kept (and their window reused) and
    only the missing resources are collected. The parts become the snapshot at the end.
    `accounts` lists (account id, its connector) to collect instead of `connector`'s account;
    with a Dask `client` the (account, region) jobs run on its cluster.
    """
    import shutil
    import tempfile
    import time

    from analysis import inventory, tfmap
    from analysis.errors import AnalysisError
    from analysis.scale.batches import DEFAULT_BATCH
    from analysis.sources.cloudwatch import ApiUsage

    batch_size = batch_size or DEFAULT_BATCH
    now = time.time() if now is None else now
    with ExitStack() as stack:
        root = parts_dir(output) if output is not None else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        if output is not None and root.exists() and not resume:
            shutil.rmtree(root)
        done, resumed_window = _resumed(root) if root.exists() else ({}, None)
        start, end, period = resumed_window or window(days, now)
        messages: list[str] = []
        if done:
            messages.append(f"resumed: {len(done)} resources already collected in {root}")
        try:
            sizing_keys = tfmap.load_sizing_keys(stacks_dir)
        except tfmap.StackError as e:
            raise AnalysisError(str(e)) from None
        if not sizing_keys:
            messages.append(
                f"no synthesized stack with a sizing_keys output under {stacks_dir}: every resource is unmanaged"
            )
        usage = ApiUsage()
        resources: list[Resource] = []
        unreachable: list[str] = []
        anything = False
        cov: dict[str, dict[str, Any]] = dict(done)
        targets = list(accounts) or [("", connector)]
        jobs: list[RegionJob] = []
        results: list[RegionResult] = []
        for account, conn in targets:
            say = (lambda m, a=account: f"{a}: {m}") if account else (lambda m: m)
            inv = inventory.discover(conn, regions, tag_filters, sizing_keys)
            messages += [say(m) for m in inv.messages]
            anything |= inv.anything
            found = [replace(r, account=account) for r in inv.resources]
            resources += found
            unreachable += [say(r) for r in inv.unreachable_regions]
            for region in regions:
                if region in inv.unreachable_regions:
                    continue
                local = [r for r in found if r.region == region]
                jobs.append(RegionJob(account, region, local, frozenset(done) & {resource_key(r) for r in local}))
            if client is None:
                for job in jobs[len(results) :]:
                    results.append(
                        collect_region(conn, job, root, (start, end, period), batch_size, max_workers, progress)
                    )
        if client is not None:
            from analysis.scale.cluster import collect_on

            results = collect_on(client, dict(targets), jobs, root, (start, end, period), batch_size, max_workers)
        for job, got in zip(jobs, results):
            say = (lambda m, a=job.account: f"{a}: {m}") if job.account else (lambda m: m)
            cov.update(got.coverage)
            messages += [say(m) for m in got.messages]
            usage.add(**got.usage)
        for r in resources:
            c = cov.get(resource_key(r))
            if c and c["flag"] != "complete":
                messages.append(
                    f"{r.account + ': ' if r.account else ''}{r.region}: {r.kind} {r.resource_id}: metrics {c['flag']} "
                    f"({c['days_with_data']}/{c['days_requested']} days, {c['gaps']} gaps, "
                    f"{c['datapoints']} datapoints)"
                )
        result = CollectResult(
            resources, usage, cov, messages, list(regions), unreachable, start, end, period, anything
        )
        if output is not None and result.anything:
            write(result, output, sorted(root.rglob("part-*.parquet")))
            shutil.rmtree(root, ignore_errors=True)
    return result


def write(result: CollectResult, output: str | Path, parts: Sequence[Path]) -> None:
    """The snapshot (the parts joined, in resource order), then the inventory beside it (each atomically)."""
    from analysis.inventory import inventory_path, save_inventory
    from analysis.sources.snapshot import SnapshotWriter

    meta = {"window_start": result.start, "window_end": result.end, "period": result.period}
    with SnapshotWriter(output, meta, accounts=any(r.account for r in result.resources)) as w:
        for part in parts:
            w.append_file(part)
    inv_path = inventory_path(output)
    save_inventory(inv_path, result.resources, window=meta, coverage=result.coverage, collection=result.report())
    result.files = [str(output), str(inv_path)]


def summary_lines(result: CollectResult) -> list[str]:
    by_kind: dict[str, int] = {}
    for r in result.resources:
        by_kind[r.kind] = by_kind.get(r.kind, 0) + 1
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(by_kind.items())) or "none"
    rep = result.report()
    lines = [
        f"resources: {len(result.resources)} ({kinds}); {rep['managed']} managed, "
        f"{len(result.resources) - rep['managed']} unmanaged, {rep['excluded']} excluded (CriticalPath)",
        f"window: {(result.end - result.start) // DAY} days at {result.period} s; coverage "
        + ", ".join(f"{n} {flag}" for flag, n in rep["coverage_flags"].items()),
        result.usage.summary(),
    ]
    lines += [f"wrote {f}" for f in result.files]
    return lines
