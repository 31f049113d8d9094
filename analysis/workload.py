"""Synthetic CloudWatch workloads with a known true demand (deterministic for a seed).

A `DemandModel` describes the true demand of a resource per sizing dimension (its peak, in the
dimension's unit) and a shape over time; `generate` turns it into the `Series` of exactly the
metric queries the resource's kind asks for (analysis/kinds/<kind>/metrics.py), the way
CloudWatch would report them at 5 minutes: the period's Maximum is the true demand, the Average
a little lower. `make analyze` uses it to build the simulated account's 45-day snapshot:

    series = generate(resource, DemandModel({"cpu": 3.0, ...}, shape="diurnal"), start, end, seed=7)

Dimensions per kind (units):
    rds          cpu (vCPU), memory (GiB used), connections, iops (read+write), throughput (MB/s)
    elasticache  memory (GiB of data, whole group), engine_cpu (% of one engine core, summed over
                 shards), network (Gbps, whole group), connections
    asg          cpu (vCPU, whole group), network (Gbps, whole group), memory (GiB per instance,
                 only if given: otherwise no CloudWatch agent)
    lambda       concurrency (executions), memory (MB used, only if given: otherwise no Lambda
                 Insights); params duration_ms
    nat          bandwidth (Gbps processed, all gateways), connections (active, all gateways)

Shapes: steady, diurnal (business-hours peak), weekly (diurnal with quiet weekends), spikes
(steady base plus rare short spikes), trace (a real series given in `traces`). Data defects:
`history_days` keeps only the last N days, `gap_fraction` drops that share of samples in
one-hour blocks.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from analysis.model import MetricQuery, Resource, Series
from analysis.registry import get
from analysis.sizing import rules
from analysis.sizing.specs import SpecCatalog

PERIOD = 300
SHAPES = ("steady", "diurnal", "weekly", "spikes", "trace")


@dataclass(frozen=True)
class DemandModel:
    peak: Mapping[str, float]  # dimension -> true peak demand over the window
    shape: str = "diurnal"
    shapes: Mapping[str, str] = field(default_factory=dict)  # per-dimension shape override
    trough: float = 0.3  # lowest demand as a share of the peak (diurnal, weekly, spikes base)
    noise: float = 0.03  # relative noise on every sample
    spikes_per_week: float = 2.0
    spike_samples: int = 3  # 15 minutes
    history_days: float | None = None  # short history: only the last N days have data
    gap_fraction: float = 0.0  # share of samples missing, in one-hour blocks
    traces: Mapping[str, np.ndarray] = field(default_factory=dict)  # dimension -> values (trace shape)
    params: Mapping[str, float] = field(default_factory=dict)  # kind extras: duration_ms, instances

    def __post_init__(self) -> None:
        for dim in self.peak:
            if self.shape_of(dim) not in SHAPES:
                raise ValueError(f"unknown shape {self.shape_of(dim)!r}; expected one of {SHAPES}")

    def shape_of(self, dim: str) -> str:
        return self.shapes.get(dim, "trace" if dim in self.traces else self.shape)


def _shape(model: DemandModel, dim: str, ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Values in (0, 1] with max exactly 1 (so the true peak is `peak`)."""
    kind = model.shape_of(dim)
    hours = (ts % 86400) / 3600.0
    lo = model.trough
    if kind == "trace":
        raw = np.asarray(model.traces[dim], float)
        out = np.full(len(ts), np.nan)
        out[len(ts) - min(len(ts), len(raw)) :] = raw[-len(ts) :]  # a trace fills the end of the window
        return out / np.nanmax(out)
    if kind == "steady":
        base = np.full(len(ts), 1.0 - 2 * model.noise)
    else:
        day = np.clip(np.sin((hours - 8) / 12 * np.pi), 0, None)  # peak mid-afternoon, zero at night
        base = lo + (1 - lo) * day
        if kind == "weekly":
            weekday = ((ts // 86400) + 3) % 7  # 1970-01-01 was a Thursday: 5, 6 = Saturday, Sunday
            base = np.where(weekday >= 5, lo + (base - lo) * 0.3, base)
        if kind == "spikes":
            base = np.full(len(ts), lo)
            n_spikes = max(1, int(round(model.spikes_per_week * len(ts) * PERIOD / (7 * 86400))))
            for start in rng.choice(max(1, len(ts) - model.spike_samples), size=n_spikes, replace=False):
                base[start : start + model.spike_samples] = 1.0
    vals = base * (1 + model.noise * rng.standard_normal(len(ts)))
    vals = np.clip(vals, 0.01 * lo, None)
    return vals / vals.max()


def true_demand(model: DemandModel, start: int, end: int, seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The true demand per dimension at every 5-minute point of [start, end) (no data defects)."""
    ts = np.arange(start - start % PERIOD, end, PERIOD, dtype=np.int64)
    rng = np.random.default_rng(seed)
    return ts, {dim: _shape(model, dim, ts, rng) * peak for dim, peak in sorted(model.peak.items())}


def _mask(model: DemandModel, ts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    keep = np.ones(len(ts), bool)
    if model.history_days is not None:
        keep &= ts >= ts[-1] - model.history_days * 86400 + PERIOD
    if model.gap_fraction > 0:
        block = 3600 // PERIOD
        blocks = np.arange(0, len(ts), block)
        drop = rng.choice(len(blocks), size=int(round(model.gap_fraction * len(blocks))), replace=False)
        for b in blocks[drop]:
            keep[b : b + block] = False
    return keep


# --- per-kind metric synthesis: (metric, stat, dimensions) -> values --------------------------

Synth = Callable[[MetricQuery], "np.ndarray | None"]


def _rds(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    spec = specs.get("rds", resource.config["instance_class"])
    zero = np.zeros(n)
    iops, thr = d.get("iops", zero), d.get("throughput", zero)
    table = {
        ("CPUUtilization", "Maximum"): np.clip(d.get("cpu", zero) / spec["vcpu"] * 100, 0, 100),
        ("FreeableMemory", "Minimum"): np.clip(spec["memory_gib"] - d.get("memory", zero), 0, None) * 2**30,
        ("DatabaseConnections", "Maximum"): np.round(d.get("connections", zero)),
        ("ReadIOPS", "Maximum"): 0.7 * iops,
        ("WriteIOPS", "Maximum"): 0.3 * iops,
        ("ReadThroughput", "Maximum"): 0.7 * thr * 1e6,
        ("WriteThroughput", "Maximum"): 0.3 * thr * 1e6,
        ("EBSIOBalance%", "Minimum"): np.where(iops > spec["ebs_iops"], 60.0, 100.0),
        ("EBSByteBalance%", "Minimum"): np.where(thr > spec["ebs_mbps"], 60.0, 100.0),
        ("ReplicaLag", "Maximum"): np.full(n, 0.5),
    }
    table[("FreeableMemory", "Average")] = table[("FreeableMemory", "Minimum")] * 1.05

    def synth(q: MetricQuery):
        if q.stat == "Average" and (q.metric_name, "Maximum") in table:
            return table[(q.metric_name, "Maximum")] * 0.85
        return table.get((q.metric_name, q.stat))

    return synth


def _elasticache(
    resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel
) -> Synth:
    from analysis.kinds.elasticache.sizing import shards

    spec = specs.get("elasticache", resource.config["node_type"])
    groups = shards(resource)
    s = max(1, len(groups))
    zero = np.zeros(n)
    usable = rules.cache_usable_gib(spec["memory_gib"]) * 2**30

    def synth(q: MetricQuery):
        member = dict(q.dimensions).get("CacheClusterId", "")
        primary = member.endswith("-001") or member.count("-") < 2  # first node of a shard is its primary
        share = 1.0 if primary else 0.05  # replicas only apply replication
        mem = d.get("memory", zero) * 2**30 / s
        net_bytes_min = d.get("network", zero) * 1e9 / 8 * 60 / s / 2  # per direction, per minute
        return {
            "EngineCPUUtilization": d.get("engine_cpu", zero) / s * share,
            "CPUUtilization": d.get("engine_cpu", zero) / s * share / spec["vcpu"],
            "DatabaseMemoryUsagePercentage": mem / usable * 100,
            "BytesUsedForCache": mem,
            "CurrConnections": np.round(d.get("connections", zero) / s * (1.0 if primary else 0.2)),
            "NetworkBytesIn": net_bytes_min * (1.0 if primary else 0.5),
            "NetworkBytesOut": net_bytes_min * (1.0 if primary else 0.5),
            "Evictions": zero,
            "ReplicationLag": np.full(n, 0.0 if primary else 0.01),
        }.get(q.metric_name) * (0.85 if q.stat == "Average" else 1.0)

    return synth


def _asg(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    spec = specs.get("ec2", resource.config["instance_type"])
    count = float(model.params.get("instances", resource.config.get("desired_capacity") or 1))
    zero = np.zeros(n)
    avg = {
        "CPUUtilization": np.clip(d.get("cpu", zero) / (count * spec["vcpu"]) * 100, 0, 100),
        "NetworkIn": d.get("network", zero) * 0.6 * 1e9 / 8 * PERIOD / count,
        "NetworkOut": d.get("network", zero) * 0.4 * 1e9 / 8 * PERIOD / count,
        "GroupInServiceInstances": np.full(n, count),
    }
    flows = d.get("cpu", zero) / spec["vcpu"] * 200

    def synth(q: MetricQuery):
        if q.metric_name in avg:
            # Average is the group mean; Maximum the hottest instance (10% above the mean).
            base = avg[q.metric_name]
            if q.stat == "Maximum" and q.metric_name != "GroupInServiceInstances":
                return np.clip(base * 1.1, 0, 100) if q.metric_name == "CPUUtilization" else base * 1.1
            return base
        if q.metric_name == "mem_used_percent":
            return d["memory"] / spec["memory_gib"] * 100 if "memory" in d else None
        return {
            "ActiveFlowCount": flows,
            "NewFlowCount": flows * 3,
            "ProcessedBytes": avg["NetworkIn"] * count,
            "TCP_Target_Reset_Count": zero,
            "TCP_ELB_Reset_Count": zero,
        }.get(q.metric_name)

    return synth


def _lambda(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    cfg = resource.config
    conc = d.get("concurrency", np.zeros(n))
    duration = float(model.params.get("duration_ms", 120.0))
    pc = float(cfg.get("provisioned_concurrency") or 0)
    reserved = cfg.get("reserved_concurrency")
    served = np.minimum(conc, reserved) if reserved is not None and reserved >= 0 else conc
    invocations = np.round(0.7 * served * PERIOD / (duration / 1000))
    in_pc = np.minimum(served, pc)
    table = {
        ("Invocations", "Sum"): invocations,
        ("Errors", "Sum"): np.zeros(n),
        ("Throttles", "Sum"): np.round((conc - served) * PERIOD / (duration / 1000)),
        ("Duration", "Average"): np.full(n, duration),
        ("Duration", "Maximum"): np.full(n, duration * 2),
        ("Duration", "p99"): np.full(n, duration * 1.6),
        ("ConcurrentExecutions", "Maximum"): np.round(served),
    }
    if pc:  # provisioned-concurrency metrics exist only where it is configured
        table.update(
            {
                ("ProvisionedConcurrentExecutions", "Maximum"): np.round(in_pc),
                ("ProvisionedConcurrencyUtilization", "Maximum"): in_pc / pc,
                ("ProvisionedConcurrencySpilloverInvocations", "Sum"): np.round(
                    invocations * np.clip(served - pc, 0, None) / np.maximum(served, 1e-9)
                ),
            }
        )
    if "memory" in d:
        table[("used_memory_max", "Maximum")] = d["memory"]
    return lambda q: table.get((q.metric_name, q.stat))


def _nat(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    g = max(1, len(resource.config.get("nat_gateway_ids", ())))
    zero = np.zeros(n)
    processed = d.get("bandwidth", zero) * 1e9 / 8 * PERIOD / g  # bytes per period per gateway
    table = {
        "BytesInFromSource": 0.3 * processed,
        "BytesOutToDestination": 0.3 * processed,
        "BytesInFromDestination": 0.7 * processed,
        "BytesOutToSource": 0.7 * processed,
        "ActiveConnectionCount": np.round(d.get("connections", zero) / g),
        "ErrorPortAllocation": zero,
        "PacketsDropCount": zero,
    }
    return lambda q: table.get(q.metric_name)


SYNTH: dict[str, Callable[..., Synth]] = {
    "rds": _rds,
    "elasticache": _elasticache,
    "asg": _asg,
    "lambda": _lambda,
    "nat": _nat,
}


def generate(
    resource: Resource, model: DemandModel, start: int, end: int, seed: int = 0, specs: SpecCatalog | None = None
) -> dict[MetricQuery, Series]:
    """Series for every metric query of `resource` (absent where the metric would not exist,
    e.g. no CloudWatch agent), with the model's data defects applied."""
    specs = specs or SpecCatalog.load()
    ts, d = true_demand(model, start, end, seed)
    rng = np.random.default_rng(seed + 1)
    keep = _mask(model, ts, rng)
    for v in d.values():  # a trace that does not cover the window leaves the rest without data
        keep &= ~np.isnan(v)
    synth = SYNTH[resource.kind](resource, d, len(ts), specs, model)
    out = {}
    for q in get(resource.kind).queries(resource):
        values = synth(q)
        if values is None:
            continue
        values = np.asarray(values, float)[keep]
        out[q] = Series(resource.region, q, ts[keep], np.nan_to_num(values))
    return out


def load_trace(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """A `timestamp,value` CSV (Numenta NAB realAWSCloudwatch format, UTC) -> (epoch s, values)."""
    ts, vals = [], []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            t = datetime.strptime(row["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
            ts.append(int(t.timestamp()))
            vals.append(float(row["value"]))
    return np.asarray(ts, np.int64), np.asarray(vals, float)


def regular(ts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A trace on a regular 5-minute grid from its first to last point, NaN where it has no sample."""
    grid = np.full(int((ts[-1] - ts[0]) // PERIOD) + 1, np.nan)
    grid[((ts - ts[0]) // PERIOD).astype(int)] = values
    return grid
