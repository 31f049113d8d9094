"""Size an Auto Scaling group: instance type (same CPU architecture unless a switch is allowed)
and min/desired/max from the group's aggregate CPU and network.

Aggregate demand at each 5-minute point = group-mean metric x instances in service. A candidate
is a type plus the fewest instances (never below `asg_min_instances`) that carry the aggregate
target; the cheapest candidate wins. min = desired = that count (it already covers the observed
peak with headroom), max = desired x `asg_max_factor` for scale-out beyond what was seen. Memory
is per instance: from the CloudWatch agent's mem_used_percent when present, otherwise the
candidate keeps at least today's GiB per vCPU.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from analysis.enums import RolloutMethod
from analysis.kinds.asg.pricing import instance_hourly, price
from analysis.model import MetricQuery, Recommendation, Resource, Series
from analysis.pricing.catalog import HOURS_PER_MONTH
from analysis.sizing.policy import SizingContext
from analysis.sizing.recommend import change, finish, unsizable
from analysis.sizing.search import Candidate, cheapest
from analysis.sizing.stats import Demand, aligned, demand, find, from_series

MAX_INSTANCES = 100


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


def size(resource: Resource, series: Mapping[MetricQuery, Series], ctx: SizingContext) -> Recommendation:
    cfg = resource.config
    cost_now = price(cfg, resource.region, ctx.prices)
    spec_now = unsizable(resource, ctx, cost_now, "ec2", "instance_type")
    if isinstance(spec_now, Recommendation):
        return spec_now
    ds = demands(resource, series, spec_now, ctx)
    missing = [d.name for d in ds if d.n == 0]
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
        cost_proposed=price({**cfg, **new}, resource.region, ctx.prices),
        rollout=RolloutMethod.ROLLING_INSTANCE_REFRESH if new_type != cfg["instance_type"] else RolloutMethod.IN_PLACE,
        reason=reason,
        evidence={"architecture": spec_new["architecture"]},
    )
