"""`python -m analysis rollout`: plan and roll out the emitted recommendations."""

from __future__ import annotations

import argparse
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from analysis import tfvars_io
from analysis.args import (
    add_aws_arguments,
    add_environment_argument,
    add_path_arguments,
    output_dir,
    parse_regions,
    tfvars_root,
)
from analysis.cli import command
from analysis.enums import RolloutMethod
from analysis.errors import EXIT_OK, AnalysisError, UsageError
from analysis.report import records
from analysis.rollout import plan as planning
from analysis.rollout.bluegreen import BlueGreenRollout, Settings, State, state_path
from analysis.sources.aws import Connector

DEFAULT_GUARD_WINDOW = 900


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_environment_argument(p)
    add_path_arguments(p, "report directory of the run whose recommendations are rolled out")
    p.add_argument("--recommendations", type=Path, help="recommendations.json (default <output>/recommendations.json)")
    p.add_argument("--resource", help="roll out only this resource id")
    p.add_argument("--dry-run", action="store_true", help="print the exact steps; change nothing, call no AWS API")
    p.add_argument("--state-dir", type=Path, help="resume state (default <output>/rollout)")
    add_aws_arguments(p, regions=None)
    p.add_argument("--poll-interval", type=float, default=30.0, help="seconds between status reads (default 30)")
    p.add_argument("--wait-timeout", type=float, default=7200.0, help="max seconds for snapshot / green (default 7200)")
    p.add_argument("--switchover-timeout", type=int, default=300, help="SwitchoverTimeout, 30..3600 s (default 300)")
    p.add_argument(
        "--max-replica-lag", type=float, default=10.0, help="green ReplicaLag to switch over, s (default 10)"
    )
    p.add_argument("--lag-timeout", type=float, default=1800.0, help="max seconds waiting for low lag (default 1800)")
    p.add_argument(
        "--require-replica-lag",
        action="store_true",
        help="fail when the green has no ReplicaLag datapoints (default: trust switchover guardrails)",
    )
    p.add_argument(
        "--guard-window",
        type=int,
        default=DEFAULT_GUARD_WINDOW,
        help=f"guard window printed in the plan, s (default {DEFAULT_GUARD_WINDOW})",
    )


def _check(args: argparse.Namespace) -> None:
    if not 30 <= args.switchover_timeout <= 3600:
        raise UsageError(f"--switchover-timeout {args.switchover_timeout}: must be 30..3600 seconds")
    for name in ("poll_interval", "wait_timeout", "max_replica_lag", "lag_timeout", "guard_window"):
        if getattr(args, name) < 0:
            raise UsageError(f"--{name.replace('_', '-')} must be >= 0")


@command(
    "rollout",
    "Roll out recommendations safely: RDS Blue/Green for database primaries, tfvars + cdktf deploy otherwise.",
)
def run(args: argparse.Namespace) -> int:
    _check(args)
    env = args.environment
    rec_path = args.recommendations or output_dir(args) / "recommendations.json"
    doc = planning.load(rec_path)
    if doc.get("environment", env) != env:
        raise UsageError(f"{rec_path} is for environment {doc.get('environment')!r}, not --environment {env}")
    if args.regions:
        regions = parse_regions(args.regions)
        doc = {**doc, "recommendations": [r for r in doc["recommendations"] if r["region"] in regions]}
    items = planning.build(
        planning.select(doc, args.resource),
        env,
        args.guard_window,
        switchover_timeout=args.switchover_timeout,
        max_replica_lag=args.max_replica_lag,
    )
    plans = [i for i in items if isinstance(i, planning.Plan)]
    if args.resource and not plans:
        raise UsageError(f"{args.resource}: {next(i.reason for i in items if isinstance(i, planning.Skipped))}")
    print(
        f"rollout plan for {env} from {rec_path}: {len(plans)} change(s), "
        f"{len(items) - len(plans)} skipped{' (dry run: nothing changed)' if args.dry_run else ''}"
    )
    for item in items:
        print(planning.describe(item))
    if args.dry_run:
        return EXIT_OK
    tfvars = {p.resource_id: _tfvars_path(p, tfvars_root(args), env) for p in plans}
    for path in tfvars.values():  # validate every tfvars file before touching anything
        tfvars_io.read(path)
    direct: dict[Path, dict] = {}  # every non-database change, written in one transaction
    for p in plans:
        if p.method is not RolloutMethod.BLUE_GREEN:
            direct.setdefault(tfvars[p.resource_id], {}).update(p.updates)
    written = {w.path: w for w in tfvars_io.apply_all(direct)}
    connector = None
    for p in plans:
        if p.method is RolloutMethod.BLUE_GREEN:
            connector = connector or _connector(args)
            _blue_green(p, tfvars[p.resource_id], args, connector)
        else:
            w = written[tfvars[p.resource_id]]
            state = "written (previous kept in .previous/)" if w.changed else "already holds the change"
            print(f"rollout {p.resource_id}: {p.tfvars_file} {state}")
            if w.diff:
                print(w.diff.rstrip())
            print(
                f"rollout {p.resource_id}: next: cdktf deploy {p.stack}, then "
                f"python -m analysis guard --environment {env} --stack {p.stack}"
            )
    return EXIT_OK


def _tfvars_path(p: planning.Plan, root: Path, environment: str) -> Path:
    """The plan's override file under `root`, refused when recommendations.json names a stack or
    tfvars_file that is not the naming contract's (nothing outside the tfvars tree is written)."""
    path = tfvars_io.override_file(root, environment, p.stack)
    if p.tfvars_file != records.tfvars_file(environment, p.stack):
        raise AnalysisError(
            f"{p.resource_id}: tfvars_file {p.tfvars_file!r} is not the file of stack {p.stack} "
            f"({records.tfvars_file(environment, p.stack)}); refusing to write"
        )
    return path


def _connector(args: argparse.Namespace):
    return Connector.from_env(profile=args.profile, endpoint_url=args.endpoint_url)


def _blue_green(p, tfvars: Path, args: argparse.Namespace, connector) -> None:
    state_dir = args.state_dir or output_dir(args) / "rollout"
    settings = Settings(
        poll_interval=args.poll_interval,
        wait_timeout=args.wait_timeout,
        switchover_timeout=args.switchover_timeout,
        max_replica_lag=args.max_replica_lag,
        lag_timeout=args.lag_timeout,
        require_replica_lag=args.require_replica_lag,
    )
    try:
        rollout = BlueGreenRollout(
            p,
            rds=connector.client("rds", p.region),
            cloudwatch=connector.client("cloudwatch", p.region),
            state=State.load(state_path(state_dir, p.region, p.resource_id)),
            tfvars=tfvars,
            settings=settings,
        )
        rollout.run()
    except ClientError as e:
        err = e.response.get("Error", {})
        raise AnalysisError(
            f"{p.resource_id}: AWS {e.operation_name} failed: {err.get('Code')}: "
            f"{err.get('Message', '')} (rerun resumes)"
        ) from None
    except BotoCoreError as e:
        raise AnalysisError(f"{p.resource_id}: AWS call failed in {p.region}: {e} (rerun resumes)") from None
