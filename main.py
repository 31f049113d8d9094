#!/usr/bin/env python
"""CDKTF app entry point: one Terraform stack per tier per region into cdktf.out/stacks/.

  python main.py [--environment staging] [--regions us-east-1,us-west-2] [--outdir DIR]

Environment and regions come from, in order: the command line; the environment variables
RIGHTSIZE_ENVIRONMENT / RIGHTSIZE_REGIONS; the `context` of cdktf.json (`environment`,
`regions`); the defaults staging / us-east-1,us-west-2. The state backend (stacks/backend.py)
comes from --backend / --state-bucket / --state-region, else cdktf.json `context.backend`,
else local (`state/<environment>/<stack>.tfstate` beside the output directory). Set SYNTH_HCL_OUTPUT=true (what
`cdktf synth --hcl` does) for HCL output. An invalid tfvars override exits 1 with one line.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from pathlib import Path

# jsii prints a large end-of-life banner for Node 20 on every start; it is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ROOT = Path(__file__).resolve().parent
RDS_CA_BUNDLE = ROOT / "functions" / "lib" / "rds-ca-bundle.pem"  # what functions/lib/config.py verifies against
sys.path.insert(0, str(ROOT))

from analysis.errors import EXIT_USAGE, UsageError  # noqa: E402
from stacks import DEFAULT_ENVIRONMENT, DEFAULT_REGIONS, hcl_synth  # noqa: E402  (pure, no cdktf)
from stacks.backend import BackendKind, StateBackend  # noqa: E402
from stacks.naming import ENVIRONMENT_RE, known_regions  # noqa: E402
from stacks.tfvars import TfvarsError, load_all  # noqa: E402


def _context() -> dict:
    """cdktf.json context, plus what the cdktf CLI passes in CDKTF_CONTEXT_JSON."""
    ctx: dict = {}
    try:
        ctx.update(json.loads((ROOT / "cdktf.json").read_text()).get("context", {}))
    except (OSError, ValueError):
        pass
    try:
        ctx.update(json.loads(os.environ.get("CDKTF_CONTEXT_JSON", "{}")))
    except ValueError:
        pass
    return ctx


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ctx = _context()
    regions = ctx.get("regions", list(DEFAULT_REGIONS))
    if isinstance(regions, str):
        regions = regions.split(",")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--environment", default=os.environ.get("RIGHTSIZE_ENVIRONMENT") or ctx.get("environment", DEFAULT_ENVIRONMENT)
    )
    p.add_argument(
        "--regions",
        default=os.environ.get("RIGHTSIZE_REGIONS") or ",".join(regions),
        help="comma-separated AWS regions",
    )
    raw_backend = ctx.get("backend")  # "local", or {"type": "s3", "bucket": ..., "region": ...}
    backend: dict = raw_backend if isinstance(raw_backend, dict) else {"type": raw_backend}
    p.add_argument(
        "--backend",
        choices=list(BackendKind),
        default=backend.get("type") or BackendKind.LOCAL,
        help="Terraform state: local files or an S3 bucket",
    )
    p.add_argument("--state-bucket", default=backend.get("bucket"), help="s3 backend: the state bucket")
    p.add_argument("--state-region", default=backend.get("region"), help="s3 backend: the bucket's region")
    p.add_argument("--outdir", default=None, help="output directory (default: cdktf.out, or CDKTF_OUTDIR)")
    p.add_argument(
        "--tfvars",
        default=os.path.relpath(ROOT / "tfvars"),
        help="root of tfvars/<environment>/<stack>.auto.tfvars.json",
    )
    args = p.parse_args(argv)
    args.regions = list(dict.fromkeys(r.strip() for r in args.regions.split(",") if r.strip()))
    if args.outdir:  # the jsii runtime does not share our working directory
        args.outdir = str(Path(args.outdir).resolve())
        Path(args.outdir).mkdir(parents=True, exist_ok=True)
    if not args.regions:
        p.error("--regions: at least one region")
    return args


def check_names(environment: str, regions: list[str]) -> None:
    """The environment and region codes end up in every name: UsageError (one line) if invalid."""
    if not re.fullmatch(ENVIRONMENT_RE, environment):
        raise UsageError(f"--environment {environment!r} must match {ENVIRONMENT_RE} (e.g. staging)")
    unknown = [r for r in regions if r not in known_regions()]
    if unknown:
        raise UsageError(f"--regions: unknown AWS region code(s) {', '.join(unknown)} (e.g. us-east-1)")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    hcl = hcl_synth()
    try:
        check_names(args.environment, args.regions)
        backend = StateBackend(args.backend, args.state_bucket, args.state_region)
        if hcl and backend.kind is not BackendKind.LOCAL:  # cdktf's HCL renderer drops use_lockfile
            raise UsageError("the HCL synth (SYNTH_HCL_OUTPUT, for checkov) takes the local backend only")
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_USAGE
    try:  # validate every override before anything imports cdktf (fails in ~0.1 s)
        overrides = load_all(args.tfvars, args.environment, args.regions)
    except TfvarsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    from stacks.app import synth  # imports cdktf

    result = synth(
        environment=args.environment,
        regions=args.regions,
        overrides=overrides,
        outdir=args.outdir,
        hcl=hcl,
        backend=backend,
    )
    if not RDS_CA_BUNDLE.is_file():
        print(
            f"warning: {RDS_CA_BUNDLE.relative_to(ROOT)} is missing: the PostgreSQL functions verify the "
            "server certificate against it and cannot connect; run `make rds-ca` before deploying",
            file=sys.stderr,
        )
    print(
        f"synthesized {len(result.stacks)} stacks for {args.environment} into {result.outdir}/stacks: "
        f"{', '.join(result.stacks)}"
        + (f"; overrides: {', '.join(map(str, result.overrides.values()))}" if result.overrides else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
