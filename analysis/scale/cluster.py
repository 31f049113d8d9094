"""The batch work of a run spread over a Dask cluster (`dask.distributed`).

    with cluster_client(scheduler="tcp://host:8786") as client:      # or workers=4: a LocalCluster
        result = size_on(client, resources, snapshot, ctx, now=now)

Each sizing task sizes one batch of resources from the (partitioned or resource-major) snapshot,
which every worker opens itself; results come back in report order, so the output is byte for
byte that of the single-process run. Each collection task collects one (account, region) into
parts of the run's parts directory, so workers need that directory on a shared filesystem.
Dask is imported here only: without `--scheduler` / `--workers` nothing about it is imported.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError, UsageError
from analysis.model import Resource
from analysis.scale.batches import DEFAULT_BATCH, BatchResult, batches, size_batch, with_peers
from analysis.sizing.policy import SizingContext


@contextmanager
def cluster_client(
    scheduler: str | None = None, workers: int | None = None, *, processes: bool = True
) -> Iterator[Any]:
    """A client of the scheduler at `scheduler`, else of a LocalCluster of `workers` processes."""
    if (scheduler is None) == (workers is None):
        raise UsageError("give exactly one of --scheduler ADDRESS or --workers N")
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--scheduler/--workers need dask.distributed: pip install 'rightsize[scale]' (or 'dask[distributed]')"
        ) from None
    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=30)
        except (OSError, TimeoutError) as e:
            raise AnalysisError(f"--scheduler {scheduler}: cannot connect ({type(e).__name__}: {e})") from None
        with client:
            yield client
        return
    with (
        LocalCluster(n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        yield client


def _size_task(batch: list[Resource], snapshot: str, ctx: SizingContext, now: int, declared: Any) -> BatchResult:
    from analysis.sources.snapshot import SnapshotSource

    return size_batch(batch, SnapshotSource(snapshot), ctx, now=now, declared=declared)


def size_on(
    client: Any,
    resources: Sequence[Resource],
    snapshot: str | Path,
    ctx: SizingContext,
    *,
    now: int,
    declared: tuple[int, int] | None = None,
    batch_size: int = DEFAULT_BATCH,
) -> BatchResult:
    """Every batch as a task on the cluster; the merged result in report order."""
    ctx = with_peers(ctx, resources)
    [shared] = client.scatter([ctx], broadcast=True)
    futures = [
        client.submit(_size_task, batch, str(snapshot), shared, now, declared, pure=False)
        for batch in batches(resources, batch_size)
    ]
    out = BatchResult([])
    for got in client.gather(futures):
        out.recommendations += got.recommendations
        out.rejections.update(got.rejections)
    return out


def connector_spec(connector: Any) -> dict[str, Any]:
    """What rebuilds a Connector on a worker (its clients, sessions and lock stay behind)."""
    return {f.name: getattr(connector, f.name) for f in fields(connector) if not f.name.startswith("_")}


def _collect_task(spec: dict[str, Any], job: Any, root: str, win: tuple[int, int, int], batch_size: int, workers: int):
    from analysis.collect import collect_region
    from analysis.sources.aws import Connector

    return collect_region(Connector(**spec), job, Path(root), win, batch_size, workers)


def collect_on(
    client: Any,
    connectors: Mapping[str, Any],
    jobs: Sequence[Any],
    root: Path,
    win: tuple[int, int, int],
    batch_size: int,
    max_workers: int,
) -> list[Any]:
    """Every (account, region) job of a collection as a task; results in job order."""
    futures = [
        client.submit(
            _collect_task, connector_spec(connectors[j.account]), j, str(root), win, batch_size, max_workers, pure=False
        )
        for j in jobs
    ]
    return list(client.gather(futures))
