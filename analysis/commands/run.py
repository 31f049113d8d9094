"""`python -m analysis run` (`make analyze`): the whole loop on the simulated account or AWS."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from analysis.args import (
    add_environment_argument,
    add_path_arguments,
    add_scale_arguments,
    add_source_arguments,
    add_stacks_argument,
    output_dir,
    parse_days,
    parse_fraction,
    parse_regions,
    parse_tags,
    scale_options,
    shown,
    stacks_dir,
    tfvars_root,
)
from analysis.cli import command
from analysis.collect import DEFAULT_DAYS
from analysis.enums import Risk
from analysis.errors import UsageError
from analysis.fsutil import check_writable_dir
from analysis.report import money, next_steps
from analysis.report.records import totals
from analysis.run import RunOptions, Target, execute, untracked
from stacks.naming import PRODUCTION_ENVIRONMENTS


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_environment_argument(p)
    add_source_arguments(p)
    p.add_argument("--days", default=str(DEFAULT_DAYS), help=f"days of metrics to analyse (default: {DEFAULT_DAYS})")
    p.add_argument(
        "--confidence",
        default="0.1",
        help="minimum confidence for a recommendation to become tfvars, 0..1 (default: 0.1)",
    )
    p.add_argument(
        "--max-risk",
        choices=[r.value for r in Risk],
        help="emit only changes up to this risk (the worse of performance and availability risk); "
        "the others are reported, not written (default: every risk)",
    )
    p.add_argument(
        "--apply",
        action="store_true",
        help="write the proposed keys into tfvars/<environment>/ (previous files kept for rollback)",
    )
    p.add_argument(
        "--target",
        default=Target.SIM.value,
        choices=[t.value for t in Target],
        help="sim: the built-in simulated account (default); aws: your AWS account",
    )
    p.add_argument(
        "--inventory",
        metavar="PATH",
        help="analyse the resources `collect` saved (<snapshot>.inventory.json) instead of discovering "
        "them: with --metrics-snapshot, a fully offline re-analysis (needs --target aws)",
    )
    add_path_arguments(p, "report directory")
    add_stacks_argument(p, "which tfvars key sizes each resource (and, with --target sim, the account)")
    p.add_argument("--tag", action="append", default=[], metavar="KEY=VALUE", help="only resources with this tag")
    p.add_argument(
        "--pricing",
        default="snapshot",
        choices=("snapshot", "live"),
        help="snapshot: the committed price data (default); live: refresh from the AWS Price List API",
    )
    p.add_argument("--percentile", default="99", help="demand percentile sized for, 50..100 (default: 99)")
    p.add_argument("--headroom", default="0.2", help="headroom above that percentile, 0..4 (default: 0.2 = 20%%)")
    p.add_argument(
        "--allow-architecture-switch",
        action="store_true",
        help="let compute move between x86_64 and arm64 (needs an arm64 AMI)",
    )
    p.add_argument(
        "--schedule-timezone",
        default="UTC",
        metavar="ZONE",
        help="IANA time zone off-hours schedules are detected and written in (default: UTC)",
    )
    p.add_argument(
        "--no-schedule-environments",
        default=",".join(PRODUCTION_ENVIRONMENTS),
        metavar="LIST",
        help=f"environments never given an off-hours schedule (default: {','.join(PRODUCTION_ENVIRONMENTS)})",
    )
    p.add_argument("--load-test", action="store_true", help="run the load test first (needs --outputs)")
    p.add_argument("--outputs", metavar="PATH", help="stack outputs JSON for --load-test (cdktf output --outputs-file)")
    p.add_argument("--load-test-duration", default="60s", help="load test duration (default: 60s)")
    p.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 when a metric series was rejected as bad data (its resource is quarantined, not sized)",
    )
    add_scale_arguments(p)


@command("run", "analyse, size and price every resource; write reports and proposed tfvars (make analyze)")
def run(args: argparse.Namespace) -> int:
    target = Target(args.target)
    if target is Target.AWS and args.endpoint_url is None and os.environ.get("AWS_ENDPOINT_URL"):
        args.endpoint_url = os.environ["AWS_ENDPOINT_URL"]
    if target is Target.SIM and (args.profile or args.endpoint_url):
        raise UsageError("--profile and --endpoint-url need --target aws (the simulated account runs its own endpoint)")
    output = output_dir(args)
    problem = check_writable_dir(output)
    if problem:
        raise UsageError(f"--output {output}: {problem}")
    tfvars_dir = tfvars_root(args) / args.environment
    problem = check_writable_dir(tfvars_dir) if args.apply else None
    if problem:  # before any work: a read-only tree must not fail after the reports are written
        raise UsageError(f"--apply: {tfvars_dir}: {problem}")
    snapshot = Path(args.metrics_snapshot) if args.metrics_snapshot else None
    if snapshot is not None and not snapshot.exists():
        raise UsageError(f"--metrics-snapshot {snapshot}: no such file or directory")
    inventory = Path(args.inventory) if args.inventory else None
    if inventory is not None and target is Target.SIM:
        raise UsageError("--inventory needs --target aws (the simulated account discovers its own resources)")
    if inventory is not None and not inventory.is_file():
        raise UsageError(f"--inventory {inventory}: no such file")
    try:
        ZoneInfo(args.schedule_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"--schedule-timezone {args.schedule_timezone!r}: unknown time zone (an IANA name such as Europe/Berlin)"
        ) from None
    opts = RunOptions(
        environment=args.environment,
        regions=tuple(parse_regions(args.regions)),
        days=parse_days(args.days),
        confidence=parse_fraction(args.confidence, "--confidence"),
        max_risk=Risk(args.max_risk) if args.max_risk else None,
        apply=args.apply,
        target=target,
        profile=args.profile,
        endpoint_url=args.endpoint_url,
        metrics_snapshot=snapshot,
        inventory=inventory,
        output=output,
        stacks_dir=stacks_dir(args),
        tfvars_root=tfvars_root(args),
        tags=parse_tags(args.tag),
        pricing=args.pricing,
        percentile=parse_fraction(args.percentile, "--percentile", low=50, high=100),
        headroom=parse_fraction(args.headroom, "--headroom", high=4),
        allow_architecture_switch=args.allow_architecture_switch,
        load_test=args.load_test,
        load_test_outputs=Path(args.outputs) if args.outputs else None,
        load_test_duration=args.load_test_duration,
        schedule_timezone=args.schedule_timezone,
        no_schedule_environments=tuple(e.strip() for e in args.no_schedule_environments.split(",") if e.strip()),
        strict=args.strict,
        **scale_options(args),
    )
    result = execute(opts)
    for line in result.messages:
        print(f"note: {line}", file=sys.stderr)
    print(summary(result, opts))
    return 1 if opts.strict and result.rejections else 0


def summary(result, opts) -> str:
    emitted = [r for r in result.records if r["status"] == "emitted"]
    total = totals(result.records)[-1] if result.records else None
    lines = [
        f"{len(result.records)} resources analysed, {len(emitted)} changes proposed"
        f" ({len(result.pending_rollout)} database changes to roll out with `python -m analysis rollout`)"
    ]
    if total:
        lines.append(
            "monthly cost: on-demand {} -> {}, Reserved 1-yr {} -> {}, Reserved 3-yr {} -> {}".format(
                *(
                    money(total[side][t])
                    for t in ("on_demand", "reserved_1yr", "reserved_3yr")
                    for side in ("current", "proposed")
                )
            )
        )
    if result.rejections:
        lines.append(
            f"{len(result.rejections)} resources quarantined: their metrics were rejected as bad data (see the notes)"
        )
    if result.schedule is not None:
        saved = result.schedule.saved
        note = "" if saved is None else f" (saves ${saved:,.2f}/month on demand after right-sizing)"
        lines.append(f"schedule: {result.schedule.reason}{note}")
    out = shown(opts.output)
    lines.append(f"reports: {out}/report.html, report.md, plan-preview.md, recommendations.json/.csv, schedule.json")
    if opts.apply:
        lines.append(
            f"applied: {', '.join(map(shown, result.applied)) or 'nothing to change (tfvars already up to date)'}"
        )
        new = untracked(result.applied)
        if new:
            lines.append(f"new files, not tracked by git yet: git add {' '.join(map(shown, new))}")
        meta = {"environment": opts.environment, "simulated": opts.target is Target.SIM}
        lines.append("next:")
        lines += [f"  {cmd}    # {why}" for cmd, why in next_steps(meta, applied=True)]
    elif result.proposed:
        lines.append(f"proposed tfvars in {out}/tfvars/{opts.environment}/; re-run with --apply to write them")
    return "\n".join(lines)
