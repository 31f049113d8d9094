"""The batch work of a run spread over a Dask cluster (`dask.distributed`).

    with cluster_client(scheduler="tcp://host:8786") as client:      # or workers=4: a LocalCluster
        result = size_on(client, resources, snapshot, ctx, now=now)

Each task sizes one batch of resources from the (partitioned or resource-major) snapshot, which
every worker opens itself; results come back in report order, so the output is byte for byte
that of the single-process run. Dask is imported here only: without `--scheduler` / `--workers`
nothing about it is imported or required.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
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
