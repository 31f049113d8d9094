"""Sizing follows the demand curve: Lambda memory with its CPU, elastic Auto Scaling groups,
every proposal replayed against its window, a database class checked against its clients.

Each trap is a synthetic workload with a known true demand (and, for the elastic group, a real
NAB CloudWatch trace); the assertions are on what a platform team would apply.
"""

import math

import boto3
import numpy as np
import pytest
from moto import mock_aws

from analysis.kinds.asg.inventory import discover as discover_asgs
from analysis.kinds.lambda_.duration import VCPU_MB, DurationModel, vcpus
from analysis.registry import get
from analysis.report.charts import projected_svg
from analysis.sim.scenario import TRACES
from analysis.sizing.engine import analyse
from analysis.sizing.policy import Policy
from analysis.sources.aws import Connector
from analysis.synthetic import DemandModel, generate, load_trace, regular, true_demand

END = 1_760_054_400
START = END - 45 * 86400


def size(r, model, ctx, seed=3):
    return get(r.kind).size(r, generate(r, model, START, END, seed=seed), ctx)


def proposed(rec):
    return {**rec.resource.config, **{c.field: c.proposed for c in rec.changes}}


# --- Lambda: memory, CPU and duration together ---------------------------------------------------


def test_duration_model_cpu_bound_io_bound_and_threads():
    cpu_bound = DurationModel(3008, 1000, 980)  # single-threaded: one vCPU is all it uses
    assert cpu_bound.threads == 1 and cpu_bound.ratio(VCPU_MB) == pytest.approx(1.0)
    assert cpu_bound.ratio(256) == pytest.approx(0.02 + 0.98 * VCPU_MB / 256)  # ~7x longer
    io_bound = DurationModel(3008, 1000, 20)
    assert io_bound.ratio(256) < 1.2
    threaded = DurationModel(10240, 1000, 3000)  # 3 threads busy: gains up to 3 vCPUs
    assert threaded.threads == 3 and threaded.ratio(3 * VCPU_MB) == pytest.approx(1.0)
    assert threaded.ratio(VCPU_MB) == pytest.approx(3.0)
    assert vcpus(10240) == pytest.approx(10240 / VCPU_MB) and vcpus(10**6) == 6


def test_cpu_bound_function_keeps_its_cpu(sizing_resource, sizing_ctx):
    """3008 MB -> 256 MB would run ~7x longer for no fewer GB-seconds: the latency budget stops it."""
    r, ctx = sizing_resource("lambda"), sizing_ctx()
    model = DemandModel({"concurrency": 10, "memory": 200}, params={"duration_ms": 800, "cpu_ms": 780})
    rec = size(r, model, ctx)
    new, ev = proposed(rec), rec.evidence["duration"]
    assert new["memory_size"] >= VCPU_MB / 1.1  # a single thread still gets (almost) a whole vCPU
    assert ev["p99_ms"]["predicted"] <= ev["p99_ms"]["today"] * 1.1 + 1e-9
    assert ev["cpu_share"] > 0.9 and ev["model"] == "cpu_total_time"
    # the saving is real: predicted GB-seconds are lower (3008 MB bought CPU a single thread cannot use)
    assert ev["gb_seconds_month"]["predicted"] < ev["gb_seconds_month"]["today"]
    assert rec.cost_proposed.on_demand < rec.cost_current.on_demand


def test_io_bound_function_goes_down_and_concurrency_follows_the_duration(sizing_resource, sizing_ctx):
    r, ctx = sizing_resource("lambda"), sizing_ctx()
    model = DemandModel({"concurrency": 20, "memory": 300}, params={"duration_ms": 200, "cpu_ms": 10})
    rec = size(r, model, ctx)
    new, ev = proposed(rec), rec.evidence["duration"]
    assert new["memory_size"] < 1024 and ev["ratio"] > 1  # less CPU: a little slower, within budget
    assert ev["p99_ms"]["predicted"] <= ev["p99_ms"]["today"] * 1.1 + 1e-9
    _, truth = true_demand(model, START, END, seed=3)
    # concurrency = rate x duration: reserved covers the peak at the predicted duration
    assert new["reserved_concurrency"] >= math.ceil(np.round(truth["concurrency"]).max() * 1.1 * ev["ratio"] - 1e-9)
    assert rec.status == "emitted"


def test_latency_budget_is_an_option(sizing_resource, sizing_ctx):
    from analysis.sizing.policy import Options

    r = sizing_resource("lambda")
    model = DemandModel({"concurrency": 20, "memory": 300}, params={"duration_ms": 200, "cpu_ms": 60})
    tight = proposed(size(r, model, sizing_ctx(options=Options(lambda_latency_budget=0.0))))
    loose = proposed(size(r, model, sizing_ctx(options=Options(lambda_latency_budget=0.5))))
    assert loose["memory_size"] < tight["memory_size"]
    with pytest.raises(ValueError):
        Options(lambda_latency_budget=-0.1)


def test_without_cpu_total_time_memory_never_below_one_vcpu(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("lambda"), DemandModel({"concurrency": 10, "memory": 200}), sizing_ctx())
    assert proposed(rec)["memory_size"] == VCPU_MB
    assert "CPU share is unknown" in rec.reason and rec.evidence["duration"]["model"].startswith("unchanged")
    small = size(
        sizing_resource("lambda", memory_size=512), DemandModel({"concurrency": 10, "memory": 200}), sizing_ctx()
    )
    assert proposed(small)["memory_size"] == 512  # min(today, 1,769 MB): never lowered blind


# --- Auto Scaling groups: keep elasticity ---------------------------------------------------------

ELASTIC = {"min_size": 2, "max_size": 12, "desired_capacity": 3, "scaling_policies": ("cpu-target",)}


def test_elastic_group_keeps_min_below_peak_and_leaves_desired_to_the_policy(sizing_resource, sizing_ctx):
    r, ctx = sizing_resource("asg", **ELASTIC), sizing_ctx()
    model = DemandModel({"cpu": 60, "network": 1.0}, trough=0.1, params={"target_cpu": 50})
    rec = size(r, model, ctx)
    new = proposed(rec)
    assert "desired_capacity" not in {c.field for c in rec.changes}
    spec = ctx.specs.spec("ec2", new["instance_type"])
    _, truth = true_demand(model, START, END, seed=3)
    peak_count = math.ceil(truth["cpu"].max() / spec["vcpu"])
    assert new["min_size"] < peak_count <= new["max_size"]
    assert new["max_size"] * spec["vcpu"] >= truth["cpu"].max() * 1.1  # the peak fits under max
    replay = rec.evidence["replay"]
    assert replay["minutes_over_capacity"] == 0 and rec.status == "emitted"
    elastic = rec.evidence["elastic"]["instances_in_service_mean"]
    # priced on instance-hours: today's count varied, so today's cost is below desired x price around the clock
    hourly = ctx.prices.term_price("ec2", r.region, "c5.4xlarge", "linux_shared", "on_demand").value
    assert rec.cost_current.on_demand == pytest.approx(elastic["today"] * hourly * 730)
    assert rec.cost_proposed.on_demand < rec.cost_current.on_demand


def test_fixed_group_is_sized_as_before(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("asg"), DemandModel({"cpu": 12, "network": 0.5}, shape="steady"), sizing_ctx())
    new = proposed(rec)
    assert new["min_size"] == new["desired_capacity"] and "elastic" not in rec.evidence
    assert rec.evidence["replay"]["minutes_over_capacity"] == 0


def test_elastic_group_on_a_real_trace(sizing_resource, sizing_ctx):
    ts, values = load_trace(TRACES / "ec2_cpu_utilization_24ae8d.csv")
    grid = regular(ts, values)
    grid = grid / np.nanmax(grid) * 40  # the trace's shape, at a peak of 40 vCPU
    days = len(grid) * 300 / 86400
    ctx = sizing_ctx(days=days)
    model = DemandModel(
        {"cpu": float(np.nanmax(grid)), "network": 0.2}, shape="steady", traces={"cpu": grid}, params={"target_cpu": 50}
    )
    r = sizing_resource("asg", **ELASTIC)
    rec = get("asg").size(r, generate(r, model, ctx.window.start, ctx.window.end, seed=1), ctx)
    new = proposed(rec)
    spec = ctx.specs.spec("ec2", new["instance_type"])
    assert new["min_size"] < math.ceil(40 / spec["vcpu"]) <= new["max_size"]
    assert rec.evidence["replay"]["minutes_over_capacity"] == 0 and rec.status == "emitted"
    assert set(rec.utilisation) >= {"cpu", "network"}


def test_inventory_reads_scaling_policies(aws_credentials):
    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        asg = boto3.client("autoscaling", region_name="us-east-1")
        image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        ec2.create_launch_template(
            LaunchTemplateName="app-lt", LaunchTemplateData={"InstanceType": "c5.large", "ImageId": image}
        )
        for name in ("elastic", "fixed"):
            asg.create_auto_scaling_group(
                AutoScalingGroupName=name,
                LaunchTemplate={"LaunchTemplateName": "app-lt"},
                MinSize=1,
                MaxSize=4,
                AvailabilityZones=["us-east-1a"],
            )
        asg.put_scaling_policy(
            AutoScalingGroupName="elastic",
            PolicyName="cpu-target",
            PolicyType="TargetTrackingScaling",
            TargetTrackingConfiguration={
                "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                "TargetValue": 40.0,
            },
        )
        found = {r.resource_id: r.config for r in discover_asgs(Connector().region("us-east-1"))}
    assert found["elastic"]["scaling_policies"] == ("cpu-target",) and found["elastic"]["target_cpu_utilization"] == 40
    assert found["fixed"]["scaling_policies"] == () and found["fixed"]["target_cpu_utilization"] is None


# --- replay -----------------------------------------------------------------------------------------


def test_replay_rejects_a_proposal_that_would_have_saturated(sizing_resource, sizing_ctx):
    """Sized to p95 without the peak guard, rare spikes run over the new class: not emitted."""
    ctx = sizing_ctx(policy=Policy.uniform(95.0, 0.2, None))
    model = DemandModel(
        {"cpu": 6.0, "memory": 6, "connections": 100, "iops": 1500, "throughput": 30}, shape="spikes", spikes_per_week=1
    )
    rec = size(sizing_resource("rds"), model, ctx)
    replay = rec.evidence["replay"]
    assert rec.status == "rejected" and replay["minutes_over_capacity"] > 0
    assert replay["dimensions"]["cpu"]["first_over"] is not None
    assert "over capacity for" in rec.reason and "worst +" in rec.reason
    guarded = size(sizing_resource("rds"), model, sizing_ctx())  # the default peak guard keeps it safe
    assert guarded.status == "emitted" and guarded.evidence["replay"]["minutes_over_capacity"] == 0


def test_every_record_carries_its_replay(sizing_resource, sizing_ctx):
    ctx = sizing_ctx()
    models = {
        "rds": DemandModel({"cpu": 1.5, "memory": 7, "connections": 150, "iops": 2000, "throughput": 30}),
        "asg": DemandModel({"cpu": 6, "network": 0.4}),
        "lambda": DemandModel({"concurrency": 12, "memory": 300}, params={"cpu_ms": 10}),
    }
    for kind, model in models.items():
        rec = size(sizing_resource(kind), model, ctx)
        replay = rec.evidence["replay"]
        assert {"minutes_over_capacity", "p99_utilisation", "peak_utilisation", "cost_window", "binding"} <= set(replay)
        assert replay["cost_window"]["current"] > 0 and replay["peak_utilisation"] > 0
        dim = replay["binding"]
        ts, today, projected = rec.utilisation[dim]
        svg = projected_svg(dim, ts, today, projected)
        assert svg.count("<polyline") == 2 and "100%" in svg


# --- coupled limits -------------------------------------------------------------------------------


def test_database_downsize_that_would_starve_its_clients_is_flagged(sizing_resource, sizing_ctx):
    ctx = sizing_ctx()
    db = sizing_resource("rds")
    group = sizing_resource("asg", max_size=180)  # x 10 connections per instance = 1,800
    fn = sizing_resource("lambda", reserved_concurrency=200)  # orders is wired to the database
    model = DemandModel({"cpu": 1.0, "memory": 6, "connections": 120, "iops": 1000, "throughput": 20})
    series = generate(db, model, START, END, seed=4)
    rec = next(r for r in analyse([db, group, fn], series, ctx) if r.resource.kind == "rds")
    coupled = rec.evidence["client_connections"]
    assert coupled["total"] == 2000 and coupled["clients"][group.resource_id] == 1800
    assert rec.status == "rejected" and "could open 2000" in rec.reason
    assert coupled["max_connections"][1] < 2000 <= coupled["max_connections"][0]
    # with clients that fit, the same downsize is emitted
    calm = next(
        r for r in analyse([db, sizing_resource("asg", max_size=12), fn], series, ctx) if r.resource.kind == "rds"
    )
    assert calm.status == "emitted" and calm.evidence["client_connections"]["total"] == 320


@pytest.mark.parametrize("cpu_ms", [8.0, 60.0, 190.0])
def test_applied_lambda_proposal_is_a_fixed_point(cpu_ms, sizing_resource, sizing_ctx):
    """The simulated function runs longer at less memory; sizing it again after the change
    proposes nothing (the latency budget is not spent twice)."""
    ctx = sizing_ctx()
    model = DemandModel({"concurrency": 25, "memory": 300}, params={"duration_ms": 200, "cpu_ms": cpu_ms})
    first = size(sizing_resource("lambda"), model, ctx)
    applied = sizing_resource("lambda", **{c.field: c.proposed for c in first.changes})
    again = size(applied, model, ctx)
    assert first.changes and again.status == "no-change", again.changes


def test_slow_function_keeps_its_memory_and_the_reason_shows_the_durations(sizing_resource, sizing_ctx):
    model = DemandModel({"concurrency": 5, "memory": 200}, params={"duration_ms": 700, "cpu_ms": 20})
    slow = size(sizing_resource("lambda", timeout=2), model, sizing_ctx())  # p99 ~1.1 s of a 2 s timeout
    assert "memory_size" not in {c.field for c in slow.changes} and "no size meets the duration limits" in slow.reason
    fast = size(sizing_resource("lambda"), model, sizing_ctx())
    assert "duration p50" in fast.reason and "GB-s a month" in fast.reason and "replayed over 45 days" in fast.reason


@pytest.mark.parametrize("trace", ["rds_cpu_utilization_cc0c53", "rds_cpu_utilization_e47b3b"])
def test_replay_on_real_database_traces(trace, sizing_resource, sizing_ctx):
    """Real CloudWatch CPU (NAB): sized to p90 without the peak guard the proposal is replayed
    over capacity and rejected; with the default guard it is emitted and never over."""
    ts, values = load_trace(TRACES / f"{trace}.csv")
    grid = regular(ts, values)
    grid = grid / np.nanmax(grid) * 6.0  # the trace's shape at a 6-vCPU peak
    days = len(grid) * 300 / 86400
    model = DemandModel(
        {"cpu": 6.0, "memory": 6, "connections": 60, "iops": 1200, "throughput": 20},
        shape="steady",
        noise=0.0,
        traces={"cpu": grid},
    )
    r = sizing_resource("rds")
    for policy, status in ((Policy.uniform(90.0, 0.0, None), "rejected"), (Policy(), "emitted")):
        ctx = sizing_ctx(days=days, policy=policy)
        rec = get("rds").size(r, generate(r, model, ctx.window.start, ctx.window.end, seed=2), ctx)
        assert rec.status == status, rec.reason
        assert (rec.evidence["replay"]["minutes_over_capacity"] > 0) == (status == "rejected")
