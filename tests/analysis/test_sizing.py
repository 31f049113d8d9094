"""Sizing decisions per kind, status/threshold/exclusion, and the pure AWS rule functions."""

import numpy as np
import pytest

from analysis.model import MetricQuery, Series
from analysis.registry import get
from analysis.report.records import records, totals
from analysis.sizing import rules
from analysis.sizing.confidence import confidence
from analysis.sizing.engine import analyse
from analysis.sizing.policy import DimensionPolicy, Options, Policy, Window
from analysis.sizing.search import Candidate, cheapest
from analysis.sizing.stats import demand
from analysis.synthetic import DemandModel, generate

END = 1_760_054_400
START = END - 45 * 86400

STAGING_MODELS = {  # a typical over-provisioned staging workload
    "rds": DemandModel({"cpu": 1.2, "memory": 9, "connections": 120, "iops": 2500, "throughput": 40}),
    "rds_replica": DemandModel({"cpu": 0.3, "memory": 6, "connections": 0, "iops": 800, "throughput": 10}),
    "elasticache": DemandModel(
        {"memory": 30, "engine_cpu": 60, "network": 0.6, "connections": 300}, shapes={"memory": "steady"}
    ),
    "asg": DemandModel({"cpu": 5, "network": 0.3}),
    "lambda": DemandModel({"concurrency": 12, "memory": 400}, params={"duration_ms": 150, "cpu_ms": 5}),
    "nat": DemandModel({"bandwidth": 0.002, "connections": 800}),
}


def size(resource, model, ctx, seed=1):
    return get(resource.kind).size(resource, generate(resource, model, START, END, seed), ctx)


def changes(rec):
    return {c.field: c.proposed for c in rec.changes}


# --- rules --------------------------------------------------------------------------------------


def test_gp3_floor_and_limits():
    assert rules.gp3_iops(1000, 2500) == 12000  # 10,000 at 1000 GB is rejected by the API
    assert rules.gp3_iops(1000, 12001) == 13000
    assert rules.gp3_iops(1000, 10**6) == 50000  # at most 50 IOPS per GiB
    assert rules.gp3_iops(2000, 10**6) == 64000
    assert rules.gp3_iops(1000, 0, needed_mibps=3500) == 14000  # throughput <= 0.25 MiB/s per IOPS
    assert rules.gp3_throughput(1000, 3500, 12000) == 3000
    assert rules.gp3_iops(200, 50000) is None  # below 400 GiB not settable
    assert rules.gp3_throughput(1000, 10) == 500 and rules.gp3_throughput(1000, 9999) == 3000  # 0.25 x 12,000
    assert rules.gp3_throughput(1000, 9999, 16000) == 4000
    assert rules.gp3_baseline(399) == (3000, 125) and rules.gp3_baseline(400) == (12000, 500)


def test_cache_rules():
    assert rules.min_cache_replicas(True, 0) == 1 and rules.min_cache_replicas(False, 0) == 0
    assert not rules.cache_types_compatible(True, False)
    usable = rules.cache_usable_gib(52.82)
    assert usable == pytest.approx(39.615)
    assert rules.shard_removal_ok(30, 6, 4, rules.cache_usable_gib(13.07))
    assert not rules.shard_removal_ok(200, 6, 4, usable)  # 4 shards x (39.6 - 33.3) free < 1.5 x 66.7 moved


def test_lambda_and_nat_rules():
    assert rules.lambda_memory(1) == 128 and rules.lambda_memory(10**6) == 10240 and rules.lambda_memory(401) == 448
    assert rules.provisioned_within_reserved(50, 10) == 10 and rules.provisioned_within_reserved(5, None) == 5
    assert rules.nat_cross_az_share(1, 2) == 0.5 and rules.nat_cross_az_share(2, 2) == 0.0


# --- shared machinery ---------------------------------------------------------------------------


def test_demand_target_is_percentile_plus_headroom_and_peak_guard():
    values = np.r_[np.ones(999), 10.0]
    d = demand("cpu", "vCPU", np.arange(1000) * 300, values, DimensionPolicy(99, 0.2, 0.1))
    assert d.pct == 1.0 and d.p100 == 10.0
    assert d.target == pytest.approx(11.0)  # the spike is never averaged away
    unguarded = demand("pc", "x", np.arange(1000) * 300, values, DimensionPolicy(99, 0.2, None))
    assert unguarded.target == pytest.approx(1.2)


def test_cheapest_prefers_current_on_tie_and_never_proposes_unpriced():
    a = Candidate("a", {}, {"x": 10}, 100.0, current=True)
    b = Candidate("b", {}, {"x": 10}, 100.0)
    c = Candidate("c", {}, {"x": 10}, None)
    assert cheapest([b, a, c], {"x": 5}) is a
    assert cheapest([c], {"x": 5}) is None
    assert cheapest([a], {"x": 11}) is None


def test_confidence_falls_with_coverage_samples_variability_and_margin():
    ts = START + np.arange(45 * 288) * 300
    w = Window(START, END)
    pol = DimensionPolicy()
    full = demand("cpu", "vCPU", ts, np.full(len(ts), 1.0), pol)
    short = demand("cpu", "vCPU", ts[-7 * 288 :], np.full(7 * 288, 1.0), pol)
    noisy = demand("cpu", "vCPU", ts, np.random.default_rng(0).uniform(0.1, 1.0, len(ts)), pol)
    c_full, parts = confidence([full], {"cpu": 4.0}, w)
    assert parts["coverage"] == 1.0 and c_full > 0.9
    assert confidence([short], {"cpu": 4.0}, w)[0] < c_full
    assert confidence([noisy], {"cpu": 4.0}, w)[0] < c_full
    assert confidence([full], {"cpu": 1.05}, w)[0] < c_full
    assert confidence([demand("cpu", "vCPU", ts[:0], ts[:0], pol)], {"cpu": 4.0}, w)[0] == 0.0


# --- per kind -----------------------------------------------------------------------------------


def test_rds_downsizes_and_lifts_iops_to_the_gp3_floor(sizing_resource, sizing_ctx):
    r = sizing_resource("rds", iops=10000)
    rec = size(r, STAGING_MODELS["rds"], sizing_ctx())
    assert rec.status == "emitted" and rec.rollout == "blue-green"
    assert changes(rec) == {"instance_class": "db.r6g.large", "iops": 12000}
    assert {c.tfvars_key for c in rec.changes} == {"data_instance_class", "data_iops"}
    assert "below the gp3 floor" in rec.reason and "read replicas" in rec.reason
    assert rec.cost_proposed.on_demand < rec.cost_current.on_demand


def test_rds_iops_bound_database_keeps_a_class_with_enough_ebs_iops(sizing_resource, sizing_ctx):
    model = DemandModel({"cpu": 1.0, "memory": 6, "connections": 50, "iops": 9000, "throughput": 100})
    rec = size(sizing_resource("rds"), model, sizing_ctx())
    new = changes(rec).get("instance_class", "db.r6g.2xlarge")
    spec = sizing_ctx().specs.get("rds", new)
    assert spec["ebs_iops"] >= 9000 * 1.1  # xlarge (6,000 baseline IOPS) would throttle
    assert rec.evidence["dimensions"]["iops"]["capacity_proposed"] >= 9000 * 1.1


def test_idle_replica_behind_multi_az_primary_is_removed(sizing_resource, sizing_ctx):
    primary, replica = sizing_resource("rds"), sizing_resource("rds_replica")
    series = list(generate(primary, STAGING_MODELS["rds"], START, END, 1).values()) + list(
        generate(replica, STAGING_MODELS["rds_replica"], START, END, 2).values()
    )
    recs = {r.resource.resource_id: r for r in analyse([replica, primary], series, sizing_ctx())}
    rec = recs["rightsize-staging-data-replica"]
    assert [(c.field, c.current, c.proposed, c.tfvars_key) for c in rec.changes] == [
        ("count", 1, 0, "data_replica_count")
    ]
    assert rec.cost_proposed.on_demand == 0.0
    busy = size(
        replica, DemandModel({"cpu": 0.3, "memory": 6, "connections": 40, "iops": 800, "throughput": 10}), sizing_ctx()
    )
    assert "count" not in changes(busy) and "serves reads" in busy.reason


def test_critical_path_is_excluded_and_unchanged(sizing_resource, sizing_ctx):
    for name in ("rds", "elasticache", "asg", "lambda", "nat"):
        rec = size(sizing_resource(name, critical=True), STAGING_MODELS[name], sizing_ctx())
        assert rec.status == "excluded" and rec.changes == () and rec.cost_proposed == rec.cost_current


def test_short_history_is_below_threshold_with_reason(sizing_resource, sizing_ctx):
    model = DemandModel({"cpu": 1.2, "memory": 9, "connections": 120, "iops": 2500, "throughput": 40}, history_days=2)
    rec = size(sizing_resource("rds"), model, sizing_ctx())
    assert rec.status == "below-threshold" and rec.changes
    assert "below threshold 0.1" in rec.reason and "days with data" in rec.reason


def test_no_metrics_means_no_change(sizing_resource, sizing_ctx):
    for name in ("rds", "elasticache", "asg", "nat"):
        rec = get(sizing_resource(name).kind).size(sizing_resource(name), {}, sizing_ctx())
        assert not [c for c in rec.changes if c.field not in ("iops",)], name
        assert rec.confidence == 0.0


def test_unmanaged_changes_have_no_tfvars_key(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("asg", managed=False), STAGING_MODELS["asg"], sizing_ctx())
    assert rec.changes and all(c.tfvars_key is None for c in rec.changes)


def test_elasticache_memory_bound_keeps_memory_and_replicas(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("elasticache"), STAGING_MODELS["elasticache"], sizing_ctx())
    new = {"node_type": "cache.r6g.2xlarge", "num_shards": 6, "replicas_per_shard": 2, **changes(rec)}
    spec = sizing_ctx().specs.get("elasticache", new["node_type"])
    assert new["num_shards"] * rules.cache_usable_gib(spec["memory_gib"]) >= 30 * 1.1
    assert new["replicas_per_shard"] >= 1 and rec.rollout == "in-place"
    assert rec.cost_proposed.on_demand < rec.cost_current.on_demand


def test_elasticache_never_crosses_data_tiering(sizing_resource, sizing_ctx):
    r = sizing_resource("elasticache", node_type="cache.r6gd.xlarge")
    rec = size(r, DemandModel({"memory": 5, "engine_cpu": 10, "network": 0.1, "connections": 10}), sizing_ctx())
    assert changes(rec).get("node_type", "cache.r6gd.xlarge").startswith("cache.r6gd")


def test_elasticache_multi_az_keeps_a_replica_even_if_policy_allows_none(sizing_resource, sizing_ctx):
    ctx = sizing_ctx(options=Options(cache_min_replicas=0))
    rec = size(sizing_resource("elasticache"), STAGING_MODELS["elasticache"], ctx)
    assert changes(rec).get("replicas_per_shard", 2) >= 1
    single = size(sizing_resource("elasticache", multi_az=False), STAGING_MODELS["elasticache"], ctx)
    assert changes(single).get("replicas_per_shard", 2) == 0


def test_asg_keeps_architecture_unless_allowed(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("asg"), STAGING_MODELS["asg"], sizing_ctx())
    new = changes(rec)
    specs = sizing_ctx().specs
    assert specs.get("ec2", new["instance_type"])["architecture"] == "x86_64"
    assert rec.rollout == "rolling-instance-refresh"
    assert new["min_size"] == new["desired_capacity"] <= new["max_size"]
    assert new["desired_capacity"] * specs.get("ec2", new["instance_type"])["vcpu"] >= 5 * 1.1
    switched = size(
        sizing_resource("asg"), STAGING_MODELS["asg"], sizing_ctx(options=Options(allow_architecture_switch=True))
    )
    assert switched.cost_proposed.on_demand <= rec.cost_proposed.on_demand


def test_lambda_memory_concurrency_and_provisioned(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("lambda"), STAGING_MODELS["lambda"], sizing_ctx())
    new = changes(rec)
    assert 440 <= new["memory_size"] <= 576 and rec.rollout == "alias-shift"
    assert new["provisioned_concurrency"] <= new["reserved_concurrency"]
    assert new["reserved_concurrency"] >= 12 * 1.1
    assert rec.cost_proposed.on_demand < rec.cost_current.on_demand / 5


def test_lambda_without_insights_keeps_memory_and_says_why(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("lambda"), DemandModel({"concurrency": 12}), sizing_ctx())
    assert "memory_size" not in changes(rec) and "Lambda Insights" in rec.reason


def test_lambda_unused_provisioned_concurrency_goes_to_zero(sizing_resource, sizing_ctx):
    r = sizing_resource("lambda", provisioned_concurrency=5)
    resource_series = generate(r, DemandModel({"concurrency": 3}), START, END, 1)
    for q, s in list(resource_series.items()):
        if q.metric_name in ("ProvisionedConcurrentExecutions", "ProvisionedConcurrencyUtilization"):
            resource_series[q] = Series(s.region, q, s.timestamps, np.zeros(len(s.values)))
    rec = get("lambda").size(r, resource_series, sizing_ctx())
    assert changes(rec)["provisioned_concurrency"] == 0


def test_lambda_throttled_function_keeps_reserved(sizing_resource, sizing_ctx):
    r = sizing_resource("lambda", reserved_concurrency=10, provisioned_concurrency=0)
    rec = size(r, DemandModel({"concurrency": 30}), sizing_ctx())
    assert changes(rec).get("reserved_concurrency", 10) >= 10 and "throttles" in rec.reason


def test_nat_consolidates_in_staging_and_spells_out_the_trade_off(sizing_resource, sizing_ctx):
    rec = size(sizing_resource("nat"), STAGING_MODELS["nat"], sizing_ctx())
    assert changes(rec) == {"nat_gateway_count": 1} and rec.rollout == "replacement"
    assert "outage" in rec.reason and "inter-AZ" in rec.reason
    assert rec.cost_proposed.missing == ("data_transfer us-east-1 inter_az standard gb",)
    prod = size(sizing_resource("nat", environment="production"), STAGING_MODELS["nat"], sizing_ctx())
    assert prod.status == "no-change" and "one gateway per AZ" in prod.reason
    busy = size(sizing_resource("nat"), DemandModel({"bandwidth": 0.5, "connections": 800}), sizing_ctx())
    assert busy.status == "no-change"  # inter-AZ volume above the guard


def test_staging_baseline_every_tier_priced_and_totalled(sizing_resource, sizing_ctx):
    resources = [sizing_resource(n) for n in STAGING_MODELS]
    series = [
        s
        for i, r in enumerate(resources)
        for s in generate(r, STAGING_MODELS[list(STAGING_MODELS)[i]], START, END, i).values()
    ]
    recs = analyse(resources, series, sizing_ctx())
    assert [(r.resource.region, r.resource.kind, r.resource.resource_id) for r in recs] == sorted(
        (r.region, r.kind, r.resource_id) for r in resources
    )
    assert {r.resource.kind for r in recs if r.status == "emitted"} == {"rds", "elasticache", "asg", "lambda", "nat"}
    rows = {row["tier"]: row for row in totals(records(recs, "staging"))}
    assert set(rows) == {"network", "data", "cache", "compute", "serverless", "total"}
    for tier in ("data", "cache", "compute", "serverless"):
        assert rows[tier]["savings"]["on_demand"] > 0 and rows[tier]["savings"]["reserved_1yr"] > 0
    assert rows["total"]["savings"]["on_demand"] > 10000
    assert rows["network"]["incomplete"] == ["on_demand", "reserved_1yr", "reserved_3yr"]  # inter-AZ unpriced
    again = analyse(resources, series, sizing_ctx())
    assert [(r.status, r.changes, r.confidence) for r in again] == [(r.status, r.changes, r.confidence) for r in recs]


def test_policy_validation_and_overrides():
    with pytest.raises(ValueError):
        DimensionPolicy(percentile=0)
    p = Policy.uniform(95, 0.3)
    assert p.of("cpu").percentile == 95 and p.of("provisioned_concurrency").peak_headroom is None
    with pytest.raises(ValueError):
        Window(10, 5)


def test_metrics_source_is_accepted(sizing_resource, sizing_ctx):
    r = sizing_resource("asg")
    data = generate(r, STAGING_MODELS["asg"], START, END, 1)

    class Source:
        calls = []

        def fetch(self, region, queries, start, end):
            self.calls.append((region, len(queries), start, end))
            return {q: data[q] for q in queries if q in data}

    src = Source()
    rec = analyse([r], src, sizing_ctx())[0]
    assert src.calls == [("us-east-1", len(get("asg").queries(r)), START, END)] and rec.status == "emitted"
    assert isinstance(next(iter(data)), MetricQuery)
