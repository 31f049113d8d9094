"""`python -m analysis guard`: watch the rollback alarms after a change; roll back on breach (exit 3)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from analysis.args import (
    add_aws_arguments,
    add_environment_argument,
    add_path_arguments,
    output_dir,
    parse_regions,
    tfvars_root,
)
from analysis.cli import command
from analysis.errors import EXIT_OK, EXIT_ROLLED_BACK, AnalysisError, UsageError
from analysis.rollout import alarms, guard
from analysis.schedule.quiet import schedules
from analysis.sources.aws import Connector


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_environment_argument(p)
    p.add_argument(
        "--stack",
        action="append",
        default=[],
        help="changed stack <tier>-<region> (repeatable; default: every stack with a kept previous tfvars)",
    )
    p.add_argument(
        "--window", type=float, default=900.0, help="seconds to watch (default 900, max 21600; 0 = one check)"
    )
    p.add_argument("--interval", type=float, default=60.0, help="seconds between checks (default 60, >= 1)")
    p.add_argument(
        "--threshold", type=float, default=1.0, help="connection error percentage that rolls back (default 1)"
    )
    p.add_argument(
        "--min-total", type=float, default=100.0, help="attempts needed before the raw ratio can trigger (default 100)"
    )
    p.add_argument(
        "--since", help="start of the raw-metric sum, ISO 8601 UTC (default 5 minutes before the guard starts)"
    )
    p.add_argument("--dry-run", action="store_true", help="print what would be restored; change nothing (exit 0)")
    add_path_arguments(p, "report directory of the run that proposed the change")
    p.add_argument("--state-dir", type=Path, help="Blue/Green rollout state (default <output>/rollout)")
    p.add_argument(
        "--recommendations",
        type=Path,
        help="recommendations.json naming CriticalPath resources (default <output>/recommendations.json)",
    )
    add_aws_arguments(p, regions=None)


def _since(text: str | None) -> dt.datetime | None:
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--since {text!r}: not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


@command(
    "guard",
    "Watch the rollback alarms after a change; restore the previous tfvars when connection errors pass 1 percent (exit 3).",
)
def run(args: argparse.Namespace) -> int:
    if not 0 <= args.window <= guard.MAX_WINDOW:
        raise UsageError(f"--window {args.window:g}: must be 0..{guard.MAX_WINDOW} seconds")
    if args.window > 0 and args.interval < 1:
        raise UsageError(f"--interval {args.interval:g}: must be >= 1 second")
    if not 0 < args.threshold < 100:
        raise UsageError(f"--threshold {args.threshold:g}: must be a percentage between 0 and 100")
    if args.min_total < 0:
        raise UsageError("--min-total must be >= 0")
    since = _since(args.since)
    output = output_dir(args)
    regions = parse_regions(args.regions) if args.regions else None
    targets = guard.targets(tfvars_root(args), args.environment, args.stack, regions)
    excluded = guard.excluded_keys(args.recommendations or output / "recommendations.json")
    state_dir = args.state_dir or output / "rollout"
    guard.check_files(targets)  # a corrupt file is reported before any watching starts
    connector = Connector.from_env(profile=args.profile, endpoint_url=args.endpoint_url)
    watched_tiers = {tier for t in targets for tier in alarms.WATCHED_TIERS[t.tier]}
    watcher = guard.Guard(
        args.environment,
        targets,
        connector.client,
        threshold=args.threshold,
        min_total=args.min_total,
        since=since,
        schedules=schedules(tfvars_root(args), args.environment, {t.region for t in targets}, watched_tiers),
    )
    print(
        f"guard: watching {', '.join(t.stack for t in targets)} for {args.window:g} s "
        f"(threshold {args.threshold:g}%{', dry run' if args.dry_run else ''})"
    )
    try:
        breaches = watcher.watch(args.window, args.interval)
    except ClientError as e:
        err = e.response.get("Error", {})
        raise AnalysisError(f"AWS {e.operation_name} failed: {err.get('Code')}: {err.get('Message', '')}") from None
    except BotoCoreError as e:
        raise AnalysisError(f"AWS call failed: {e}") from None
    if not breaches:
        print("guard: no breach: keeping the change")
        return EXIT_OK
    done = guard.rollback(targets, breaches, excluded=excluded, state_dir=state_dir, dry_run=args.dry_run)
    if args.dry_run:
        print(f"guard: dry run: would restore {done.restored} file(s); nothing changed")
        return EXIT_OK
    if done.refused and not done.restored:
        raise AnalysisError(
            f"breach, but restoring {', '.join(done.refused)} would change CriticalPath "
            "resources: nothing restored, roll back by hand"
        )
    print(f"guard: rolled back {done.restored} file(s): redeploy (exit {EXIT_ROLLED_BACK})")
    return EXIT_ROLLED_BACK
