"""Parquet snapshot: real CloudWatch traces (NAB) written, read back, gaps preserved, deterministic."""

import csv
from datetime import UTC, datetime

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from analysis.collect import coverage, resource_coverage
from analysis.errors import AnalysisError
from analysis.model import MetricQuery, Series
from analysis.sim.scenario import TRACES as NAB  # the real NAB CloudWatch traces the simulated account uses
from analysis.sources import open_source
from analysis.sources.snapshot import SnapshotSource, write_snapshot

DAY = 86_400
TRACES = {  # file -> (query, gaps counted in the CSV)
    "rds_cpu_utilization_cc0c53.csv": (
        MetricQuery.of("AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": "cc0c53"}, "Average"),
        1,
    ),
    "ec2_cpu_utilization_825cc2.csv": (
        MetricQuery.of("AWS/EC2", "CPUUtilization", {"AutoScalingGroupName": "825cc2"}, "Average"),
        2,
    ),
    "elb_request_count_8c0756.csv": (
        MetricQuery.of("AWS/NetworkELB", "NewFlowCount", {"LoadBalancer": "net/8c0756/1"}, "Sum"),
        8,
    ),
}


def read_trace(name, query, region="us-east-1"):
    rows = list(csv.DictReader((NAB / name).open()))
    ts = np.array([int(datetime.fromisoformat(r["timestamp"]).replace(tzinfo=UTC).timestamp()) for r in rows])
    return Series(region, query, ts, np.array([float(r["value"]) for r in rows]))


@pytest.fixture(scope="module")
def traces():
    return [read_trace(name, q) for name, (q, _) in TRACES.items()]


def window_of(series, days=45):
    """A 45-day window ending just after the trace: the trace covers about 14 of its days."""
    end = int(series.timestamps.max()) // 300 * 300 + 300
    return end - days * DAY, end


def test_traces_round_trip_with_their_gaps(traces, tmp_path):
    path = tmp_path / "nab.parquet"
    rows = write_snapshot(path, traces)
    assert rows == sum(len(s.timestamps) for s in traces)
    src = open_source(path)
    for s, (_name, (q, gaps)) in zip(traces, TRACES.items()):
        start, end = window_of(s)
        got = src.fetch("us-east-1", [q], start, end)[q]
        assert np.array_equal(got.timestamps, s.timestamps) and np.array_equal(got.values, s.values)
        assert got.values.dtype == np.float64 and got.timestamps.dtype == np.int64
        inner = int(np.count_nonzero(np.diff(got.timestamps) > 300))
        assert inner == gaps  # the gaps of the real trace survive the snapshot
        cov = coverage(got, start, end)
        assert cov.flag == "partial" and 14 <= cov.days_with_data <= 16 and cov.days_requested == 45
        assert cov.gaps == gaps + 1  # plus the ~31 days before the trace began
        assert cov.datapoints == len(s.timestamps) and cov.fraction < 0.35


def test_schema_and_row_order_are_the_documented_contract(traces, tmp_path):
    path = tmp_path / "nab.parquet"
    write_snapshot(path, traces, metadata={"window_start": 1})
    table = pq.read_table(path)
    assert table.column_names == [
        "region",
        "namespace",
        "metric_name",
        "dimensions",
        "stat",
        "period",
        "timestamp",
        "value",
    ]
    assert table.schema.field("timestamp").type == pa.timestamp("ms", tz="UTC")
    assert all(
        table.schema.field(c).type == pa.string() for c in ("region", "namespace", "metric_name", "dimensions", "stat")
    )
    assert pq.read_metadata(path).metadata[b"window_start"] == b"1"
    assert table.schema.field("value").type == pa.float64() and table.schema.field("period").type == pa.int64()
    dims = table["dimensions"].to_pylist()
    assert dims[0] == '{"AutoScalingGroupName":"825cc2"}'  # sorted keys, compact separators
    keys = list(
        zip(
            *(
                table[c].to_pylist()
                for c in ("region", "namespace", "metric_name", "dimensions", "stat", "period", "timestamp")
            )
        )
    )
    assert keys == sorted(keys)
    assert SnapshotSource(path).series_keys()[0][1] == "AWS/EC2"


def test_same_series_in_any_order_give_identical_bytes(traces, tmp_path):
    write_snapshot(tmp_path / "a.parquet", traces)
    shuffled = [Series(s.region, s.query, s.timestamps[::-1].copy(), s.values[::-1].copy()) for s in reversed(traces)]
    write_snapshot(tmp_path / "b.parquet", shuffled)
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()


def test_missing_series_and_empty_series_read_as_empty(traces, tmp_path):
    path = tmp_path / "nab.parquet"
    q_empty = MetricQuery.of("AWS/RDS", "ReplicaLag", {"DBInstanceIdentifier": "cc0c53"}, "Maximum")
    write_snapshot(path, traces + [Series("us-east-1", q_empty, np.zeros(0, np.int64), np.zeros(0))])
    start, end = window_of(traces[0])
    got = open_source(path).fetch("us-east-1", [q_empty, traces[0].query], start, end)
    assert len(got[q_empty].timestamps) == 0 and coverage(got[q_empty], start, end).flag == "none"
    other_region = open_source(path).fetch("eu-west-1", [traces[0].query], start, end)
    assert len(other_region[traces[0].query].timestamps) == 0
    rc = resource_coverage(list(got.values()), start, end)
    assert (rc["series"], rc["series_with_data"], rc["flag"]) == (2, 1, "partial")


def test_snapshot_written_by_another_tool_is_read(tmp_path):
    """Naive timestamps (UTC), microseconds, unsorted rows, dimensions with spaces and keys out of order."""
    path = tmp_path / "other.parquet"
    t0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    table = pa.table(
        {
            "region": ["us-west-2"] * 3,
            "namespace": ["AWS/ElastiCache"] * 3,
            "metric_name": ["CPUUtilization"] * 3,
            "dimensions": ['{"CacheNodeId": "0001", "CacheClusterId": "c-0001-001"}'] * 3,
            "stat": ["Maximum"] * 3,
            "period": pa.array([300] * 3, pa.int32()),
            "timestamp": pa.array([int((t0 + d) * 1e6) for d in (600, 0, 300)], pa.timestamp("us")),
            "value": [3.0, 1.0, 2.0],
        }
    )
    pq.write_table(table, path)
    q = MetricQuery.of(
        "AWS/ElastiCache", "CPUUtilization", {"CacheClusterId": "c-0001-001", "CacheNodeId": "0001"}, "Maximum"
    )
    got = open_source(path).fetch("us-west-2", [q], int(t0), int(t0) + 900)[q]
    assert list(got.timestamps - int(t0)) == [0, 300, 600] and list(got.values) == [1.0, 2.0, 3.0]


def test_bad_snapshots_fail_with_one_line(tmp_path):
    pq.write_table(pa.table({"region": ["x"], "value": [1.0]}), tmp_path / "cols.parquet")
    with pytest.raises(AnalysisError, match="lacks column"):
        open_source(tmp_path / "cols.parquet").fetch("x", [], 0, 1)
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(AnalysisError, match="cannot read metrics snapshot"):
        open_source(tmp_path / "junk.parquet").fetch("x", [], 0, 1)
    with pytest.raises(AnalysisError, match="not found"):
        open_source(tmp_path / "absent.parquet")


def test_failed_write_leaves_the_previous_snapshot(traces, tmp_path, monkeypatch):
    path = tmp_path / "nab.parquet"
    write_snapshot(path, traces[:1])
    before = path.read_bytes()

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq.ParquetWriter, "write_table", boom)
    with pytest.raises(OSError):
        write_snapshot(path, traces)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["nab.parquet"]


def test_other_commands_pick_snapshot_or_cloudwatch_from_their_flags(traces, tmp_path, monkeypatch):
    import argparse

    from analysis.args import add_source_arguments
    from analysis.sources import source_from_args
    from analysis.sources.cloudwatch import CloudWatchSource

    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    parser = argparse.ArgumentParser()
    add_source_arguments(parser)
    write_snapshot(tmp_path / "m.parquet", traces)
    assert isinstance(
        source_from_args(parser.parse_args(["--metrics-snapshot", str(tmp_path / "m.parquet")])), SnapshotSource
    )
    cw = source_from_args(parser.parse_args(["--profile", "p"]))
    assert isinstance(cw, CloudWatchSource) and cw.connector.endpoint_url == "http://127.0.0.1:9"
    assert cw.connector.profile == "p"
