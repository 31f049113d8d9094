"""The main job: inventory -> metrics -> sizing -> reports -> proposed (and applied) tfvars.

`python -m analysis run` (analysis/commands/run.py) parses flags into `RunOptions` and calls
`execute`. The account is prepared first (`Account`): AWS, or the simulated account
(analysis/sim/: a local moto server holding the synthesized stacks, with a generated 45-day
metrics snapshot); the stages then read it the same way whichever it is.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, cast

import loadtest
from analysis import report, tfvars_io
from analysis.collect import DEFAULT_DAYS
from analysis.errors import AnalysisError, UsageError
from analysis.inventory import discover, inventory_path, load_inventory, matches, save_inventory
from analysis.model import MetricsSource, Recommendation, Resource
from analysis.pricing import live
from analysis.report.charts import utilisation_svg
from analysis.report.plan import preview
from analysis.report.records import records as to_records
from analysis.sim import account as sim_account
from analysis.sim import motoserver
from analysis.sim.scenario import SIM_END, series
from analysis.sizing.engine import analyse
from analysis.sizing.policy import Options, Policy, SizingContext
from analysis.sources import open_source
from analysis.sources.aws import Connector
from analysis.sources.snapshot import SnapshotSource, write_snapshot
from analysis.tfmap import StackError, load_sizing_keys
from stacks.naming import DEFAULT_ENVIRONMENT, DEFAULT_REGIONS
from stacks.tfvars import override_path

ROLLOUT_OWNED = "blue-green"  # these keys are written by `analysis rollout` after switchover
SIM_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "simulated",
    "AWS_SECRET_ACCESS_KEY": "simulated",
    "AWS_SESSION_TOKEN": "simulated",
}


class Target(StrEnum):
    """Which account a run reads."""

    SIM = "sim"  # the simulated account (analysis/sim/): no AWS call leaves the machine
    AWS = "aws"  # a real (or AWS-compatible) account through --profile / --endpoint-url


@dataclass(frozen=True)
class RunOptions:
    environment: str = DEFAULT_ENVIRONMENT
    regions: tuple[str, ...] = DEFAULT_REGIONS
    days: int = DEFAULT_DAYS
    confidence: float = 0.1  # below it a recommendation is reported, not written to tfvars
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


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class Account:
    """What the stages read: the account's resources and its metrics, AWS or simulated alike."""

    connector: Connector  # discovery (unused when --inventory names saved resources)
    metrics: Callable[[list[Resource]], MetricsSource]  # the resources found -> their metrics (no --metrics-snapshot)
    end: int | None = None  # fixed end of the metrics window; None: now


@contextmanager
def simulated_account(opts: RunOptions, progress: Callable[[str], None]) -> Iterator[Account]:
    """A moto server holding the synthesized stacks; their metrics are generated into a snapshot."""
    progress("analysing the SIMULATED account (no AWS call leaves this machine); use --target aws for a real one")
    os.environ.update(SIM_CREDENTIALS)  # moto accepts any key; never the user's real credentials
    os.environ.pop("AWS_PROFILE", None)
    with motoserver.running() as url:
        connector = Connector(endpoint_url=url, max_attempts=3)
        try:
            created = sim_account.populate(connector, opts.stacks_dir, list(opts.regions))
        except sim_account.SimError as e:
            raise AnalysisError(f"simulated account: {e}") from None
        progress(
            f"simulated account: moto server at {url} holds "
            f"{', '.join(f'{r} ({len(t)} stacks)' for r, t in created.items())}"
        )

        def metrics(resources: list[Resource]) -> MetricsSource:
            path = opts.output / "sim-metrics.parquet"
            workload = series(resources, opts.days, SIM_END)
            rows = write_snapshot(path, workload, {"source": "simulated account workload model"})
            save_inventory(inventory_path(path), resources, source="simulated account")  # `run --inventory` reads it
            progress(f"simulated account: {rows:,} datapoints over {opts.days} days written to {path}")
            return open_source(path)

        yield Account(connector, metrics, end=SIM_END)


def aws_account(opts: RunOptions) -> Account:
    """Your account through --profile / --endpoint-url; metrics from CloudWatch."""

    def metrics(resources: list[Resource]) -> MetricsSource:
        return open_source(profile=opts.profile, endpoint_url=opts.endpoint_url)

    return Account(Connector.from_env(opts.profile, opts.endpoint_url), metrics)


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
    inv = discover(account.connector, list(opts.regions), opts.tags, sizing_keys=sizing_keys)
    messages += inv.messages
    if not inv.anything:
        raise AnalysisError("no region could be inventoried: " + "; ".join(inv.messages or ["nothing found"]))
    progress(
        f"inventory: {len(inv.resources)} resources in {', '.join(opts.regions)}"
        f" ({sum(1 for r in inv.resources if r.excluded)} excluded as CriticalPath)"
    )
    return inv.resources


def metrics_stage(
    opts: RunOptions, account: Account, resources: list[Resource]
) -> tuple[MetricsSource, tuple[int, int]]:
    """The metrics source (--metrics-snapshot, else the account's) and the [start, end) window it is
    read over: up to the snapshot's last datapoint, the account's fixed end, or now."""
    if opts.metrics_snapshot is not None:
        source = open_source(opts.metrics_snapshot)
        end = cast(SnapshotSource, source).time_range()[1]
        if end is None:
            raise AnalysisError(f"{opts.metrics_snapshot}: metrics snapshot holds no datapoints")
        end = end - end % 300 + 300
    else:
        source = account.metrics(resources)
        end = account.end if account.end is not None else int(time.time()) // 300 * 300
    return source, (end - opts.days * 86400, end)


def sizing_stage(
    opts: RunOptions,
    resources: list[Resource],
    source: MetricsSource,
    window: tuple[int, int],
    messages: list[str],
    progress: Callable[[str], None],
) -> tuple[list[Recommendation], str]:
    """The recommendations, and the date of the prices they were costed with."""
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
    recs = analyse(resources, source, ctx)
    if hasattr(source, "usage"):
        progress(f"CloudWatch: {source.usage.summary()}")
    progress(f"sizing: {sum(r.status == 'emitted' for r in recs)} changes emitted")
    return recs, prices.as_of


def reports_stage(
    opts: RunOptions,
    recs: list[Recommendation],
    source: MetricsSource,
    window: tuple[int, int],
    prices_as_of: str,
    messages: list[str],
) -> RunResult:
    records = to_records(recs, opts.environment)
    files, pending = proposals(records, opts.tfvars_root, opts.environment)
    proposed_files, diff = _proposed_files(opts, files)
    meta = _meta(opts, *window, prices_as_of, getattr(source, "usage", None), messages)
    outputs = report.render(records, meta, _charts(recs), preview(records, opts.stacks_dir), diff)
    outputs.update(proposed_files)
    written = report.write(opts.output, outputs)
    return RunResult(recs, records, written, files, pending, diff, messages=messages)


def execute(opts: RunOptions, progress: Callable[[str], None] = _say) -> RunResult:
    if opts.load_test:
        _load_test(opts, progress)
    prepared = simulated_account(opts, progress) if opts.target is Target.SIM else nullcontext(aws_account(opts))
    with prepared as account:  # the simulated account's moto server stops once sizing has read it
        messages: list[str] = []
        resources = inventory_stage(opts, account, messages, progress)
        source, window = metrics_stage(opts, account, resources)
        recs, prices_as_of = sizing_stage(opts, resources, source, window, messages, progress)
    result = reports_stage(opts, recs, source, window, prices_as_of, messages)
    if opts.apply:
        result.applied = apply(result.proposed)
    return result


def _charts(recs: list[Recommendation]) -> dict[str, list[str]]:
    """SVG per recommendation with a change: each sized dimension's demand against its capacities."""
    out: dict[str, list[str]] = {}
    for rec in recs:
        if not rec.changes:
            continue
        dims = rec.evidence.get("dimensions", {})
        out[f"{rec.resource.region}/{rec.resource.resource_id}"] = [
            utilisation_svg(
                f"{dim} ({dims[dim]['unit']})",
                dims[dim]["unit"],
                ts,
                values,
                dims[dim].get("capacity_now"),
                dims[dim].get("capacity_proposed"),
            )
            for dim, (ts, values) in sorted(rec.demand.items())
            if dim in dims
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
        if rec["rollout"] == ROLLOUT_OWNED:
            pending.append(rec)
            continue
        path = override_path(tfvars_root, environment, rec["stack"])
        for ch in rec["changes"]:
            if ch["tfvars_key"]:
                files.setdefault(path, {})[ch["tfvars_key"]] = ch["proposed"]
    return dict(sorted(files.items())), pending


def _proposed_files(opts: RunOptions, files: dict[Path, dict[str, Any]]) -> tuple[dict[str, str], str]:
    """Report-relative path -> proposed file content, and the unified diff against the committed files."""
    contents, diffs = {}, []
    for path, updates in files.items():
        try:
            written = tfvars_io.apply(path, updates, dry_run=True)
        except (ValueError, OSError) as e:
            raise AnalysisError(str(e)) from None
        contents[str(Path("tfvars") / opts.environment / path.name)] = written.content.decode()
        diffs.append(written.diff)
    return contents, "".join(diffs)


def apply(files: dict[Path, dict[str, Any]]) -> list[Path]:
    """Write the owned keys into the committed tfvars (atomic, previous kept for rollback)."""
    changed = []
    for path, updates in files.items():
        try:
            written = tfvars_io.apply(path, updates)
        except (ValueError, OSError) as e:
            raise AnalysisError(str(e)) from None
        if written.changed:
            changed.append(path)
            print(written.diff, end="")
    return changed


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
        "messages": sorted(messages),
    }


def _load_test(opts: RunOptions, progress: Callable[[str], None]) -> None:
    """Drive real traffic first so the metrics the analysis reads reflect it (loadtest/)."""
    if opts.load_test_outputs is None:
        raise UsageError("--load-test needs --outputs PATH (the file `cdktf output --outputs-file` writes)")
    out = opts.output / "loadtest"
    progress(f"load test: {opts.load_test_duration} against the endpoints in {opts.load_test_outputs}")
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
