"""The main job: inventory -> metrics -> sizing -> reports -> proposed (and applied) tfvars.

`python -m analysis run` (analysis/commands/run.py) parses flags into `RunOptions` and calls
`execute`. The default target is the simulated account (analysis/sim/): a local moto server
holding the synthesized stacks, with a generated 45-day metrics snapshot.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError, UsageError
from analysis.model import Recommendation

ROLLOUT_OWNED = "blue-green"  # these keys are written by `analysis rollout` after switchover
SIM_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "simulated",
    "AWS_SECRET_ACCESS_KEY": "simulated",
    "AWS_SESSION_TOKEN": "simulated",
}


@dataclass(frozen=True)
class RunOptions:
    environment: str = "staging"
    regions: tuple[str, ...] = ("us-east-1", "us-west-2")
    days: int = 45
    confidence: float = 0.1
    apply: bool = False
    target: str = "sim"
    profile: str | None = None
    endpoint_url: str | None = None
    metrics_snapshot: Path | None = None
    inventory: Path | None = None  # resources saved by `collect`: analyse offline, no discovery
    output: Path = Path("reports/staging")
    stacks_dir: Path = Path("cdktf.out/stacks")
    tfvars_root: Path = Path("tfvars")
    tags: tuple[tuple[str, str], ...] = ()
    pricing: str = "snapshot"
    percentile: float = 99.0
    headroom: float = 0.20
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


def _window(opts: RunOptions, source: Any) -> tuple[int, int]:
    """[start, end): the simulated account's fixed end, a snapshot's last datapoint, or now."""
    from analysis.sim.scenario import SIM_END

    if opts.metrics_snapshot is not None:
        end = source.time_range()[1]
        if end is None:
            raise AnalysisError(f"{opts.metrics_snapshot}: metrics snapshot holds no datapoints")
        end = end - end % 300 + 300
    elif opts.target == "sim":
        end = SIM_END
    else:
        end = int(time.time()) // 300 * 300
    return end - opts.days * 86400, end


def _connector(opts: RunOptions, stack: ExitStack, progress: Callable[[str], None]):
    from analysis.sources.aws import Connector

    if opts.target == "aws":
        return Connector.from_env(opts.profile, opts.endpoint_url)
    from analysis.sim import account, motoserver

    os.environ.update(SIM_CREDENTIALS)  # moto accepts any key; never the user's real credentials
    os.environ.pop("AWS_PROFILE", None)
    url = stack.enter_context(motoserver.running())
    connector = Connector(endpoint_url=url, max_attempts=3)
    try:
        created = account.populate(connector, opts.stacks_dir, list(opts.regions))
    except account.SimError as e:
        raise AnalysisError(f"simulated account: {e}") from None
    progress(
        f"simulated account: moto server at {url} holds {', '.join(f'{r} ({len(t)} stacks)' for r, t in created.items())}"
    )
    return connector


def _sim_snapshot(opts: RunOptions, resources, end: int, progress: Callable[[str], None]) -> Path:
    from analysis.inventory import inventory_path, save_inventory
    from analysis.sim.scenario import series
    from analysis.sources.snapshot import write_snapshot

    path = opts.output / "sim-metrics.parquet"
    rows = write_snapshot(path, series(resources, opts.days, end), {"source": "simulated account workload model"})
    save_inventory(inventory_path(path), resources, source="simulated account")  # `run --inventory` reads it
    progress(f"simulated account: {rows:,} datapoints over {opts.days} days written to {path}")
    return path


def _charts(recs: list[Recommendation]) -> dict[str, list[str]]:
    """SVG per recommendation with a change: each sized dimension's demand against its capacities."""
    from analysis.report.charts import utilisation_svg

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
    from stacks.tfvars import override_path

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
    from analysis import tfvars_io

    contents, diffs = {}, []
    for path, updates in files.items():
        try:
            written = tfvars_io.apply(path, updates, dry_run=True)
        except (ValueError, OSError) as e:
            raise AnalysisError(str(e)) from None
        contents[str(Path("tfvars") / opts.environment / path.name)] = written.content.decode()
        diffs.append(written.diff)
    return contents, "".join(diffs)


def execute(opts: RunOptions, progress: Callable[[str], None] = _say) -> RunResult:
    from analysis import inventory as inv_mod
    from analysis import report
    from analysis.pricing import live
    from analysis.report.plan import preview
    from analysis.report.records import records as to_records
    from analysis.sizing.engine import analyse
    from analysis.sizing.policy import Options, Policy, SizingContext
    from analysis.sources import open_source
    from analysis.tfmap import StackError, load_sizing_keys

    messages: list[str] = []
    if opts.load_test:
        _load_test(opts, progress)
    with ExitStack() as stack:
        if opts.target == "sim":
            progress(
                "analysing the SIMULATED account (no AWS call leaves this machine); use --target aws for a real one"
            )
        if opts.inventory is not None:
            resources = [
                r
                for r in inv_mod.load_inventory(opts.inventory)
                if r.region in opts.regions and inv_mod.matches(r.tags, opts.tags)
            ]
            progress(f"inventory: {len(resources)} resources from {opts.inventory} (saved, not rediscovered)")
        else:
            connector = _connector(opts, stack, progress)
            try:
                sizing_keys = load_sizing_keys(opts.stacks_dir)
            except StackError as e:
                raise AnalysisError(str(e)) from None
            if not sizing_keys:
                messages.append(
                    f"no synthesized stacks in {opts.stacks_dir}: every resource is reported as "
                    f"unmanaged (run `make synth` to map resources to tfvars)"
                )
            inv = inv_mod.discover(connector, list(opts.regions), opts.tags, sizing_keys=sizing_keys)
            messages += inv.messages
            if not inv.anything:
                raise AnalysisError("no region could be inventoried: " + "; ".join(inv.messages or ["nothing found"]))
            resources = inv.resources
            progress(
                f"inventory: {len(resources)} resources in {', '.join(opts.regions)}"
                f" ({sum(1 for r in resources if r.excluded)} excluded as CriticalPath)"
            )

        snapshot = opts.metrics_snapshot
        if opts.target == "sim" and snapshot is None:
            from analysis.sim.scenario import SIM_END

            snapshot = _sim_snapshot(opts, resources, SIM_END, progress)
        source = open_source(snapshot, profile=opts.profile, endpoint_url=opts.endpoint_url)
        start, end = _window(opts, source)
        try:
            prices, notes = live.load(opts.pricing, regions=list(opts.regions))
        except live.PricingUnavailable as e:
            raise AnalysisError(f"--pricing live: {e}") from None
        messages += notes[1:]
        ctx = SizingContext.default(
            start,
            end,
            prices=prices,
            confidence_threshold=opts.confidence,
            policy=Policy.uniform(opts.percentile, opts.headroom),
            options=Options(allow_architecture_switch=opts.allow_architecture_switch),
        )
        recs = analyse(resources, source, ctx)
        if hasattr(source, "usage"):
            progress(f"CloudWatch: {source.usage.summary()}")
        progress(f"sizing: {sum(r.status == 'emitted' for r in recs)} changes emitted")
    records = to_records(recs, opts.environment)
    files, pending = proposals(records, opts.tfvars_root, opts.environment)
    proposed_files, diff = _proposed_files(opts, files)
    meta = _meta(opts, start, end, prices.as_of, getattr(source, "usage", None), messages)
    outputs = report.render(records, meta, _charts(recs), preview(records, opts.stacks_dir), diff)
    outputs.update(proposed_files)
    written = report.write(opts.output, outputs)
    result = RunResult(recs, records, written, files, pending, diff, messages=messages)
    if opts.apply:
        result.applied = apply(files)
    return result


def apply(files: dict[Path, dict[str, Any]]) -> list[Path]:
    """Write the owned keys into the committed tfvars (atomic, previous kept for rollback)."""
    from analysis import tfvars_io

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
    from datetime import datetime

    def day(t: int) -> str:
        return datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d")

    return {
        "environment": opts.environment,
        "target": opts.target,
        "simulated": opts.target == "sim",
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
    import loadtest

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
