"""Size an Auto Scaling group: instance type (same CPU architecture unless a switch is allowed)
and its sizes from the group's aggregate CPU and network.

Aggregate demand at each 5-minute point = group-mean metric x instances in service. Memory is
per instance: from the CloudWatch agent's mem_used_percent when present, otherwise the
candidate keeps at least today's GiB per vCPU.

A fixed group (constant count in service, no scaling policy): a candidate is a type plus the
fewest instances (never below `asg_min_instances`) that carry the aggregate target; the
cheapest wins. min = desired = that count (it covers the observed peak with headroom), max =
desired x `asg_max_factor` for scale-out beyond what was seen.

An elastic group (its count in service varied, or it has a scaling policy) keeps its
elasticity. Its target-tracking policy (target T = the group's policy target, else the stack's
`compute_target_cpu_utilization`) runs ceil(CPU demand / (vCPU x T)) instances, reacting to the
previous 5 minutes. Per type: min_size from the trough (p`TROUGH_PERCENTILE` of aggregate CPU
with headroom, at T), raised until the replayed policy never runs out of capacity; max_size
from the peak (the CPU target at T, and the network target); desired capacity is the policy's
and not written. The cheapest type by replayed instance-hours wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.enums import RolloutMethod
from analysis.kinds.asg.pricing import instance_hourly, price
from analysis.model import Cost, MetricQuery, Recommendation, Resource, Series
from analysis.pricing.catalog import HOURS_PER_MONTH
from analysis.sizing.policy import SizingContext
from analysis.sizing.recommend import change, finish, unsizable
from analysis.sizing.search import Candidate, cheapest
from analysis.sizing.stats import Demand, aligned, demand, find, from_series
from stacks.props import ComputeProps

MAX_INSTANCES = 100
TROUGH_PERCENTILE = 5.0  # min_size carries this percentile of aggregate CPU (the night trough)
# The policy the stack creates; a group scaled by something else is assumed to scale alike.
DEFAULT_TARGET = ComputeProps().compute_target_cpu_utilization or 50


def demands(
    resource: Resource, series: Mapping[MetricQuery, Series], spec: Mapping[str, Any], ctx: SizingContext
) -> list[Demand]:
    pol = ctx.policy.of
    name = resource.resource_id
    inservice = find(series, "GroupInServiceInstances", "Average", AutoScalingGroupName=name)
    fallback = float(resource.config.get("desired_capacity") or 1)

    def aggregate(metric: str | tuple[str, ...], scale: float) -> tuple[np.ndarray, np.ndarray]:
        metrics = (metric,) if isinstance(metric, str) else metric
        parts = [s for m in metrics for s in find(series, m, "Average", AutoScalingGroupName=name)]
        if len(parts) != len(metrics):
            return np.empty(0, np.int64), np.empty(0)
        ts, m = aligned(parts + inservice)
        per_instance = m[: len(parts)].sum(axis=0)
        count = m[len(parts)] if inservice else np.full(len(ts), fallback)
        count = np.where(np.isnan(count), fallback, count)
        return ts, per_instance * count * scale

    period = ctx.options.ec2_metric_period
    out = [
        demand("cpu", "vCPU", *aggregate("CPUUtilization", spec["vcpu"] / 100), pol("cpu")),
        demand("network", "Gbps", *aggregate(("NetworkIn", "NetworkOut"), 8 / period / 1e9), pol("network")),
    ]
    mem = find(series, "mem_used_percent", "Maximum", AutoScalingGroupName=name)
    if mem:
        out.append(from_series("memory", "GiB per instance", mem, pol("memory"), scale=spec["memory_gib"] / 100))
    return out


def candidates(
    resource: Resource,
    spec_now: Mapping[str, Any],
    ds: list[Demand],
    ctx: SizingContext,
    targets: Mapping[str, float | None],
) -> list[Candidate]:
    cfg, current = resource.config, resource.config["instance_type"]
    by = {d.name: d for d in ds}
    out = []
    for name, spec in ctx.specs.types("ec2"):
        if spec["architecture"] != spec_now["architecture"] and not ctx.options.allow_architecture_switch:
            continue  # an arm64 <-> x86_64 switch needs another AMI
        if spec["burstable"] and not ctx.options.allow_burstable and name != current:
            continue
        if "memory" not in by and spec["memory_gib"] / spec["vcpu"] < spec_now["memory_gib"] / spec_now["vcpu"]:
            continue  # memory is not measured: keep at least today's GiB per vCPU
        n = max(
            ctx.options.asg_min_instances,
            math.ceil((targets["cpu"] or 0) / spec["vcpu"] - 1e-9),
            math.ceil((targets["network"] or 0) / spec["network_gbps"] - 1e-9),
        )
        if n > MAX_INSTANCES:
            continue
        od = instance_hourly(ctx.prices, resource.region, name)["on_demand"].value
        cap = {"cpu": n * spec["vcpu"], "network": n * spec["network_gbps"], "memory": spec["memory_gib"]}
        out.append(
            Candidate(
                f"{n} x {name}",
                {"instance_type": name, "desired_capacity": n},
                cap,
                None if od is None else od * n * HOURS_PER_MONTH,
                current=(name, n) == (current, int(cfg.get("desired_capacity") or 0)),
            )
        )
    return out


def in_service(series: Mapping[MetricQuery, Series], group: str) -> Series | None:
    found = find(series, "GroupInServiceInstances", "Average", AutoScalingGroupName=group)
    return found[0] if found else None


def count_at(ts_from: np.ndarray, counts: np.ndarray, ts: np.ndarray, fallback: float) -> np.ndarray:
    """`counts` (at `ts_from`) at each of `ts`; `fallback` where there is no sample."""
    out = np.full(len(ts), float(fallback))
    if not len(ts_from) or not len(ts):
        return out
    idx = np.clip(np.searchsorted(ts_from, ts), 0, len(ts_from) - 1)
    hit = ts_from[idx] == ts
    out[hit] = np.nan_to_num(np.asarray(counts, float)[idx[hit]], nan=fallback)
    return out


def size(resource: Resource, series: Mapping[MetricQuery, Series], ctx: SizingContext) -> Recommendation:
    cfg = resource.config
    running = in_service(series, resource.resource_id)
    ran = None if running is None else float(np.nanmean(running.values))  # mean instances in service
    cost_now = price(cfg, resource.region, ctx.prices, ran)
    spec_now = unsizable(resource, ctx, cost_now, "ec2", "instance_type")
    if isinstance(spec_now, Recommendation):
        return spec_now
    ds = demands(resource, series, spec_now, ctx)
    missing = [d.name for d in ds if d.n == 0]
    varied = running is not None and float(np.nanmax(running.values) - np.nanmin(running.values)) >= 1
    if not missing and (varied or cfg.get("scaling_policies")):
        return size_elastic(resource, ds, spec_now, running, cost_now, ctx)
    n_now = int(cfg.get("desired_capacity") or 0)
    targets = {d.name: d.target for d in ds}
    notes = []
    if not missing and ds[0].p100 >= 0.99 * spec_now["vcpu"] * max(n_now, 1):
        # CPU pinned at 100%: the true demand is above what was observed, so never size below today.
        targets["cpu"] = max(targets["cpu"], spec_now["vcpu"] * n_now * (1 + ds[0].policy.headroom))
        notes.append(
            f"CPU saturated (group at 100%): true demand unknown, sized at least {ds[0].policy.headroom:.0%} above today"
        )
    pick = None if missing else cheapest(candidates(resource, spec_now, ds, ctx, targets), targets)
    if missing:
        notes.append(f"no data for {', '.join(missing)}: kept")
    elif pick is None:
        notes.append("no catalog instance type covers the demand with headroom: kept, review by hand")
    if pick:
        new_type, n = pick.config["instance_type"], pick.config["desired_capacity"]
        new = {
            "instance_type": new_type,
            "min_size": n,
            "desired_capacity": n,
            "max_size": max(n, math.ceil(n * ctx.options.asg_max_factor)),
        }
    else:
        new_type, n = cfg["instance_type"], n_now
        new = {k: cfg.get(k) for k in ("instance_type", "min_size", "desired_capacity", "max_size")}
    spec_new = ctx.specs.spec("ec2", new_type)
    changes = [
        change(resource, k, cfg.get(k), new[k]) for k in ("instance_type", "min_size", "desired_capacity", "max_size")
    ]

    def cap(spec, count):
        return {
            "cpu": count * spec["vcpu"],
            "network": count * spec["network_gbps"],
            "memory": spec["memory_gib"],
        }

    reason = (
        f"{n_now} x {cfg['instance_type']} -> {n} x {new_type} (min {new['min_size']}, max {new['max_size']}); "
        + "; ".join(
            f"aggregate {d.name} p{d.policy.percentile:g} {d.pct:.3g} / p100 {d.p100:.3g} {d.unit}" for d in ds if d.n
        )
    )
    if "memory" not in {d.name for d in ds}:
        reason += "; memory not measured (no CloudWatch agent): GiB per vCPU kept at least as today"
    if spec_new["architecture"] != spec_now["architecture"]:
        reason += f"; architecture {spec_now['architecture']} -> {spec_new['architecture']} needs a matching AMI"
    if notes:
        reason += "; " + "; ".join(notes)
    reason += (
        "; rollout: new launch template version (pinned, not $Latest) and an ASG instance refresh, "
        "replacing instances in batches behind the NLB"
    )
    return finish(
        resource,
        ctx,
        changes=changes,
        demands=ds,
        capacity_now=cap(spec_now, n_now),
        capacity_new=cap(spec_new, n),
        cost_current=cost_now,
        cost_proposed=price({**cfg, **new}, resource.region, ctx.prices) if pick else cost_now,
        rollout=RolloutMethod.ROLLING_INSTANCE_REFRESH if new_type != cfg["instance_type"] else RolloutMethod.IN_PLACE,
        reason=reason,
        evidence={"architecture": spec_new["architecture"]},
    )


@dataclass(frozen=True, eq=False)
class Elastic:
    """One instance type for an elastic group, with the count its policy would have run."""

    instance_type: str
    min_size: int
    max_size: int
    counts: np.ndarray  # instances in service at each CPU demand sample, replayed
    monthly: float | None  # on-demand USD a month at the replayed count

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.max_size:
            raise ValueError(f"{self.instance_type}: min_size {self.min_size} > max_size {self.max_size}")


def policy_counts(cpu: np.ndarray, per_instance: float, lo: int, hi: int) -> np.ndarray:
    """Instances a target-tracking policy runs: enough for the previous period's CPU at the target."""
    wanted = np.ceil(np.r_[cpu[:1], cpu[:-1]] / per_instance - 1e-9)
    return np.clip(wanted, lo, hi)


def runs_short(cpu: Demand, net: Demand, spec: Mapping[str, Any], per: float, floor: int, hi: int) -> bool:
    """Whether the replayed policy, with min `floor`, ever leaves CPU or network demand uncovered."""
    counts = policy_counts(cpu.values, per, floor, hi)
    net_counts = count_at(cpu.timestamps, counts, net.timestamps, floor)
    return bool(
        np.any(cpu.values > counts * spec["vcpu"] + 1e-9)
        or np.any(net.values > net_counts * spec["network_gbps"] + 1e-9)
    )


def lowest_floor(cpu: Demand, net: Demand, spec: Mapping[str, Any], per: float, lo: int, hi: int) -> int:
    """The policy lags one period: the smallest min >= lo it never runs short with (at max it cannot)."""
    top = hi
    while lo < top:
        mid = (lo + top) // 2
        lo, top = (lo, mid) if not runs_short(cpu, net, spec, per, mid, hi) else (mid + 1, top)
    return lo


def _elastic_options(
    resource: Resource, spec_now: Mapping[str, Any], ds: list[Demand], ctx: SizingContext, target: float
) -> list[Elastic]:
    by = {d.name: d for d in ds}
    cpu, net = by["cpu"], by["network"]
    headroom = cpu.policy.headroom
    trough = float(np.percentile(cpu.values, TROUGH_PERCENTILE, method="higher"))
    out = []
    for name, spec in ctx.specs.types("ec2"):
        if spec["architecture"] != spec_now["architecture"] and not ctx.options.allow_architecture_switch:
            continue
        if spec["burstable"] and not ctx.options.allow_burstable and name != resource.config["instance_type"]:
            continue
        if "memory" not in by and spec["memory_gib"] / spec["vcpu"] < spec_now["memory_gib"] / spec_now["vcpu"]:
            continue
        if "memory" in by and spec["memory_gib"] < (by["memory"].target or 0):
            continue
        per = spec["vcpu"] * target
        lo = max(ctx.options.asg_min_instances, math.ceil(trough * (1 + headroom) / per - 1e-9))
        hi = max(
            lo + 1,  # room to scale out beyond what was seen: costs nothing until the policy uses it
            math.ceil((cpu.target or 0) / per - 1e-9),
            math.ceil((net.target or 0) / spec["network_gbps"] - 1e-9),
        )
        if hi > MAX_INSTANCES:
            continue

        lo = lowest_floor(cpu, net, spec, per, lo, hi)
        counts = policy_counts(cpu.values, per, lo, hi)
        od = instance_hourly(ctx.prices, resource.region, name)["on_demand"].value
        out.append(Elastic(name, lo, hi, counts, None if od is None else od * float(np.mean(counts)) * HOURS_PER_MONTH))
    return out


def size_elastic(
    resource: Resource,
    ds: list[Demand],
    spec_now: Mapping[str, Any],
    running: Series | None,
    cost_now: Cost,
    ctx: SizingContext,
) -> Recommendation:
    cfg = resource.config
    target_pct = cfg.get("target_cpu_utilization") or DEFAULT_TARGET
    target = float(target_pct) / 100
    options = _elastic_options(resource, spec_now, ds, ctx, target)
    priced = [o for o in options if o.monthly is not None or o.instance_type == cfg["instance_type"]]
    pick = min(
        priced,
        key=lambda o: (
            math.inf if o.monthly is None else o.monthly,
            o.instance_type != cfg["instance_type"],
            o.instance_type,
        ),
        default=None,
    )
    by = {d.name: d for d in ds}
    fallback = float(cfg.get("desired_capacity") or 1)
    ts_run = running.timestamps if running is not None else np.empty(0, np.int64)
    vals_run = running.values if running is not None else np.empty(0)
    now_counts = {d.name: count_at(ts_run, vals_run, d.timestamps, fallback) for d in ds if d.name != "memory"}
    why = (
        f"scaling policies {', '.join(cfg['scaling_policies'])}"
        if cfg.get("scaling_policies")
        else f"{np.nanmin(vals_run):.0f}..{np.nanmax(vals_run):.0f} instances in service"
    )
    notes = [f"elastic group ({why})"]
    if pick is None:
        notes.append("no catalog instance type covers the demand with headroom: kept, review by hand")
        new_type, lo, hi = cfg["instance_type"], int(cfg.get("min_size") or 0), int(cfg.get("max_size") or 0)
        counts = now_counts["cpu"]
    else:
        new_type, lo, hi, counts = pick.instance_type, pick.min_size, pick.max_size, pick.counts
    spec_new = ctx.specs.spec("ec2", new_type)
    new_counts = {"cpu": counts, "network": count_at(by["cpu"].timestamps, counts, by["network"].timestamps, lo)}
    per_dim = {"cpu": "vcpu", "network": "network_gbps"}
    capacity_series = {
        dim: (now_counts[dim] * spec_now[key], new_counts[dim] * spec_new[key]) for dim, key in per_dim.items()
    }
    peak_now = float(np.nanmax(vals_run)) if len(vals_run) else fallback
    cap_now = {
        "cpu": peak_now * spec_now["vcpu"],
        "network": peak_now * spec_now["network_gbps"],
        "memory": spec_now["memory_gib"],
    }
    cap_new = {"cpu": hi * spec_new["vcpu"], "network": hi * spec_new["network_gbps"], "memory": spec_new["memory_gib"]}
    ran, replayed = float(np.mean(now_counts["cpu"])), float(np.mean(counts))
    changes = [
        change(resource, "instance_type", cfg["instance_type"], new_type),
        change(resource, "min_size", cfg.get("min_size"), lo),
        change(resource, "max_size", cfg.get("max_size"), hi),
    ]
    cpu = by["cpu"]
    reason = (
        f"{cfg['instance_type']} min {cfg.get('min_size')} max {cfg.get('max_size')} -> {new_type} min {lo} max {hi}; "
        + "; ".join(notes)
        + f"; min from the trough (aggregate CPU p{TROUGH_PERCENTILE:g} "
        f"{np.percentile(cpu.values, TROUGH_PERCENTILE, method='higher'):.3g} vCPU) and max from the peak "
        f"(p{cpu.policy.percentile:g} {cpu.pct:.3g} / p100 {cpu.p100:.3g} vCPU) at the policy's {target_pct:g}% CPU "
        f"target; desired capacity left to the scaling policy (not written); replayed {replayed:.1f} instances on "
        f"average (today {ran:.1f} in service)"
    )
    if "memory" not in by:
        reason += "; memory not measured (no CloudWatch agent): GiB per vCPU kept at least as today"
    reason += (
        "; rollout: new launch template version (pinned, not $Latest) and an ASG instance refresh, "
        "replacing instances in batches behind the NLB"
    )
    return finish(
        resource,
        ctx,
        changes=changes,
        demands=ds,
        capacity_now=cap_now,
        capacity_new=cap_new,
        cost_current=cost_now,
        cost_proposed=price({**cfg, "instance_type": new_type}, resource.region, ctx.prices, replayed),
        rollout=RolloutMethod.ROLLING_INSTANCE_REFRESH if new_type != cfg["instance_type"] else RolloutMethod.IN_PLACE,
        reason=reason,
        evidence={
            "architecture": spec_new["architecture"],
            "elastic": {
                "target_cpu_utilization": target_pct,
                "instances_in_service_mean": {"today": ran, "replayed": replayed},
                "instances_replayed": {"min": float(counts.min()), "max": float(counts.max())},
                "trough_percentile": TROUGH_PERCENTILE,
            },
        },
        capacity_series=capacity_series,
    )
