"""Report building blocks: records, CSV, totals, charts, plan preview, deterministic rendering."""

import csv
import io
import json

import numpy as np
from report_inputs import META, NO_SCHEDULE

from analysis.model import Change, Cost, Recommendation, Resource
from analysis.report import render
from analysis.report.charts import downsample_max, utilisation_svg
from analysis.report.plan import affected, preview, variable_readers
from analysis.report.records import records, render_csv, totals


def rec(kind="rds", rid="db1", stack="data-us-east-1", status="emitted", now=100.0, new=40.0, r3=None):
    keys = {"instance_class": "data_instance_class"} if stack else {}
    res = Resource(kind, "us-east-1", rid, None, {}, {"instance_class": "db.r6g.2xlarge"}, stack, keys)
    change = Change("instance_class", "db.r6g.2xlarge", "db.r6g.large", keys.get("instance_class"))
    return Recommendation(
        res,
        (change,),
        0.8,
        status,
        "why",
        "low",
        {"cpu": {"p99": np.float64(12.34567)}},
        Cost(now, now * 0.7, r3),
        Cost(new, new * 0.7, r3),
        "blue-green",
    )


def test_record_has_schema_fields_and_unmanaged_is_null():
    managed, unmanaged = records([rec(), rec(rid="db2", stack=None)], "staging")
    assert managed["tfvars_file"] == "tfvars/staging/data-us-east-1.auto.tfvars.json"
    assert managed["changes"][0]["tfvars_key"] == "data_instance_class"
    assert managed["monthly_savings"] == {"on_demand": 60.0, "reserved_1yr": 42.0, "reserved_3yr": None}
    assert managed["evidence"] == {"cpu": {"p99": 12.3457}}
    assert unmanaged["tfvars_file"] is None and unmanaged["changes"][0]["tfvars_key"] is None


def test_csv_marks_unmanaged_and_missing_savings_blank():
    rows = list(csv.DictReader(io.StringIO(render_csv(records([rec(stack=None)], "staging")))))
    assert rows[0]["tfvars_file"] == "unmanaged" and rows[0]["tfvars_key"] == "unmanaged"
    assert rows[0]["monthly_savings_reserved_3yr"] == ""


def test_totals_count_only_emitted_as_changed_and_flag_missing_terms():
    rows = totals(records([rec(), rec(rid="db2", status="below-threshold", now=50.0, new=10.0)], "staging"))
    total = rows[-1]
    assert total["tier"] == "total" and total["resources"] == 2 and total["emitted"] == 1
    assert total["current"]["on_demand"] == 150.0 and total["proposed"]["on_demand"] == 90.0
    assert total["savings"]["on_demand"] == 60.0
    assert total["current"]["reserved_3yr"] is None and "reserved_3yr" in total["incomplete"]


def test_downsample_keeps_every_spike():
    ts = np.arange(10_000)
    vs = np.zeros(10_000)
    vs[1234] = 99.0
    _, out = downsample_max(ts, vs, buckets=100)
    assert len(out) == 100 and out.max() == 99.0


def test_chart_is_titled_zoomed_to_demand_and_proposal_with_a_legend():
    ts, demand = np.arange(0, 3000, 300), np.linspace(1, 30, 10)
    svg = utilisation_svg("cpu", "vCPU", ts, demand, 100.0, 50.0, p99=28.0)
    assert svg.count("<polyline") == 1
    assert '<text x="56" y="16" class="title">cpu (vCPU); peak 60% of the proposed capacity</text>' in svg
    assert 'class="proposed"/>' in svg and 'class="p99"/>' in svg
    # today's 100 would squeeze demand and proposal into the bottom half: named, not drawn
    assert 'class="current"/>' not in svg and "current 100 (above the chart)" in svg
    assert ">57.5</text>" in svg  # the axis tops out at 1.15 x the proposed capacity
    assert all(f"{name} " in svg for name in ("demand", "p99", "proposed"))
    fits = utilisation_svg("cpu", "vCPU", ts, demand, 40.0, 35.0)
    assert 'class="current"/>' in fits and "above the chart" not in fits
    assert "no datapoints" in utilisation_svg("CPU", "%", np.array([]), np.array([]), 1.0, 1.0)


STACK = {
    "resource": {
        "aws_db_instance": {
            "primary": {"instance_class": "${var.data_instance_class}"},
            "replica": {"instance_class": "${var.data_replica_instance_class}"},
        },
        "aws_lambda_function": {
            "orders": {"memory_size": '${var.serverless_memory_size["orders"]}'},
            "catalog": {"memory_size": '${lookup(var.serverless_memory_size, "catalog")}'},
            "reports": {"memory_size": '${local.memory_size["reports"]}'},
        },
    },
    "locals": {"memory_size": '${merge({ "orders" = 1, "reports" = 1 }, var.serverless_memory_size)}'},
}


def test_plan_preview_finds_the_resources_reading_a_variable_and_map_key():
    readers = variable_readers(STACK)
    assert affected(readers, "data_instance_class") == ("aws_db_instance.primary",)
    assert affected(readers, "serverless_memory_size.orders") == ("aws_lambda_function.orders",)
    assert affected(readers, "serverless_memory_size.catalog") == ("aws_lambda_function.catalog",)
    assert affected(readers, "serverless_memory_size.reports") == ("aws_lambda_function.reports",)


def test_plan_preview_skips_unmanaged_and_not_emitted(tmp_path):
    (tmp_path / "data-us-east-1").mkdir()
    (tmp_path / "data-us-east-1" / "cdk.tf.json").write_text(json.dumps(STACK))
    recs = records([rec(), rec(rid="x", stack=None), rec(rid="y", status="excluded")], "staging")
    recs[0]["rollout"] = "in-place"  # a Blue/Green key is written after the switchover: nothing to plan
    plan = preview(recs, tmp_path)
    assert list(plan) == ["data-us-east-1"]
    assert [c.addresses for c in plan["data-us-east-1"].changes] == [("aws_db_instance.primary",)]
    assert plan["data-us-east-1"].summary == "Plan: 0 to add, 1 to change, 0 to destroy."


def test_render_is_deterministic_and_complete(tmp_path):
    recs = records([rec(), rec(rid="db2", status="excluded")], "staging")
    charts = {"us-east-1/db1": [utilisation_svg("CPU", "%", np.arange(0, 3000, 300), np.ones(10), 100.0, 50.0)]}
    schedule = NO_SCHEDULE
    first = render(recs, META, charts, preview(recs, tmp_path), "--- a\n+++ b\n", schedule)
    second = render(recs, META, charts, preview(recs, tmp_path), "--- a\n+++ b\n", schedule)
    assert first == second
    assert set(first) == {
        "report.html",
        "report.md",
        "plan-preview.md",
        "recommendations.json",
        "recommendations.csv",
        "schedule.json",
    }
    assert "No schedule: used around the clock" in first["report.html"]
    assert "Simulated account" in first["report.html"] and "<svg" in first["report.html"]
    assert "http://" not in first["report.html"].replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert json.loads(first["recommendations.json"])["schema_version"] == 1
