"""The Dask runner gives byte-for-byte the single-process answers; Dask stays optional."""

import json
import subprocess
import sys

import pytest

from analysis.report.records import records
from analysis.scale.batches import order, size_all, write_by_resource
from analysis.sources.snapshot import SnapshotSource
from tests.analysis.test_scale import NOW, SIZING_END, START, fleet, series_of


def as_json(result):
    recs = json.dumps(records(result.recommendations, "staging"), sort_keys=True)
    return recs + json.dumps({k: [r.line() for r in v] for k, v in result.rejections.items()}, sort_keys=True)


def test_local_cluster_matches_the_single_process_run(sizing_ctx, tmp_path):
    pytest.importorskip("dask.distributed")
    from analysis.scale.cluster import cluster_client, size_on

    resources = fleet(copies=1)
    path = tmp_path / "fleet.parquet"
    write_by_resource(path, resources, series_of, {"window_start": START, "window_end": SIZING_END})
    ctx = sizing_ctx()
    single = size_all(resources, SnapshotSource(path), ctx, now=NOW)
    with cluster_client(workers=2, processes=False) as client:
        distributed = size_on(client, resources, path, ctx, now=NOW, batch_size=2)
    assert as_json(distributed) == as_json(single)
    assert [r.resource.resource_id for r in distributed.recommendations] == [r.resource_id for r in order(resources)]


def test_nothing_imports_dask_without_the_flags():
    code = (
        "import sys, analysis.run, analysis.scale.batches, analysis.sources.snapshot, analysis.commands.run;"
        "assert not [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')], 'dask imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cluster_flags_are_checked():
    from analysis.errors import UsageError
    from analysis.scale.cluster import cluster_client

    with pytest.raises(UsageError, match="exactly one"):
        with cluster_client():
            pass
