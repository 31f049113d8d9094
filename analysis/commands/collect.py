"""`python -m analysis collect`: inventory + 45 days of CloudWatch metrics -> Parquet snapshot."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from pathlib import Path

from analysis.args import add_aws_arguments, add_scale_arguments, parse_days, parse_regions, parse_tags, scale_options
from analysis.cli import command
from analysis.collect import DEFAULT_DAYS, MAX_DAYS, MIN_DAYS, collect, summary_lines
from analysis.errors import AnalysisError, UsageError
from analysis.fsutil import check_writable_dir
from analysis.scale import accounts
from analysis.sources.aws import Connector


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_aws_arguments(p)
    p.add_argument(
        "--days",
        default=str(DEFAULT_DAYS),
        help=f"days of metrics to collect, {MIN_DAYS}..{MAX_DAYS} (default: {DEFAULT_DAYS})",
    )
    p.add_argument(
        "--tag",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="only resources with this tag (repeatable: same key = any of, different keys = all of)",
    )
    p.add_argument(
        "--output",
        default="out/metrics.parquet",
        metavar="PATH",
        help="snapshot to write; the inventory goes beside it as <name>.inventory.json (default: out/metrics.parquet)",
    )
    p.add_argument(
        "--stacks-dir",
        default="cdktf.out/stacks",
        metavar="DIR",
        help="synthesized stacks whose sizing_keys map resources to tfvars (default: cdktf.out/stacks)",
    )
    p.add_argument(
        "--max-workers",
        default="4",
        metavar="N",
        help="concurrent GetMetricData calls per region (default: 4; CloudWatch allows 50 TPS)",
    )
    p.add_argument(
        "--strict", action="store_true", help="exit 1 when any region or kind was skipped (files are still written)"
    )
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted collection from the batches already on disk (<output>.parts/)",
    )
    add_scale_arguments(p)


def parse_workers(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 50:
        raise UsageError(f"--max-workers must be 1..50; got {text!r}")
    return int(text)


def _progress():
    """A rich progress bar on stderr, or None when stdout or stderr is not a terminal."""
    if not (sys.stdout.isatty() and sys.stderr.isatty()):
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("GetMetricData {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    tasks: dict[str, int] = {}

    def update(region: str, done: int, total: int) -> None:
        if region not in tasks:
            tasks[region] = bar.add_task(region, total=total)
        bar.update(tasks[region], completed=done, total=total)

    return bar, update


@command("collect", "discover resources and collect their CloudWatch metrics into a Parquet snapshot")
def run(args: argparse.Namespace) -> int:
    days = parse_days(args.days)
    regions = parse_regions(args.regions)
    workers = parse_workers(args.max_workers)
    tags = parse_tags(args.tag)
    if not args.output.endswith(".parquet"):
        raise UsageError(f"--output must name a .parquet file; got {args.output!r}")
    output = Path(args.output)
    problem = f"{output} is a directory" if output.is_dir() else check_writable_dir(output.parent)
    if problem:  # before any AWS call: minutes of collection must not end in an unwritable path
        raise UsageError(f"--output {output}: {problem}")

    scale = scale_options(args)
    connector = Connector.from_env(args.profile, args.endpoint_url)
    targets = []
    if scale["accounts"]:
        ids = accounts.resolve(connector, scale["accounts"])
        targets = accounts.connectors(connector, ids, scale["role_name"], regions[0])
    cluster = None
    if scale["scheduler"] is not None or scale["workers"] is not None:
        from analysis.scale.cluster import cluster_client

        cluster = cluster_client(scale["scheduler"], scale["workers"])
    bar, update = _progress()
    with cluster or nullcontext() as client:
        try:
            if bar and client is None:
                bar.start()
            result = collect(
                connector,
                regions,
                days,
                tags,
                args.stacks_dir,
                args.output,
                max_workers=workers,
                progress=update if client is None else None,
                accounts=targets,
                batch_size=scale["batch_size"],
                resume=args.resume,
                client=client,
            )
        finally:
            if bar and client is None:
                bar.stop()
    for m in result.messages:
        print(m, file=sys.stderr)
    if not result.anything:
        raise AnalysisError(
            "nothing collected: every region was unreachable or every kind refused "
            f"({', '.join(result.unreachable_regions) or 'see messages above'})"
        )
    for line in summary_lines(result):
        print(line)
    skipped = result.unreachable_regions or any(" skipped" in m for m in result.messages)
    return 1 if args.strict and skipped else 0
