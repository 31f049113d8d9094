"""Where metrics come from: CloudWatch (GetMetricData) or a Parquet snapshot.

Other commands call `add_source_arguments(parser)` and then `source_from_args(args)`; both
implementations satisfy analysis.model.MetricsSource. Heavy imports happen on first use.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from analysis.model import MetricsSource


def open_source(
    snapshot: str | Path | None = None,
    *,
    profile: str | None = None,
    endpoint_url: str | None = None,
    max_workers: int = 4,
) -> MetricsSource:
    """A snapshot path (file or directory) -> SnapshotSource; None -> CloudWatchSource (profile / endpoint / AWS_ENDPOINT_URL)."""
    if snapshot is not None:
        from analysis.errors import AnalysisError
        from analysis.sources.snapshot import SnapshotSource

        if not Path(snapshot).exists():
            raise AnalysisError(f"{snapshot}: metrics snapshot not found")
        return SnapshotSource(snapshot)
    from analysis.sources.aws import Connector
    from analysis.sources.cloudwatch import CloudWatchSource

    return CloudWatchSource(Connector.from_env(profile, endpoint_url), max_workers=max_workers)


def add_source_arguments(parser: argparse.ArgumentParser, *, snapshot: bool = True) -> None:
    """--metrics-snapshot (read a snapshot instead of CloudWatch), --profile, --endpoint-url."""
    if snapshot:
        parser.add_argument(
            "--metrics-snapshot",
            metavar="PATH",
            help="read metrics from this Parquet snapshot (written by `collect`) instead of CloudWatch",
        )
    parser.add_argument("--profile", help="AWS profile (default: the standard credential chain)")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL"),
        help="send every AWS call to this AWS-compatible endpoint, e.g. a moto server (default: $AWS_ENDPOINT_URL)",
    )


def source_from_args(args: argparse.Namespace) -> MetricsSource:
    return open_source(getattr(args, "metrics_snapshot", None), profile=args.profile, endpoint_url=args.endpoint_url)
