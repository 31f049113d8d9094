"""The main job: inventory -> metrics -> sizing -> schedule -> reports -> proposed (and applied) tfvars.

`python -m analysis run` (analysis/commands/run.py) parses flags into `RunOptions` and calls
`execute`. The account is prepared first (`Account`): AWS, or the simulated account
(analysis/sim/: a local moto server holding the synthesized stacks, with a generated 45-day
metrics snapshot); the stages then read it the same way whichever it is.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from analysis import report, risk, tfvars_io
from analysis.collect import DEFAULT_DAYS
from analysis.enums import Risk, RolloutMethod, Status, Target
from analysis.errors import AnalysisError, UsageError
from analysis.inventory import discover, inventory_path, load_inventory, matches, save_inventory
from analysis.model import MetricsSource, Recommendation, Resource
from analysis.pricing import live
from analysis.pricing.catalog import PriceCatalog
from analysis.report.charts import projected_svg, utilisation_svg
from analysis.report.plan import preview, terraform_version
from analysis.report.records import records as to_records
from analysis.scale import accounts
from analysis.scale.batches import DEFAULT_BATCH, BatchResult, ByResource, size_all, write_by_resource
from analysis.schedule import report as schedule_report
from analysis.schedule.analyse import analyse as analyse_schedule
from analysis.schedule.analyse import tfvars_updates as schedule_tfvars
from analysis.schedule.detect import DetectionPolicy
from analysis.schedule.profile import WeeklyProfile
from analysis.schedule.propose import EnvironmentProposal, SchedulePolicy
from analysis.sim import account as sim_account
from analysis.sim.scenario import SIM_END, series
from analysis.sizing.policy import Options, Policy, SizingContext
from analysis.sources import open_source
from analysis.sources.aws import Connector
from analysis.sources.cloudwatch import CloudWatchSource
from analysis.sources.snapshot import SnapshotSource
from analysis.sources.validate import Rejection
from analysis.sources.validate import summary as summary_of_rejections
from analysis.tfmap import StackError, load_sizing_keys
from stacks.naming import DEFAULT_ENVIRONMENT, DEFAULT_REGIONS, PRODUCTION_ENVIRONMENTS

MAX_REJECTION_LINES = 20  # rejected series named one per line in the messages; the rest only counted


@dataclass(frozen=True)
class RunOptions:
    environment: str = DEFAULT_ENVIRONMENT
    regions: tuple[str, ...] = DEFAULT_REGIONS
    days: int = DEFAULT_DAYS
    confidence: float = 0.1  # below it a recommendation is reported, not written to tfvars
    max_risk: Risk | None = None  # above it too (None: every risk is emitted)
    apply: bool = False
    target: Target = Target.SIM
    profile: str | None = None
    endpoint_url: str | None = None
    metrics_snapshot: Path | None = None
    inventory: Path | None = None  # resources saved by `collect`: analyse offline, no discovery
    output: Path = Path("reports/staging")
    stacks_dir: Path = Path("cdktf.out/stacks")
    tfvars_root: Path = Path("tfvars")
    tags: tuple[tuple[str, str], ...] = ()
    pricing: str = "snapshot"
    percentile: float = 99.0  # demand percentile sized for
    headroom: float = 0.20  # above that percentile
    allow_architecture_switch: bool = False
    load_test: bool = False
    load_test_outputs: Path | None = None
    load_test_duration: str = "60s"
    schedule_timezone: str = "UTC"  # IANA zone off-hours schedules are detected and written in
    no_schedule_environments: tuple[str, ...] = PRODUCTION_ENVIRONMENTS  # never get a schedule
    strict: bool = False  # exit 1 when a metric series was rejected (its resource is quarantined)
    batch_size: int = DEFAULT_BATCH  # resources sized per batch: bounds the raw series held at once
    scheduler: str | None = None  # Dask scheduler address: size the batches on that cluster
    workers: int | None = None  # or on a local Dask cluster of this many worker processes
    accounts: tuple[str, ...] | str = ()  # account ids, or "organization"; () = the credentials' account
    role_name: str | None = None  # role assumed in each of --accounts

    def __post_init__(self) -> None:
        if self.batch_size < 1:
            raise UsageError(f"--batch-size must be >= 1; got {self.batch_size}")
        if self.workers is not None and self.workers < 1:
            raise UsageError(f"--workers must be >= 1; got {self.workers}")
        if self.scheduler is not None and self.workers is not None:
            raise UsageError("give --scheduler ADDRESS or --workers N, not both")
        if self.accounts and (self.role_name is None or self.target is not Target.AWS):
            raise UsageError("--accounts needs --role-name and --target aws")


@dataclass
class RunResult:
    recommendations: list[Recommendation]
    records: list[dict[str, Any]]
    written: list[Path]
    proposed: dict[Path, dict[str, Any]]  # tfvars file -> key address -> proposed value
    pending_rollout: list[dict[str, Any]]  # blue/green changes left to `analysis rollout`
    diff: str
    applied: list[Path] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    rejections: dict[str, list[Rejection]] = field(default_factory=dict)  # resource key -> its rejected series
    schedule: EnvironmentProposal | None = None  # the environment's off-hours schedule proposal


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Account:
    """What the stages read: the account's resources and its metrics, AWS or simulated alike."""

    connector: Connector  # discovery (unused when --inventory names saved resources)
    metrics: Callable[[list[Resource]], MetricsSource]  # the resources found -> their metrics (no --metrics-snapshot)
    end: int | None = None  # fixed end of the metrics window; None: now
    accounts: tuple[tuple[str, Connector], ...] = ()  # --accounts: (id, connector in it); () = `connector`'s


@contextmanager
def simulated_account(opts: RunOptions, progress: Callable[[str], None]) -> Iterator[Account]:
    """A moto server holding the synthesized stacks; their metrics are generated into a snapshot."""
    progress("analysing the SIMULATED account (no AWS call leaves this machine); use --target aws for a real one")
    with sim_account.running(opts.stacks_dir, list(opts.regions)) as (connector, url, created):
        progress(
            f"simulated account: moto server at {url} holds "
            f"{', '.join(f'{r} ({len(t)} stacks)' for r, t in created.items())}"
        )

        def metrics(resources: list[Resource]) -> MetricsSource:
            path = opts.output / "sim-metrics.parquet"
            meta = {"source": "simulated account workload model", "window_start": SIM_END - opts.days * 86400}
            meta.update(window_end=SIM_END, period=300)
            rows = write_by_resource(path, resources, lambda r: series([r], opts.days, SIM_END), meta)
            save_inventory(inventory_path(path), resources, source="simulated account")  # `run --inventory` reads it
            progress(f"simulated account: {rows:,} datapoints over {opts.days} days written to {path}")
            return open_source(path)

        yield Account(connector, metrics, end=SIM_END)


def aws_account(opts: RunOptions) -> Account:
    """Your account (or each of --accounts through --role-name) via --profile / --endpoint-url;
    metrics from CloudWatch."""
    connector = Connector.from_env(opts.profile, opts.endpoint_url)
    targets: tuple[tuple[str, Connector], ...] = ()
    if opts.accounts:
        ids = accounts.resolve(connector, opts.accounts)
        targets = tuple(accounts.connectors(connector, ids, str(opts.role_name), opts.regions[0]))

    def metrics(resources: list[Resource]) -> MetricsSource:
        if targets:
            return cast(MetricsSource, accounts.PerAccount({a: CloudWatchSource(c) for a, c in targets}))
        return open_source(profile=opts.profile, endpoint_url=opts.endpoint_url)

    return Account(connector, metrics, accounts=targets)


# --- the stages ---------------------------------------------------------------------------------
def inventory_stage(
    opts: RunOptions, account: Account, messages: list[str], progress: Callable[[str], None]
) -> list[Resource]:
    if opts.inventory is not None:
        resources = [
            r for r in load_inventory(opts.inventory) if r.region in opts.regions and matches(r.tags, opts.tags)
        ]
        progress(f"inventory: {len(resources)} resources from {opts.inventory} (saved, not rediscovered)")
        return resources
    try:
        sizing_keys = load_sizing_keys(opts.stacks_dir)
    except StackError as e:
        raise AnalysisError(str(e)) from None
    if not sizing_keys:
        messages.append(
            f"no synthesized stacks in {opts.stacks_dir}: every resource is reported as "
            f"unmanaged (run `make synth` to map resources to tfvars)"
        )
    found: list[Resource] = []
    anything = False
    for acct, connector in account.accounts or (("", account.connector),):
        inv = discover(connector, list(opts.regions), opts.tags, sizing_keys=sizing_keys)
        messages += [f"{acct}: {m}" if acct else m for m in inv.messages]
        anything |= inv.anything
        found += [replace(r, account=acct) for r in inv.resources] if acct else inv.resources
    if not anything:
        raise AnalysisError("no region could be inventoried: " + "; ".join(messages or ["nothing found"]))
    progress(
        f"inventory: {len(found)} resources in {', '.join(opts.regions)}"
        + (f" of {len(account.accounts)} accounts" if account.accounts else "")
        + f" ({sum(1 for r in found if r.excluded)} excluded as CriticalPath)"
    )
    return found


def metrics_stage(
    opts: RunOptions, account: Account, resources: list[Resource]
) -> tuple[MetricsSource, tuple[int, int], int]:
    """The metrics source (--metrics-snapshot, else the account's), the [start, end) window it is
    read over (the snapshot's declared window or last datapoint, the account's fixed end, or now;
    never after the clock) and the clock itself (no datapoint may be later)."""
    clock = account.end if account.end is not None else int(time.time())
    if opts.metrics_snapshot is not None:
        source = open_source(opts.metrics_snapshot)
        end = cast(SnapshotSource, source).window_end(now=max(clock, int(time.time())))
    else:
        source = account.metrics(resources)
        end = clock // 300 * 300
    return source, (end - opts.days * 86400, end), max(clock, int(time.time()))


def sizing_stage(
    opts: RunOptions,
    resources: list[Resource],
    source: MetricsSource,
    window: tuple[int, int],
    clock: int,
    messages: list[str],
    progress: Callable[[str], None],
) -> tuple[BatchResult, PriceCatalog]:
    """The recommendations (sized a batch at a time; resources with rejected metrics quarantined)
    and the prices they were costed with."""
    try:
        prices, notes = live.load(opts.pricing, regions=list(opts.regions))
    except live.PricingUnavailable as e:
        raise AnalysisError(f"--pricing live: {e}") from None
    messages += notes[1:]
    ctx = SizingContext.default(
        *window,
        prices=prices,
        confidence_threshold=opts.confidence,
        policy=Policy.uniform(opts.percentile, opts.headroom),
        options=Options(allow_architecture_switch=opts.allow_architecture_switch),
    )
    declared = source.declared_window() if isinstance(source, SnapshotSource) else None
    if opts.scheduler is not None or opts.workers is not None:
        if not isinstance(source, SnapshotSource):
            raise UsageError("--scheduler/--workers size from a metrics snapshot: add --metrics-snapshot")
        from analysis.scale.cluster import cluster_client, size_on

        with cluster_client(opts.scheduler, opts.workers) as client:
            got = size_on(client, resources, source.path, ctx, now=clock, declared=declared, batch_size=opts.batch_size)
    else:
        got = size_all(resources, source, ctx, now=clock, declared=declared, batch_size=opts.batch_size)
    got = replace(got, recommendations=[risk.apply(r, opts.max_risk) for r in got.recommendations])
    if hasattr(source, "usage"):
        progress(f"CloudWatch: {source.usage.summary()}")
    rejected = [r for rs in got.rejections.values() for r in rs]
    if rejected:
        messages.append(
            f"metrics: {summary_of_rejections(rejected)}; {len(got.rejections)} resources quarantined (not sized)"
        )
        messages += [f"rejected: {r.line()}" for r in rejected[:MAX_REJECTION_LINES]]
        if len(rejected) > MAX_REJECTION_LINES:
            messages.append(
                f"rejected: {len(rejected) - MAX_REJECTION_LINES} more (each quarantined record lists its own)"
            )
    progress(f"sizing: {sum(r.status == 'emitted' for r in got.recommendations)} changes emitted")
    return got, prices


def schedule_stage(
    opts: RunOptions,
    recs: list[Recommendation],
    source: MetricsSource,
    window: tuple[int, int],
    prices: PriceCatalog,
    progress: Callable[[str], None],
) -> tuple[EnvironmentProposal, dict[str, WeeklyProfile]]:
    """The environment's off-hours schedule, from the same metrics, priced on the sized configuration."""
    policy = SchedulePolicy(
        detection=DetectionPolicy(timezone=opts.schedule_timezone),
        excluded_environments=opts.no_schedule_environments,
    )
    proposal, profiles = analyse_schedule(opts.environment, recs, source, *window, prices, policy)
    progress(f"schedule: {proposal.reason}")
    return proposal, profiles


def reports_stage(
    opts: RunOptions,
    sized: BatchResult,
    source: MetricsSource,
    window: tuple[int, int],
    prices_as_of: str,
    messages: list[str],
    schedule: tuple[EnvironmentProposal, dict[str, WeeklyProfile]],
) -> RunResult:
    recs = sized.recommendations
    records = to_records(recs, opts.environment)
    files, pending = proposals(records, opts.tfvars_root, opts.environment)
    proposal, profiles = schedule
    for path, updates in schedule_tfvars(proposal, opts.tfvars_root, opts.environment).items():
        files.setdefault(path, {}).update(updates)
    files = dict(sorted(files.items()))
    proposed_files, diff = _proposed_files(opts, files)
    meta = _meta(opts, *window, prices_as_of, getattr(source, "usage", None), messages)
    outputs = report.render(
        records,
        meta,
        _charts(recs, opts.percentile),
        preview(records, opts.stacks_dir),
        diff,
        schedule_report.material(proposal, profiles),
    )
    outputs.update(proposed_files)
    written = report.write(opts.output, outputs)
    return RunResult(
        recs, records, written, files, pending, diff, messages=messages, schedule=proposal, rejections=sized.rejections
    )


def execute(opts: RunOptions, progress: Callable[[str], None] = _say) -> RunResult:
    if opts.load_test:
        _load_test(opts, progress)
    prepared = simulated_account(opts, progress) if opts.target is Target.SIM else nullcontext(aws_account(opts))
    with prepared as account:  # the simulated account's moto server stops once sizing has read it
        messages: list[str] = []
        resources = inventory_stage(opts, account, messages, progress)
        source, window, clock = metrics_stage(opts, account, resources)
        sized, prices = sizing_stage(opts, resources, source, window, clock, messages, progress)
        # quarantined resources get no schedule either; each resource's rows are read alone
        sized_ok = [r for r in sized.recommendations if r.status != Status.QUARANTINED]
        schedule = schedule_stage(opts, sized_ok, ByResource(source, resources), window, prices, progress)
    result = reports_stage(opts, sized, source, window, prices.as_of, messages, schedule)
    if opts.apply:
        result.applied = apply(result.proposed)
    return result


def _charts(recs: list[Recommendation], percentile: float) -> dict[str, list[str]]:
    """SVG per recommendation with a change: each sized dimension's demand, its percentile and its
    capacities, then its utilisation today beside its utilisation replayed on the proposed size."""
    out: dict[str, list[str]] = {}
    for rec in recs:
        if not rec.changes:
            continue
        dims = rec.evidence.get("dimensions", {})
        out[f"{rec.resource.region}/{rec.resource.resource_id}"] = [
            svg
            for dim, (ts, values) in sorted(rec.demand.items())
            if dim in dims
            for svg in (
                utilisation_svg(
                    dim,
                    dims[dim]["unit"],
                    ts,
                    values,
                    dims[dim].get("capacity_now"),
                    dims[dim].get("capacity_proposed"),
                    dims[dim].get(f"p{percentile:g}"),
                ),
                *(
                    [projected_svg(f"{dim} utilisation: today and replayed on the proposal", *rec.utilisation[dim])]
                    if dim in rec.utilisation
                    else []
                ),
            )
        ]
    return out


def proposals(
    records: list[dict[str, Any]], tfvars_root: Path, environment: str
) -> tuple[dict[Path, dict[str, Any]], list[dict[str, Any]]]:
    """tfvars file -> {key address: proposed value} for emitted managed changes, and the blue/green
    changes left to `analysis rollout` (it writes them after switchover)."""
    files: dict[Path, dict[str, Any]] = {}
    pending = []
    for rec in records:
        if rec["status"] != "emitted" or not rec["stack"]:
            continue
        if rec["rollout"] == RolloutMethod.BLUE_GREEN:  # `analysis rollout` writes these after switchover
            pending.append(rec)
            continue
        path = tfvars_io.override_file(tfvars_root, environment, rec["stack"])  # refuses ../ and non-stacks
        for ch in rec["changes"]:
            if ch["tfvars_key"]:
                files.setdefault(path, {})[ch["tfvars_key"]] = ch["proposed"]
    return dict(sorted(files.items())), pending


def _proposed_files(opts: RunOptions, files: dict[Path, dict[str, Any]]) -> tuple[dict[str, str], str]:
    """Report-relative path -> proposed file content, and the unified diff against the committed files."""
    written = tfvars_io.apply_all(files, dry_run=True)
    contents = {str(Path("tfvars") / opts.environment / w.path.name): w.content.decode() for w in written}
    return contents, "".join(w.diff for w in written)


def apply(files: dict[Path, dict[str, Any]]) -> list[Path]:
    """Write the owned keys into the committed tfvars: every file or none, under the tfvars
    directory's lock, previous copies kept for rollback (tfvars_io.apply_all)."""
    written = tfvars_io.apply_all(files)
    for w in written:
        print(w.diff, end="")
    return [w.path for w in written if w.changed]


def untracked(paths: list[Path]) -> list[Path] | None:
    """The paths git does not track yet (a reviewer must add them), or None outside a git work tree."""
    if not paths:
        return []
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all", "--", *map(str, paths)],
            cwd=paths[0].parent,
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    new = {line[3:].strip() for line in out.splitlines() if line.startswith("?? ")}
    return [p for p in paths if any(p.resolve().as_posix().endswith("/" + n) for n in new)]


def _meta(opts: RunOptions, start: int, end: int, as_of: str, usage: Any, messages: list[str]) -> dict[str, Any]:
    def day(t: int) -> str:
        return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d")

    return {
        "environment": opts.environment,
        "target": opts.target,
        "simulated": opts.target is Target.SIM,
        "regions": list(opts.regions),
        "window_days": opts.days,
        "window_start": day(start),
        "window_end": day(end),
        "confidence_threshold": opts.confidence,
        "pricing_as_of": as_of,
        "policy": {"percentile": opts.percentile, "headroom": opts.headroom},
        "collection": usage.as_dict() if usage is not None else None,  # CloudWatch only
        "terraform": terraform_version(),  # `make plan` can show Terraform's own plan
        "messages": sorted(messages),
    }


def _load_test(opts: RunOptions, progress: Callable[[str], None]) -> None:
    """Drive real traffic first so the metrics the analysis reads reflect it (loadtest/)."""
    if opts.load_test_outputs is None:
        raise UsageError("--load-test needs --outputs PATH (the file `cdktf output --outputs-file` writes)")
    out = opts.output / "loadtest"
    progress(f"load test: {opts.load_test_duration} against the endpoints in {opts.load_test_outputs}")
    import loadtest  # only --load-test needs it

    try:
        summary = loadtest.run(
            opts.load_test_outputs,
            duration_s=opts.load_test_duration,
            out_dir=out,
            endpoint_url=opts.endpoint_url,
            echo=False,
        )
    except loadtest.UsageError as e:
        raise UsageError(f"--load-test: {e}") from None
    except loadtest.LoadTestError as e:
        raise AnalysisError(f"load test: {e}") from None
    skipped = "; ".join(f"{t} skipped: {why}" for t, why in sorted(summary.skipped.items()))
    progress(
        f"load test: {summary.total_requests} requests, error rate {summary.error_rate:.2%} "
        f"({', '.join(summary.ran) or 'no target ran'}){'; ' + skipped if skipped else ''}; summary in {out}"
    )
