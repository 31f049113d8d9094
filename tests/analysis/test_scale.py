"""Sizing in batches from a resource-major snapshot: the same answers as the whole-file path,
bounded reads, and bad metrics quarantined with their reason (never sized, never a traceback)."""

import numpy as np
import pyarrow.parquet as pq
import pytest

from analysis.bench.scale import copy_of
from analysis.collect import resource_key
from analysis.enums import Status
from analysis.errors import AnalysisError
from analysis.model import Series
from analysis.scale.batches import batches, size_all, write_by_resource
from analysis.sim.scenario import model_for, seed_of
from analysis.sizing.engine import analyse
from analysis.sources.snapshot import CACHED_ROW_GROUPS, INDEX_KEY, SnapshotSource, SnapshotWriter, write_snapshot
from analysis.synthetic import generate
from tests.analysis.conftest import SIZING_DAYS, SIZING_END, staging_resource

START = SIZING_END - SIZING_DAYS * 86_400
NOW = SIZING_END + 3600


def fleet(copies=2):
    """The staging kinds, `copies` times each, ids renamed as the benchmark's fleets are."""
    names = ("rds", "rds_replica", "elasticache", "asg", "lambda", "nat")
    return [copy_of(staging_resource(name), i) for i in range(copies) for name in names]


def series_of(r):
    points = SIZING_DAYS * 86_400 // 300
    return generate(r, model_for(r, points), START, SIZING_END, seed=seed_of(r)).values()


def records(recs):
    return [
        (r.resource.resource_id, r.status, r.confidence, r.reason, tuple((c.field, c.proposed) for c in r.changes))
        for r in recs
    ]


@pytest.fixture(scope="module")
def resources():
    return fleet()


@pytest.fixture(scope="module")
def snapshot(resources, tmp_path_factory):
    path = tmp_path_factory.mktemp("scale") / "fleet.parquet"
    write_by_resource(path, resources, series_of, {"window_start": START, "window_end": SIZING_END}, batch_size=5)
    return path


def test_resource_major_file_is_indexed_and_bounded(resources, snapshot, tmp_path):
    meta = pq.read_metadata(snapshot)
    assert INDEX_KEY.encode() in meta.metadata and meta.metadata[b"window_end"] == str(SIZING_END).encode()
    src = SnapshotSource(snapshot)
    assert all(src.indexed(resource_key(r)) for r in resources)
    assert src.declared_window() == (START, SIZING_END)
    # small row groups: a resource's read decodes only the row groups holding its rows
    with SnapshotWriter(tmp_path / "small.parquet", row_group_rows=50_000) as w:
        w.write([(resource_key(r), list(series_of(r))) for r in resources])
    small = SnapshotSource(tmp_path / "small.parquet")
    assert pq.read_metadata(tmp_path / "small.parquet").num_row_groups > 20
    for r in resources:
        want = {s.query: s for s in series_of(r)}
        got = small.fetch_resource(resource_key(r), r.region, list(want), START, SIZING_END)
        assert all(np.array_equal(got[q].values, s.values) for q, s in want.items())
        a, b = small.parts()[0].index[resource_key(r)]
        assert b - a == sum(len(s.values) for s in want.values())
        assert len(small._row_groups) <= CACHED_ROW_GROUPS
    # same input, same bytes
    meta = {"window_start": START, "window_end": SIZING_END}
    write_by_resource(tmp_path / "again.parquet", list(reversed(resources)), series_of, meta, batch_size=5)
    assert (tmp_path / "again.parquet").read_bytes() == snapshot.read_bytes()


def test_batches_give_the_same_answers_as_the_whole_file(resources, snapshot, sizing_ctx, tmp_path):
    ctx = sizing_ctx()
    whole = tmp_path / "whole.parquet"
    write_snapshot(whole, [s for r in resources for s in series_of(r)])  # old order, no index
    expected = records(analyse(resources, SnapshotSource(whole), ctx))
    for batch_size in (1, 5):
        got = size_all(resources, SnapshotSource(snapshot), ctx, now=NOW, batch_size=batch_size)
        assert records(got.recommendations) == expected and not got.rejections
    # the old (unindexed) order takes the slower path and still agrees
    assert records(size_all(resources, SnapshotSource(whole), ctx, now=NOW).recommendations) == expected
    assert [len(b) for b in batches(resources, 5)] == [5, 5, 2]


def test_a_directory_of_parquet_files_is_one_snapshot(resources, sizing_ctx, tmp_path):
    ctx = sizing_ctx()
    d = tmp_path / "parts"
    for i, batch in enumerate(batches(resources, 4)):
        write_by_resource(d / f"region=us-east-1/part-{i:05d}.parquet", batch, series_of)
    one = tmp_path / "one.parquet"
    write_by_resource(one, resources, series_of)
    a = size_all(resources, SnapshotSource(d), ctx, now=NOW)
    b = size_all(resources, SnapshotSource(one), ctx, now=NOW)
    assert records(a.recommendations) == records(b.recommendations)


YEAR_2100 = 4_102_444_800


def corrupt(series, metric, how):
    """The resource's `metric` series with one kind of bad data."""
    out = []
    for s in series:
        if s.query.metric_name != metric:
            out.append(s)
            continue
        ts, v = s.timestamps.copy(), s.values.copy()
        if how == "negative":
            v = -np.abs(v) - 1
        elif how == "inf":
            v[10] = np.inf
        elif how == "-inf":
            v[10] = -np.inf
        elif how == "nan":
            v[10] = np.nan
        elif how == "huge":
            v[:] = 1e308
        elif how == "over-100":
            v[5] = 100.5
        elif how == "future":
            ts = np.append(ts, YEAR_2100)
            v = np.append(v, 1.0)
        elif how == "before-window":
            ts = np.insert(ts, 0, START - 86_400)
            v = np.insert(v, 0, 1.0)
        out.append(Series(s.region, s.query, ts, v))
    return out


@pytest.mark.parametrize(
    "metric, how, reason",
    [
        ("CPUUtilization", "negative", "value below the physical range"),
        ("FreeableMemory", "inf", "non-finite value"),
        ("DatabaseConnections", "-inf", "non-finite value"),
        ("ReadIOPS", "nan", "non-finite value"),
        ("WriteThroughput", "huge", "value above the physical range"),
        ("CPUUtilization", "over-100", "value above the physical range"),
        ("ReadIOPS", "future", "timestamp in the future"),
        ("WriteIOPS", "before-window", "timestamp outside the window"),
    ],
)
def test_bad_metrics_quarantine_their_resource(sizing_ctx, tmp_path, metric, how, reason):
    resources = fleet(copies=1)
    bad = resources[0]  # an rds primary
    assert bad.kind == "rds"

    def series_with_fault(r):
        return corrupt(series_of(r), metric, how) if r is bad else series_of(r)

    path = tmp_path / "bad.parquet"
    write_by_resource(path, resources, series_with_fault, {"window_start": START, "window_end": SIZING_END})
    src = SnapshotSource(path)
    assert src.time_range(now=NOW)[1] < SIZING_END  # a 2100 row never moves the window
    got = size_all(resources, src, sizing_ctx(), now=NOW, declared=src.declared_window())
    by_id = {r.resource.resource_id: r for r in got.recommendations}
    rec = by_id[bad.resource_id]
    assert rec.status == Status.QUARANTINED and not rec.changes and rec.confidence == 0.0
    assert reason in rec.reason and metric in rec.reason
    assert list(got.rejections) == [resource_key(bad)]
    assert {x.reason for x in got.rejections[resource_key(bad)]} == {reason}
    assert all(r.status != Status.QUARANTINED for r in got.recommendations if r.resource is not bad)


def test_the_window_ends_at_the_declared_end_or_the_last_datapoint_never_after_the_clock(tmp_path):
    r = fleet(copies=1)[5]
    series = list(series_of(r))
    last = max(int(s.timestamps[-1]) for s in series)
    write_by_resource(tmp_path / "declared.parquet", [r], series_of, {"window_start": START, "window_end": SIZING_END})
    assert SnapshotSource(tmp_path / "declared.parquet").window_end(now=NOW) == SIZING_END
    bogus = {"window_start": START, "window_end": YEAR_2100}
    write_by_resource(
        tmp_path / "bogus.parquet", [r], lambda r: corrupt(series_of(r), series[0].query.metric_name, "future"), bogus
    )
    assert SnapshotSource(tmp_path / "bogus.parquet").window_end(now=NOW) == last - last % 300 + 300
    with pytest.raises(AnalysisError, match="no datapoints up to now"):
        SnapshotSource(tmp_path / "bogus.parquet").window_end(now=START - 86_400 * 30)
