"""GetMetricData at its limits, against botocore's Stubber: batching, paging, throttling, partial data."""

import time
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import registry
from analysis.bench.collect import synthetic_fleet as fleet
from analysis.collect import collect, coverage, window
from analysis.model import MetricQuery
from analysis.sources.cloudwatch import (
    MAX_DATAPOINTS,
    MAX_QUERIES,
    CloudWatchError,
    CloudWatchSource,
    expected_points,
    minimum_calls,
    plan_calls,
)

REGION = "us-east-1"
NOW = int(time.time()) // 3600 * 3600
DAY = 86_400


class StubConnector:
    """A real cloudwatch client with a Stubber; records the parameters of every request."""

    def __init__(self):
        self.cw = boto3.client("cloudwatch", region_name=REGION, aws_access_key_id="x", aws_secret_access_key="x")
        self.stub = Stubber(self.cw)
        self.sent = []
        self.cw.meta.events.register(
            "before-parameter-build.cloudwatch.GetMetricData", lambda params, **kw: self.sent.append(params)
        )

    def client(self, service, region, **kw):
        assert service == "cloudwatch"
        return self.cw


def source(conn, **kw):
    slept = []
    src = CloudWatchSource(conn, max_workers=1, sleep=slept.append, now=lambda: NOW, **kw)
    src.slept = slept
    return src


def result(qid, times, status="Complete"):
    return {
        "Id": qid,
        "Label": qid,
        "StatusCode": status,
        "Timestamps": [datetime.fromtimestamp(t, UTC) for t in times],
        "Values": [float(t % 97) for t in times],
    }


def echo(n, times=(), status="Complete", token=None):
    """A response answering queries q0..q{n-1}, each with the same timestamps."""
    out = {"MetricDataResults": [result(f"q{i}", times, status) for i in range(n)], "Messages": []}
    if token:
        out["NextToken"] = token
    return out


def fleet_queries(resources, period=300):
    kinds = registry.kinds()
    return [q for r in resources for q in kinds[r.kind].queries(r, period=period)]


def test_45_day_series_pack_seven_per_call_within_both_limits():
    start, end, period = window(45, NOW)
    assert (end - start, period) == (45 * DAY, 300)
    queries = fleet_queries(fleet(40))
    assert {expected_points(q, start, end) for q in queries} == {12_960}
    calls = plan_calls(queries, start, end)
    assert max(len(c) for c in calls) == 7  # 100,800 // 12,960
    assert sorted(map(id, (q for c in calls for q in c))) == sorted(map(id, dict.fromkeys(queries)))
    assert len(calls) == minimum_calls(queries, start, end) == -(-len(set(queries)) // 7)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from([60, 300, 3600, 86_400]), st.integers(0, 900)), min_size=1, max_size=6),
    st.integers(1, 60),
)
def test_any_mix_of_series_respects_the_limits(groups, days):
    start, end = NOW - days * DAY, NOW
    queries = [
        MetricQuery.of("NS", f"m{g}", {"id": str(i)}, "Maximum", period)
        for g, (period, count) in enumerate(groups)
        for i in range(count)
    ]
    calls = plan_calls(queries, start, end)
    assert sorted(q.metric_name + q.dimensions_json for c in calls for q in c) == sorted(
        q.metric_name + q.dimensions_json for q in set(queries)
    )
    for c in calls:
        points = sum(expected_points(q, start, end) for q in c)
        assert len(c) <= MAX_QUERIES and (points <= MAX_DATAPOINTS or len(c) == 1)
    assert minimum_calls(queries, start, end) <= len(calls)  # a lower bound, never above a real packing
    if len({q.period for q in queries}) == 1:
        assert len(calls) == minimum_calls(queries, start, end)  # one size: the bound is exact and met


def test_small_series_fill_500_queries_per_call():
    queries = [MetricQuery.of("AWS/Lambda", "Errors", {"FunctionName": f"f{i}"}, "Sum") for i in range(1001)]
    calls = plan_calls(queries, NOW - 7200, NOW)  # 24 points each: the 500-query limit binds
    assert [len(c) for c in calls] == [500, 500, 1] and minimum_calls(queries, NOW - 7200, NOW) == 3
    calls = plan_calls(queries, NOW - DAY, NOW)  # 288 points each: 100,800 // 288 = 350 per call
    assert [len(c) for c in calls] == [350, 350, 301] and minimum_calls(queries, NOW - DAY, NOW) == 3


def test_45_day_fleet_collection_uses_at_most_105_percent_of_minimum_calls():
    conn = StubConnector()
    start, end, period = window(45, NOW)
    queries = fleet_queries(fleet(60))
    plan = plan_calls(queries, start, end)
    for call in plan:
        conn.stub.add_response("get_metric_data", echo(len(call), [start, start + 300, start + 900]))
    src = source(conn)
    with conn.stub:
        got = src.fetch(REGION, queries, start, end)
    conn.stub.assert_no_pending_responses()
    u = src.usage
    assert u.calls == len(conn.sent) == len(plan)
    assert u.calls <= 1.05 * u.minimum_calls and u.minimum_calls == -(-len(set(queries)) // 7)
    assert u.metrics_requested == len(set(queries)) == u.series  # each series requested (billed) once
    assert u.cost_usd == pytest.approx(len(set(queries)) * 0.01 / 1000)
    for params in conn.sent:
        assert len(params["MetricDataQueries"]) <= MAX_QUERIES
        assert sum(-(-(45 * DAY) // q["MetricStat"]["Period"]) for q in params["MetricDataQueries"]) <= MAX_DATAPOINTS
        assert params["StartTime"] == datetime.fromtimestamp(start, UTC)
    s = got[queries[0]]
    assert list(s.timestamps) == [start, start + 300, start + 900] and s.values.dtype.name == "float64"
    assert coverage(s, start, end).gaps == 2


def test_next_token_pages_are_followed_and_joined():
    conn = StubConnector()
    queries = [
        MetricQuery.of("AWS/RDS", "CPUUtilization", {"DBInstanceIdentifier": f"db{i}"}, "Maximum") for i in range(3)
    ]
    start, end = NOW - DAY, NOW
    conn.stub.add_response("get_metric_data", echo(3, [start, start + 300], status="PartialData", token="page-2"))
    conn.stub.add_response(
        "get_metric_data",
        echo(3, [start + 600]),
        expected_params={
            "MetricDataQueries": conn_any(),
            "StartTime": conn_any(),
            "EndTime": conn_any(),
            "ScanBy": "TimestampAscending",
            "MaxDatapoints": MAX_DATAPOINTS,
            "NextToken": "page-2",
        },
    )
    src = source(conn)
    with conn.stub:
        got = src.fetch(REGION, queries, start, end)
    assert src.usage.calls == 2 and src.usage.planned_calls == 1 and src.usage.incomplete_series == 0
    assert all(list(got[q].timestamps) == [start, start + 300, start + 600] for q in queries)


def conn_any():
    from botocore.stub import ANY

    return ANY


def test_partial_data_without_token_is_asked_again_for_the_rest():
    conn = StubConnector()
    q = [MetricQuery.of("AWS/EC2", "CPUUtilization", {"AutoScalingGroupName": "g"}, s) for s in ("Average", "Maximum")]
    start, end = NOW - DAY, NOW
    first = echo(2, [start, start + 300])
    first["MetricDataResults"][1]["StatusCode"] = "PartialData"
    conn.stub.add_response("get_metric_data", first)
    conn.stub.add_response("get_metric_data", echo(1, [start + 600, start + 900]))
    src = source(conn)
    with conn.stub:
        got = src.fetch(REGION, q, start, end)
    follow_up = conn.sent[1]
    assert (
        len(follow_up["MetricDataQueries"]) == 1
        and follow_up["MetricDataQueries"][0]["MetricStat"]["Stat"] == "Maximum"
    )
    assert follow_up["StartTime"] == datetime.fromtimestamp(start + 600, UTC)
    assert len(got[q[0]].timestamps) == 2 and len(got[q[1]].timestamps) == 4 and src.usage.calls == 2


def test_throttling_is_retried_with_backoff_and_counted():
    conn = StubConnector()
    q = [MetricQuery.of("AWS/RDS", "ReadIOPS", {"DBInstanceIdentifier": "db"}, "Maximum")]
    for _ in range(2):
        conn.stub.add_client_error(
            "get_metric_data", service_error_code="Throttling", http_status_code=400, service_message="Rate exceeded"
        )
    conn.stub.add_response("get_metric_data", echo(1, [NOW - 600]))
    src = source(conn)
    with conn.stub:
        got = src.fetch(REGION, q, NOW - DAY, NOW)
    assert len(got[q[0]].timestamps) == 1
    assert (src.usage.calls, src.usage.throttled, src.usage.metrics_requested) == (3, 2, 1)
    assert len(src.slept) == 2 and src.slept[1] > src.slept[0] * 0.9  # backoff grows


def test_throttling_that_never_ends_and_access_denied_stop_the_region():
    conn = StubConnector()
    q = [MetricQuery.of("AWS/RDS", "ReadIOPS", {"DBInstanceIdentifier": "db"}, "Maximum")]
    for _ in range(3):
        conn.stub.add_client_error("get_metric_data", service_error_code="Throttling", http_status_code=400)
    with conn.stub, pytest.raises(CloudWatchError, match="throttled after 3 attempts"):
        source(conn, throttle_retries=2).fetch(REGION, q, NOW - DAY, NOW)
    conn.stub.add_client_error("get_metric_data", service_error_code="AccessDenied", http_status_code=403)
    with conn.stub, pytest.raises(CloudWatchError, match="access denied"):
        source(conn).fetch(REGION, q, NOW - DAY, NOW)


def test_one_minute_period_is_refused_for_a_window_older_than_15_days():
    conn = StubConnector()
    q = [MetricQuery.of("AWS/RDS", "ReadIOPS", {"DBInstanceIdentifier": "db"}, "Maximum", period=60)]
    with pytest.raises(ValueError, match="multiple of 300"):
        source(conn).fetch(REGION, q, NOW - 45 * DAY, NOW)
    assert window(90, NOW)[2] == 3600 and window(62, NOW)[2] == 300


def test_collect_skips_metrics_of_a_region_where_cloudwatch_is_denied(aws_credentials, tmp_path):
    """The whole run: inventory through moto, GetMetricData refused -> resources kept, one message."""
    from moto import mock_aws

    from analysis.sources.aws import Connector

    class DeniedCloudWatch(Connector):
        def client(self, service, region, **kw):
            c = super().client(service, region, **kw)
            if service == "cloudwatch":
                stub = Stubber(c)
                for _ in range(5):  # one per planned call (3), as the calls run in parallel
                    stub.add_client_error("get_metric_data", service_error_code="AccessDenied", http_status_code=403)
                stub.activate()
            return c

    with mock_aws():
        boto3.client("rds", region_name=REGION).create_db_instance(
            DBInstanceIdentifier="db1",
            DBInstanceClass="db.t3.micro",
            Engine="postgres",
            AllocatedStorage=20,
            MasterUsername="u",
            MasterUserPassword="password-123",
        )
        res = collect(
            DeniedCloudWatch(), [REGION], 45, stacks_dir=tmp_path / "none", output=tmp_path / "m.parquet", now=NOW
        )
    assert [r.resource_id for r in res.resources] == ["db1"]
    assert f"{REGION}: metrics skipped: cloudwatch:GetMetricData access denied (AccessDenied)" in res.messages
    assert (tmp_path / "m.parquet").exists() and (tmp_path / "m.inventory.json").exists()
