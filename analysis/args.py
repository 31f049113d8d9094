"""Flags shared by the analysis commands: each spelled once here, one parser per kind of value, one error style."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis.collect import MAX_DAYS, MIN_DAYS
from analysis.errors import UsageError
from analysis.tfmap import DEFAULT_STACKS_DIR
from stacks.naming import DEFAULT_ENVIRONMENT, DEFAULT_REGIONS, known_regions

# Default paths (tfvars/, reports/, cdktf.out/stacks) are read from the project checkout holding
# the working directory, whatever subdirectory a command runs in; outside any checkout, from the
# repository this package lives in. A path given on the command line is taken as given.
ROOT = Path(__file__).resolve().parents[1]
PROJECT_MARKERS = ("cdktf.json", "tfvars")


def project_root(start: Path | None = None) -> Path:
    """The nearest directory up from `start` (the working directory) holding cdktf.json or
    tfvars/, else ROOT."""
    here = (start or Path.cwd()).resolve()
    return next((d for d in (here, *here.parents) if any((d / m).exists() for m in PROJECT_MARKERS)), ROOT)


def shown(path: Path) -> str:
    """A path as a message shows it: relative to the working directory when under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parse_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise UsageError(f"--days must be a whole number of days, {MIN_DAYS}..{MAX_DAYS}; got {text!r}") from None
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise UsageError(f"--days must be {MIN_DAYS}..{MAX_DAYS} (CloudWatch keeps hourly data 455 days); got {days}")
    return days


def parse_regions(text: str) -> list[str]:

    regions = list(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    if not regions:
        raise UsageError("--regions needs at least one region name, e.g. us-east-1,us-west-2")
    unknown = [r for r in regions if r not in known_regions()]
    if unknown:
        raise UsageError(f"--regions: unknown region name(s) {', '.join(unknown)} (e.g. us-east-1)")
    return regions


def parse_tags(texts: list[str]) -> tuple[tuple[str, str], ...]:
    from analysis.inventory import parse_tag_filter

    try:
        return tuple(parse_tag_filter(t) for t in texts)
    except ValueError as e:
        raise UsageError(str(e)) from None


def parse_fraction(text: str, flag: str, *, low: float = 0.0, high: float = 1.0) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag} must be a number {low:g}..{high:g}; got {text!r}") from None
    if not low <= value <= high:
        raise UsageError(f"{flag} must be {low:g}..{high:g}; got {text}")
    return value


# --- flags every command spells the same way ---------------------------------------------------
def add_environment_argument(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--environment", default=DEFAULT_ENVIRONMENT, help=f"environment name (default: {DEFAULT_ENVIRONMENT})"
    )
    p.add_argument("--env", dest="environment", help=argparse.SUPPRESS)  # the older spelling keeps working


def add_aws_arguments(p: argparse.ArgumentParser, *, regions: Sequence[str] | None = DEFAULT_REGIONS) -> None:
    """--regions (comma list; `regions=None`: every region by default), --profile, --endpoint-url."""
    default = ",".join(regions) if regions else None
    p.add_argument(
        "--regions",
        default=default,
        metavar="REGION[,REGION...]",
        help=f"comma-separated region names (default: {default or 'every region'})",
    )
    if regions is None:  # rollout and guard used to take one --region
        p.add_argument("--region", dest="regions", help=argparse.SUPPRESS)
    p.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    p.add_argument(
        "--endpoint-url",
        help="send every AWS call to this AWS-compatible endpoint, e.g. a moto server (default: $AWS_ENDPOINT_URL)",
    )


def add_source_arguments(p: argparse.ArgumentParser, *, regions: Sequence[str] | None = DEFAULT_REGIONS) -> None:
    """The AWS flags plus --metrics-snapshot (read a snapshot instead of CloudWatch);
    `analysis.sources.source_from_args` opens what they name."""
    add_aws_arguments(p, regions=regions)
    p.add_argument(
        "--metrics-snapshot",
        metavar="PATH",
        help="read metrics from this Parquet snapshot (written by `collect`) instead of CloudWatch",
    )


def add_path_arguments(p: argparse.ArgumentParser, output_help: str) -> None:
    """--tfvars-root DIR and --output DIR (an environment's report directory); see `tfvars_root` /
    `output_dir` for their defaults (under `project_root()`)."""
    p.add_argument(
        "--tfvars-root",
        type=Path,
        metavar="DIR",
        help="tfvars root holding <environment>/<stack>.auto.tfvars.json (default: tfvars)",
    )
    p.add_argument("--output", type=Path, metavar="DIR", help=f"{output_help} (default: reports/<environment>/)")
    # older spellings keep working: --tfvars-dir (run), --root PROJECT_DIR (rollout, guard)
    p.add_argument("--tfvars-dir", dest="tfvars_root", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--root", type=Path, help=argparse.SUPPRESS)


def add_stacks_argument(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--stacks-dir", type=Path, metavar="DIR", help=f"{what}: the synthesized stacks (default: cdktf.out/stacks)"
    )


def _in_project(root: Path | None, *parts: str | Path) -> Path:
    """A default path under `root` (else the project), relative when it is under the working
    directory so messages stay short."""
    if root is not None:
        return root.joinpath(*parts)
    path = project_root().joinpath(*parts)
    try:
        return path.relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def tfvars_root(args: argparse.Namespace) -> Path:
    return args.tfvars_root or _in_project(args.root, "tfvars")


def output_dir(args: argparse.Namespace) -> Path:
    return args.output or _in_project(args.root, "reports", args.environment)


def stacks_dir(args: argparse.Namespace) -> Path:
    return args.stacks_dir or _in_project(None, DEFAULT_STACKS_DIR)


# --- fleet scale: several accounts, batches, a Dask cluster ---------------------------------------
def add_scale_arguments(p: argparse.ArgumentParser) -> None:
    """--accounts / --role-name (many accounts), --batch-size, --scheduler / --workers (Dask)."""
    p.add_argument(
        "--accounts",
        metavar="ID[,ID...]|organization",
        help="AWS account ids, or `organization` for every ACTIVE account of AWS Organizations (needs --role-name)",
    )
    p.add_argument("--role-name", metavar="NAME", help="role assumed (STS AssumeRole) in each of --accounts")
    p.add_argument(
        "--batch-size",
        default="64",
        metavar="N",
        help="resources read and sized at once: bounds the metrics held in memory (default: 64)",
    )
    cluster = p.add_mutually_exclusive_group()
    cluster.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler to spread the work on (tcp://host:8786)"
    )
    cluster.add_argument("--workers", metavar="N", help="spread the work on a local Dask cluster of N processes")


def parse_count(text: str | None, flag: str) -> int | None:
    """A positive whole number, or None when the flag is absent."""
    if text is None:
        return None
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{flag} must be a whole number >= 1; got {text!r}")
    return int(text)


def scale_options(args: argparse.Namespace) -> dict[str, Any]:
    """The keyword arguments `add_scale_arguments` flags stand for (parsed and checked)."""
    from analysis.scale.accounts import parse_accounts

    accounts = parse_accounts(args.accounts) if args.accounts else ()
    if accounts and not args.role_name:
        raise UsageError("--accounts needs --role-name (the role to assume in each account)")
    return {
        "accounts": tuple(accounts) if isinstance(accounts, list) else accounts,
        "role_name": args.role_name,
        "batch_size": parse_count(args.batch_size, "--batch-size"),
        "scheduler": args.scheduler,
        "workers": parse_count(args.workers, "--workers"),
    }
