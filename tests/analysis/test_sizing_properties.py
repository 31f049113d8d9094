"""Property tests (hypothesis): no recommendation sizes below observed p100 demand plus headroom on
any dimension, more demand never yields a smaller (cheaper) size, and the hard AWS rules hold."""

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.registry import get
from analysis.sizing import rules
from analysis.synthetic import DemandModel, generate, true_demand
from stacks import rules as stack_rules

END = 1_760_054_400
DAYS = 3
START = END - DAYS * 86400
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
shapes = st.sampled_from(["steady", "diurnal", "weekly", "spikes"])
seeds = st.integers(0, 10_000)
MIB = 2**20


def rds_model(shape, cpu, mem, conns, iops, thr):
    return DemandModel({"cpu": cpu, "memory": mem, "connections": conns, "iops": iops, "throughput": thr}, shape=shape)


def rds_capacity(specs, rec, resource):
    new = {**resource.config, **{c.field: c.proposed for c in rec.changes}}
    spec = specs.get("rds", new["instance_class"])
    base_iops, base_mibps = rules.gp3_baseline(new["allocated_storage"])
    return {
        "cpu": spec["vcpu"],
        "memory": spec["memory_gib"],
        "connections": spec["max_connections"],
        "iops": min(spec["ebs_iops"], new["iops"] or base_iops),
        "throughput": min(spec["ebs_mbps"], (new["storage_throughput"] or base_mibps) * MIB / 1e6),
    }


@SETTINGS
@given(
    shape=shapes,
    seed=seeds,
    cpu=st.floats(0.05, 8.0),
    mem=st.floats(0.5, 55),
    conns=st.floats(1, 4500),
    iops=st.floats(50, 11000),
    thr=st.floats(1, 270),
)
def test_rds_never_below_observed_peak_plus_headroom(
    sizing_resource, sizing_ctx, shape, seed, cpu, mem, conns, iops, thr
):
    r, ctx = sizing_resource("rds"), sizing_ctx(days=DAYS)
    model = rds_model(shape, cpu, mem, conns, iops, thr)
    rec = get("rds").size(r, generate(r, model, START, END, seed), ctx)
    _, truth = true_demand(model, START, END, seed)
    cap = rds_capacity(ctx.specs, rec, r)
    if "no catalog class covers" in rec.reason:  # demand beyond the largest class: kept and flagged, never shrunk
        assert "instance_class" not in {c.field for c in rec.changes}
        return
    for dim, values in truth.items():
        if dim == "connections":
            values = np.round(values)  # CloudWatch reports whole connections
        pol = ctx.policy.of(dim)
        need = max(
            values.max() * (1 + pol.peak_headroom),
            np.percentile(values, pol.percentile, method="higher") * (1 + pol.headroom),
        )
        assert cap[dim] >= need * (1 - 1e-9), (dim, cap[dim], need)


@SETTINGS
@given(
    shape=shapes,
    seed=seeds,
    cpu=st.floats(0.05, 2.3),
    mem=st.floats(0.5, 16),
    conns=st.floats(1, 1300),
    iops=st.floats(50, 3500),
    thr=st.floats(1, 80),
    k=st.floats(1.0, 3.0),
)
def test_rds_more_demand_never_cheaper(sizing_resource, sizing_ctx, shape, seed, cpu, mem, conns, iops, thr, k):
    r, ctx = sizing_resource("rds"), sizing_ctx(days=DAYS)
    base = get("rds").size(r, generate(r, rds_model(shape, cpu, mem, conns, iops, thr), START, END, seed), ctx)
    more = get("rds").size(
        r, generate(r, rds_model(shape, cpu * k, mem * k, conns * k, iops * k, thr * k), START, END, seed), ctx
    )
    assert more.cost_proposed.on_demand >= base.cost_proposed.on_demand - 1e-9


@SETTINGS
@given(shape=shapes, seed=seeds, cpu=st.floats(0.5, 10), net=st.floats(0.01, 3), k=st.floats(1.0, 3.0))
def test_asg_covers_peak_and_is_monotone(sizing_resource, sizing_ctx, shape, seed, cpu, net, k):
    r, ctx = sizing_resource("asg"), sizing_ctx(days=DAYS)
    recs = []
    for factor in (1.0, k):
        model = DemandModel({"cpu": cpu * factor, "network": net * factor}, shape=shape)
        rec = get("asg").size(r, generate(r, model, START, END, seed), ctx)
        new = {**r.config, **{c.field: c.proposed for c in rec.changes}}
        spec = ctx.specs.get("ec2", new["instance_type"])
        assert spec["architecture"] == "x86_64"
        assert new["desired_capacity"] * spec["vcpu"] >= cpu * factor * 1.1 * (1 - 1e-9)
        assert new["desired_capacity"] * spec["network_gbps"] >= net * factor * 1.1 * (1 - 1e-9)
        assert stack_rules.asg_sizes(new["min_size"], new["max_size"], new["desired_capacity"]) is None
        recs.append(rec)
    assert recs[1].cost_proposed.on_demand >= recs[0].cost_proposed.on_demand - 1e-9


@SETTINGS
@given(
    seed=seeds,
    mem=st.floats(1, 150),
    engine=st.floats(1, 300),
    net=st.floats(0.01, 8),
    multi_az=st.booleans(),
    replicas=st.integers(0, 3),
    tiering=st.booleans(),
    k=st.floats(1.0, 2.0),
)
def test_elasticache_rules_peak_and_monotone(
    sizing_resource, sizing_ctx, seed, mem, engine, net, multi_az, replicas, tiering, k
):
    node = "cache.r6gd.xlarge" if tiering else "cache.r6g.2xlarge"
    r = sizing_resource(
        "elasticache",
        node_type=node,
        multi_az=multi_az,
        replicas_per_shard=replicas,
        num_shards=3,
        member_clusters=tuple(f"g-{s:04d}-{n:03d}" for s in range(1, 4) for n in range(1, replicas + 2)),
    )
    ctx = sizing_ctx(days=DAYS)
    costs = []
    for factor in (1.0, k):
        model = DemandModel(
            {"memory": mem * factor, "engine_cpu": engine * factor, "network": net * factor, "connections": 10},
            shape="steady",
        )
        rec = get("elasticache").size(r, generate(r, model, START, END, seed), ctx)
        new = {**r.config, **{c.field: c.proposed for c in rec.changes}}
        spec = ctx.specs.get("elasticache", new["node_type"])
        assert spec["data_tiering"] == tiering  # never r6g <-> r6gd
        if multi_az:
            assert new["replicas_per_shard"] >= 1
        assert stack_rules.cache_replicas(new["replicas_per_shard"], multi_az) is None
        if "no catalog node type" not in rec.reason:
            dims = rec.evidence["dimensions"]
            for dim in ("memory", "engine_cpu", "network"):
                assert dims[dim]["capacity_proposed"] >= dims[dim]["p100"] * 1.1 * (1 - 1e-9)
            assert new["num_shards"] * rules.cache_usable_gib(spec["memory_gib"]) >= mem * factor * 1.1 * (1 - 1e-6)
            costs.append(rec.cost_proposed.on_demand)
    if len(costs) == 2 and None not in costs:
        assert costs[1] >= costs[0] - 1e-9


@SETTINGS
@given(
    seed=seeds,
    conc=st.floats(0.5, 300),
    mem=st.one_of(st.none(), st.floats(20, 12000)),
    reserved=st.one_of(st.none(), st.integers(1, 1000)),
    pc=st.integers(0, 200),
    memory_size=st.integers(128, 10240),
)
def test_lambda_hard_rules(sizing_resource, sizing_ctx, seed, conc, mem, reserved, pc, memory_size):
    r = sizing_resource("lambda", reserved_concurrency=reserved, provisioned_concurrency=pc, memory_size=memory_size)
    peak = {"concurrency": conc, **({"memory": mem} if mem else {})}
    rec = get("lambda").size(
        r, generate(r, DemandModel(peak, shape="diurnal"), START, END, seed), sizing_ctx(days=DAYS)
    )
    new = {**r.config, **{c.field: c.proposed for c in rec.changes}}
    assert 128 <= new["memory_size"] <= 10240 and stack_rules.lambda_memory(new["memory_size"]) is None
    if new["reserved_concurrency"] is not None:
        assert new["provisioned_concurrency"] <= new["reserved_concurrency"]
        assert (
            stack_rules.provisioned_within_reserved(new["provisioned_concurrency"], new["reserved_concurrency"]) is None
        )
        if reserved is not None and reserved >= conc:  # not throttled: reserved covers the peak plus headroom
            assert (
                new["reserved_concurrency"] >= math.floor(conc) * 1.1 - 1e-9 or new["reserved_concurrency"] >= reserved
            )
    if mem and new["memory_size"] != memory_size:
        assert new["memory_size"] >= min(10240, mem * 1.1 - 1e-6)
    assert new["provisioned_concurrency"] >= 0


@SETTINGS
@given(
    seed=seeds,
    gib=st.integers(20, 3000),
    iops_now=st.one_of(st.none(), st.integers(1000, 64000)),
    iops=st.floats(50, 10500),
    thr=st.floats(1, 280),
)
def test_rds_gp3_floor_and_storage_never_shrinks(sizing_resource, sizing_ctx, seed, gib, iops_now, iops, thr):
    r = sizing_resource("rds", allocated_storage=gib, iops=iops_now if gib >= 400 else None)
    rec = get("rds").size(
        r, generate(r, rds_model("diurnal", 1, 5, 50, iops, thr), START, END, seed), sizing_ctx(days=DAYS)
    )
    fields = {c.field: c.proposed for c in rec.changes}
    assert "allocated_storage" not in fields
    new = {**r.config, **fields}
    if gib >= 400:
        assert rules.GP3_BASELINE_LARGE[0] <= new["iops"]
    else:
        assert new["iops"] is None and new["storage_throughput"] is None
    # The infrastructure's validators (stacks/rules.py) accept every proposal.
    assert stack_rules.gp3_iops(gib, new["iops"]) is None
    assert stack_rules.gp3_throughput(gib, new["storage_throughput"], new["iops"]) is None


def test_property_guard_catches_an_undersized_answer(sizing_resource, sizing_ctx):
    """The checks above can fail: a capacity just under p100 x 1.1 is rejected."""
    r, ctx = sizing_resource("rds"), sizing_ctx(days=DAYS)
    rec = get("rds").size(r, generate(r, rds_model("steady", 1.9, 5, 50, 500, 10), START, END, 1), ctx)
    assert rds_capacity(ctx.specs, rec, r)["cpu"] >= 1.9 * 1.1
    with pytest.raises(AssertionError):
        assert 2 >= 1.9 * 1.1  # a db.*.large (2 vCPU) would be below the guard


@SETTINGS
@given(
    seed=seeds,
    bandwidth=st.floats(0.0001, 20),
    conns=st.floats(1, 200000),
    azs=st.integers(1, 4),
    environment=st.sampled_from(["staging", "production"]),
)
def test_nat_count_valid_and_covers_peak(sizing_resource, sizing_ctx, seed, bandwidth, conns, azs, environment):
    r = sizing_resource(
        "nat",
        environment=environment,
        az_count=azs,
        nat_gateway_count=azs,
        nat_gateway_ids=tuple(f"nat-{i}" for i in range(azs)),
    )
    rec = get("nat").size(
        r,
        generate(r, DemandModel({"bandwidth": bandwidth, "connections": conns}), START, END, seed),
        sizing_ctx(days=DAYS),
    )
    n = {c.field: c.proposed for c in rec.changes}.get("nat_gateway_count", azs)
    assert stack_rules.nat_gateway_count(n, azs) is None
    if environment == "production":
        assert n == azs
    dims = rec.evidence["dimensions"]
    if n < azs:  # consolidating never goes below the observed peak plus headroom
        assert n * rules.NAT_GBPS >= dims["bandwidth"]["p100"] * 1.1
        assert n * rules.NAT_CONNECTIONS >= dims["connections"]["p100"] * 1.1
