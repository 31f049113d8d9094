"""Size an ElastiCache replication group: node type (memory incl. the 25% reserved, EngineCPU,
network), shard count (1.5x free-memory rule before removing shards) and replicas per shard
(>= 1 with Multi-AZ). Node type, resharding and replica changes all apply in place.

Demand is measured per node (CacheClusterId `<group>-<shard>-<node>`) and summed over shards:
memory is the largest node of each shard (primary and replicas hold the same data), engine CPU
and network the busiest node. After resharding to S shards each shard carries total / S times
the skew of today's busiest shard over the mean. Removing replicas moves their read load to the
remaining nodes of the shard.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

import numpy as np

from analysis.enums import RolloutMethod
from analysis.kinds.elasticache.pricing import node_count, node_hourly, price
from analysis.model import MetricQuery, Recommendation, Resource, Series
from analysis.pricing.catalog import HOURS_PER_MONTH
from analysis.sizing import rules
from analysis.sizing.policy import SizingContext
from analysis.sizing.recommend import change, finish, unsizable
from analysis.sizing.search import Candidate, cheapest, rank
from analysis.sizing.stats import Demand, aligned, demand, find

GIB = 2.0**30
ENGINE_LIMIT = 100.0  # EngineCPUUtilization is % of the one core running the engine thread


def shards(resource: Resource) -> dict[str, list[str]]:
    """shard id -> member cluster ids, from `<group>-<shard>-<node>` names."""
    out: dict[str, list[str]] = defaultdict(list)
    for member in resource.config.get("member_clusters", ()):
        out[member.rsplit("-", 2)[-2] if member.count("-") >= 2 else member].append(member)
    return {k: sorted(v) for k, v in sorted(out.items())}


def _per_shard(series, resource: Resource, metric: str, stat: str, scale: float = 1.0):
    """(timestamps, shard x time max over nodes, shard x time sum over nodes); NaN where missing."""
    groups = shards(resource)
    members = [m for ms in groups.values() for m in ms]
    parts = [(g, s) for g, ms in groups.items() for m in ms for s in find(series, metric, stat, CacheClusterId=m)]
    if not parts or not members:
        return np.empty(0, np.int64), np.empty((0, 0)), np.empty((0, 0))
    ts, m = aligned([s for _, s in parts])
    m = m * scale
    names = list(groups)
    mx = np.full((len(names), len(ts)), np.nan)
    sm = np.full((len(names), len(ts)), np.nan)
    with np.errstate(all="ignore"):
        for i, g in enumerate(names):
            rows = m[[j for j, (gg, _) in enumerate(parts) if gg == g]]
            if len(rows):
                mx[i], sm[i] = np.nanmax(rows, axis=0), np.nansum(rows, axis=0)
                sm[i][np.isnan(mx[i])] = np.nan
    return ts, mx, sm


def _total(name: str, unit: str, ts, per_shard, ctx: SizingContext) -> tuple[Demand, float]:
    """Cluster-total demand (sum over shards, timestamps where every shard reported) and skew
    (busiest shard's peak over the mean shard's peak)."""
    if not len(ts):
        return demand(name, unit, ts, np.empty(0), ctx.policy.of(name)), 1.0
    ok = ~np.isnan(per_shard).any(axis=0)
    total = per_shard[:, ok].sum(axis=0)
    peak_mean = total.max() / len(per_shard) if total.size else 0.0
    skew = float(per_shard[:, ok].max() / peak_mean) if total.size and peak_mean > 0 else 1.0
    return demand(name, unit, ts[ok], total, ctx.policy.of(name)), max(1.0, skew)


def demands(resource: Resource, series, ctx: SizingContext, replicas_now: int):
    """memory/network demands and, per replica count, the engine-CPU demand."""
    ts, mem_mx, _ = _per_shard(series, resource, "BytesUsedForCache", "Maximum", 1 / GIB)
    memory, mem_skew = _total("memory", "GiB", ts, mem_mx, ctx)
    # NetworkBytesIn/Out are per-minute counts: the 5-minute Maximum / 60 is the busiest minute's rate.
    ts_in, in_mx, _ = _per_shard(series, resource, "NetworkBytesIn", "Maximum", 8 / 60 / 1e9)
    ts_out, out_mx, _ = _per_shard(series, resource, "NetworkBytesOut", "Maximum", 8 / 60 / 1e9)
    if len(ts_in) and len(ts_out) and np.array_equal(ts_in, ts_out):
        network, net_skew = _total("network", "Gbps", ts_in, in_mx + out_mx, ctx)
    else:
        network, net_skew = _total("network", "Gbps", np.empty(0, np.int64), np.empty((0, 0)), ctx)
    ts_e, eng_mx, eng_sum = _per_shard(series, resource, "EngineCPUUtilization", "Maximum")

    def engine(replicas: int) -> tuple[Demand, float]:
        if not len(ts_e):
            return _total("engine_cpu", "% of engine core", ts_e, eng_mx, ctx)
        per_node = np.fmax(eng_mx, eng_sum / (replicas + 1)) if replicas < replicas_now else eng_mx
        return _total("engine_cpu", "% of engine core", ts_e, per_node, ctx)

    return (memory, mem_skew), (network, net_skew), engine


def size(resource: Resource, series: Mapping[MetricQuery, Series], ctx: SizingContext) -> Recommendation:
    cfg = resource.config
    cost_now = price(cfg, resource.region, ctx.prices)
    spec_now = unsizable(resource, ctx, cost_now, "elasticache", "node_type")
    if isinstance(spec_now, Recommendation):
        return spec_now
    node_now, s_now, r_now = cfg["node_type"], int(cfg.get("num_shards") or 1), int(cfg.get("replicas_per_shard") or 0)
    (memory, mem_skew), (network, net_skew), engine = demands(resource, series, ctx, r_now)
    r_min = rules.min_cache_replicas(bool(cfg.get("multi_az")), ctx.options.cache_min_replicas)
    clustered = str(cfg.get("cluster_mode", "enabled")).lower() in ("enabled", "true", "1")
    shard_options = range(1, 2 * s_now + 1) if clustered else [s_now]
    replica_options = range(r_min, max(r_now, r_min) + 1)

    def capacity(spec: Mapping[str, Any], s: int, eng_skew: float) -> dict[str, float]:
        return {
            "memory": s * rules.cache_usable_gib(spec["memory_gib"]) / mem_skew,
            "network": s * spec["network_gbps"] / net_skew,
            "engine_cpu": s * ENGINE_LIMIT / eng_skew,
        }

    picks, notes = [], []
    missing = [d.name for d in (memory, network, engine(r_now)[0]) if d.n == 0]
    if missing:
        notes.append(f"no data for {', '.join(missing)}")
    else:
        for r in replica_options:
            eng, eng_skew = engine(r)
            cands = []
            for name, spec in ctx.specs.types("elasticache"):
                if not rules.cache_types_compatible(spec_now["data_tiering"], spec["data_tiering"]):
                    continue  # r6g <-> r6gd cannot scale into each other
                if spec["burstable"] and not ctx.options.allow_burstable and name != node_now:
                    continue
                od = node_hourly(ctx.prices, resource.region, cfg, name)["on_demand"].value
                usable = min(rules.cache_usable_gib(spec["memory_gib"]), rules.cache_usable_gib(spec_now["memory_gib"]))
                for s in shard_options:
                    if not rules.shard_removal_ok(memory.p100, s_now, s, usable):
                        continue
                    n = s * (1 + r)
                    cands.append(
                        Candidate(
                            f"{name} x {s} shards x {r} replicas",
                            {"node_type": name, "num_shards": s, "replicas_per_shard": r},
                            capacity(spec, s, eng_skew),
                            None if od is None else od * n * HOURS_PER_MONTH,
                            current=(name, s, r) == (node_now, s_now, r_now),
                        )
                    )
            pick = cheapest(cands, {"memory": memory.target, "network": network.target, "engine_cpu": eng.target})
            if pick:
                picks.append((rank(pick), pick, eng))
        if not picks:
            notes.append("no catalog node type and shard count covers the demand with headroom: kept, review by hand")
    best, best_engine = min(picks, key=lambda p: p[0])[1:] if picks else (None, None)
    eng_now = engine(r_now)
    new = (
        dict(best.config)
        if best
        else {"node_type": node_now, "num_shards": s_now, "replicas_per_shard": max(r_now, r_min)}
    )
    if r_now < r_min:
        notes.append(f"{r_now} replicas per shard is below the minimum {r_min} (Multi-AZ needs at least one)")
    demands_new = [memory, network, best_engine or eng_now[0]]
    spec_new = ctx.specs.spec("elasticache", new["node_type"])
    cap_now = capacity(spec_now, s_now, eng_now[1])
    cap_new = capacity(spec_new, new["num_shards"], engine(new["replicas_per_shard"])[1])
    changes = [
        change(resource, k, v, new[k])
        for k, v in (("node_type", node_now), ("num_shards", s_now), ("replicas_per_shard", r_now))
    ]
    reason = (
        f"{node_count(cfg)} x {node_now} ({s_now} shards x {r_now} replicas) -> "
        f"{node_count(new)} x {new['node_type']} ({new['num_shards']} shards x {new['replicas_per_shard']} replicas); "
        + "; ".join(f"{d.name} p100 {d.p100:.3g} {d.unit} total" for d in demands_new if d.n)
        + "; usable memory per node = 75% of node memory (25% reserved)"
    )
    if notes:
        reason += "; " + "; ".join(notes)
    reason += "; rollout: in place (node type change, online resharding and replica changes need no downtime)"
    return finish(
        resource,
        ctx,
        changes=changes,
        demands=demands_new,
        capacity_now=cap_now,
        capacity_new=cap_new,
        cost_current=cost_now,
        cost_proposed=price({**cfg, **new}, resource.region, ctx.prices),
        rollout=RolloutMethod.IN_PLACE,
        reason=reason,
        evidence={
            "shard_skew": {"memory": mem_skew, "network": net_skew},
            "min_replicas_per_shard": r_min,
            "shards": list(shards(resource)),
        },
    )
