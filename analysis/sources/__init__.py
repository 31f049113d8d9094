"""Where metrics come from: CloudWatch (GetMetricData) or a Parquet snapshot.

`open_source` / `source_from_args` pick one; both implementations satisfy analysis.model.MetricsSource. Heavy
imports happen on first use.
"""

from __future__ import annotations

import argparse
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


def source_from_args(args: argparse.Namespace) -> MetricsSource:
    """The source the flags of `analysis.args.add_source_arguments` name."""
    return open_source(getattr(args, "metrics_snapshot", None), profile=args.profile, endpoint_url=args.endpoint_url)
