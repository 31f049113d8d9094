"""The synthetic workload generator: deterministic, true peak exact, every kind's queries covered,
data defects (short history, gaps) as asked, real traces loaded."""

import numpy as np
import pytest

from analysis.registry import get
from analysis.sim.scenario import TRACES
from analysis.synthetic import DemandModel, generate, load_trace, regular, true_demand

END = 1_760_054_400
START = END - 10 * 86400
NAB = TRACES  # the real NAB CloudWatch traces shipped with the simulated account
MODELS = {
    "rds": DemandModel({"cpu": 2, "memory": 8, "connections": 100, "iops": 3000, "throughput": 50}),
    "rds_replica": DemandModel({"cpu": 1, "memory": 8, "connections": 10, "iops": 1000, "throughput": 10}),
    "elasticache": DemandModel({"memory": 20, "engine_cpu": 50, "network": 0.5, "connections": 100}),
    "asg": DemandModel({"cpu": 6, "network": 0.5, "memory": 3}),
    "lambda": DemandModel({"concurrency": 20, "memory": 300}, params={"cpu_ms": 30}),
    "nat": DemandModel({"bandwidth": 0.1, "connections": 300}),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_query_of_the_kind_gets_a_series(name, sizing_resource):
    r = sizing_resource(name)
    series = generate(r, MODELS[name], START, END, seed=4)
    expected = set(get(r.kind).queries(r))
    if name == "rds":
        expected = {q for q in expected if q.metric_name != "ReplicaLag"}
    assert set(series) == expected
    for q, s in series.items():
        assert s.region == r.region and s.query == q
        assert s.timestamps.dtype == np.int64 and s.values.dtype == np.float64
        assert len(s.timestamps) == 10 * 288 and np.all(np.diff(s.timestamps) == 300)
        assert np.isfinite(s.values).all()


def test_deterministic_for_a_seed(sizing_resource):
    r = sizing_resource("rds")
    a, b = generate(r, MODELS["rds"], START, END, seed=9), generate(r, MODELS["rds"], START, END, seed=9)
    c = generate(r, MODELS["rds"], START, END, seed=10)
    assert all(np.array_equal(a[q].values, b[q].values) for q in a)
    assert any(not np.array_equal(a[q].values, c[q].values) for q in a)


@pytest.mark.parametrize("shape", ["steady", "diurnal", "weekly", "spikes"])
def test_true_peak_is_the_model_peak(shape):
    ts, d = true_demand(DemandModel({"cpu": 3.0}, shape=shape), START, END, seed=2)
    assert d["cpu"].max() == pytest.approx(3.0) and (d["cpu"] > 0).all()
    if shape == "spikes":
        assert np.percentile(d["cpu"], 95) < 0.5 * 3.0  # rare: most of the time near the base
    if shape == "weekly":
        weekend = ((ts // 86400) + 3) % 7 >= 5
        assert d["cpu"][weekend].max() < d["cpu"][~weekend].max()


def test_maximum_series_carries_the_true_demand(sizing_resource):
    r = sizing_resource("rds")
    _, truth = true_demand(MODELS["rds"], START, END, seed=4)
    series = generate(r, MODELS["rds"], START, END, seed=4)
    cpu = next(s for q, s in series.items() if q.metric_name == "CPUUtilization" and q.stat == "Maximum")
    avg = next(s for q, s in series.items() if q.metric_name == "CPUUtilization" and q.stat == "Average")
    assert np.allclose(cpu.values, truth["cpu"] / 8 * 100)
    assert (avg.values < cpu.values).all()


def test_short_history_and_gaps(sizing_resource):
    r = sizing_resource("asg")
    short = generate(r, DemandModel({"cpu": 6, "network": 0.5}, history_days=3), START, END, seed=1)
    gappy = generate(r, DemandModel({"cpu": 6, "network": 0.5}, gap_fraction=0.25), START, END, seed=1)
    s = next(iter(short.values()))
    assert len(s.timestamps) == 3 * 288 and s.timestamps[-1] == END - 300
    g = next(iter(gappy.values()))
    assert len(g.timestamps) == pytest.approx(0.75 * 10 * 288, abs=12)
    assert all(np.array_equal(v.timestamps, g.timestamps) for v in gappy.values())


def test_optional_metrics_exist_only_when_measured(sizing_resource):
    asg = generate(sizing_resource("asg"), DemandModel({"cpu": 6, "network": 0.5}), START, END, seed=1)
    assert not [q for q in asg if q.metric_name == "mem_used_percent"]
    lam = generate(sizing_resource("lambda"), DemandModel({"concurrency": 5}), START, END, seed=1)
    assert not [q for q in lam if q.namespace == "LambdaInsights"]
    no_pc = generate(
        sizing_resource("lambda", provisioned_concurrency=0), DemandModel({"concurrency": 5}), START, END, seed=1
    )
    assert not [q for q in no_pc if q.metric_name.startswith("ProvisionedConcurrency")]


def test_unknown_shape_is_rejected():
    with pytest.raises(ValueError, match="unknown shape"):
        DemandModel({"cpu": 1}, shape="sawtooth")


def test_nab_trace_loader_and_trace_shape(sizing_resource):
    ts, values = load_trace(NAB / "rds_cpu_utilization_cc0c53.csv")
    assert len(ts) == 4032 and ts[0] < ts[-1] and values.max() > values.min() > 0
    grid = regular(ts, values)
    assert len(grid) >= len(ts)
    start = END - len(grid) * 300
    model = DemandModel(
        {"cpu": float(np.nanmax(grid)) * 8 / 100}, shape="steady", noise=0.0, traces={"cpu": grid * 8 / 100}
    )
    _, truth = true_demand(model, start, END)
    assert np.allclose(truth["cpu"][~np.isnan(truth["cpu"])], (grid * 8 / 100)[~np.isnan(grid)])
