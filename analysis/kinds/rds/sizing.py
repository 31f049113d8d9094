"""Size an RDS PostgreSQL instance: class (CPU, memory, connections, the class's EBS IOPS and
throughput limits), gp3 IOPS/throughput (12,000 / 500 floor at >= 400 GiB, storage never
reduced), and for a read replica whether it is needed at all.

Coupled limits: a primary's new class is also checked against what its clients in the same
region and environment could open - each Auto Scaling group's max_size x the per-instance
pool size (`Options.db_pool_size`, the compute stack's `compute_db_pool_size`) plus the reserved
concurrency of the functions wired to the database (stacks/naming.py FUNCTION_WIRING; one
connection per execution environment). A smaller class whose default max_connections is below
that is rejected, with the numbers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.enums import RolloutMethod
from analysis.kinds.rds.pricing import instance_hourly, price
from analysis.model import Cost, MetricQuery, Recommendation, Resource, Series
from analysis.pricing.catalog import HOURS_PER_MONTH
from analysis.sizing import rules
from analysis.sizing.policy import SizingContext
from analysis.sizing.recommend import change, finish, unsizable
from analysis.sizing.search import Candidate, cheapest
from analysis.sizing.stats import Demand, combine, demand, find, from_series
from stacks.naming import FUNCTION_WIRING, Tier

GIB = 2.0**30
MIB = 2.0**20


def demands(series: Mapping[MetricQuery, Series], spec: Mapping[str, Any], ctx: SizingContext) -> list[Demand]:
    pol = ctx.policy.of
    free_ts, free = combine(find(series, "FreeableMemory", "Minimum"), "max")
    return [
        from_series("cpu", "vCPU", find(series, "CPUUtilization", "Maximum"), pol("cpu"), scale=spec["vcpu"] / 100),
        demand("memory", "GiB", free_ts, spec["memory_gib"] - free / GIB, pol("memory")),
        from_series("connections", "connections", find(series, "DatabaseConnections", "Maximum"), pol("connections")),
        from_series(
            "iops",
            "IOPS",
            find(series, "ReadIOPS", "Maximum") + find(series, "WriteIOPS", "Maximum"),
            pol("iops"),
            require_all=True,
        ),
        from_series(
            "throughput",
            "MB/s",
            find(series, "ReadThroughput", "Maximum") + find(series, "WriteThroughput", "Maximum"),
            pol("throughput"),
            scale=1e-6,
            require_all=True,
        ),
    ]


def class_capacity(spec: Mapping[str, Any]) -> dict[str, float]:
    return {
        "cpu": spec["vcpu"],
        "memory": spec["memory_gib"],
        "connections": spec["max_connections"],
        "iops": spec["ebs_iops"],
        "throughput": spec["ebs_mbps"],
    }


def candidates(resource: Resource, ctx: SizingContext) -> list[Candidate]:
    cfg, current = resource.config, resource.config["instance_class"]
    out = []
    for name, spec in ctx.specs.types("rds"):
        if spec["burstable"] and not ctx.options.allow_burstable and name != current:
            continue
        od = instance_hourly(ctx.prices, resource.region, cfg, name)["on_demand"].value
        out.append(
            Candidate(
                name,
                {"instance_class": name},
                class_capacity(spec),
                None if od is None else od * HOURS_PER_MONTH,
                current=name == current,
            )
        )
    return out


def _replica_needed(resource: Resource, conns: Demand, ctx: SizingContext) -> tuple[bool, str]:
    source = ctx.peers.get((resource.region, str(resource.config.get("source_id"))))
    if conns.pct is None:
        return True, "no DatabaseConnections data for the replica: kept"
    if conns.pct > ctx.options.replica_idle_connections:
        return True, f"replica serves reads (p{conns.policy.percentile:g} {conns.pct:.0f} connections)"
    if source is None or not source.config.get("multi_az"):
        return True, (
            "replica is idle but the primary is not known to be Multi-AZ: the replica may be the only standby, kept"
        )
    return False, (
        f"replica is idle (p{conns.policy.percentile:g} {conns.pct:.1f} connections, p100 {conns.p100:.0f}) "
        f"and the Multi-AZ primary {source.resource_id} already provides the standby"
    )


def _remove_replica(
    resource: Resource, ds: list[Demand], ctx: SizingContext, cost_now: Cost, why: str
) -> Recommendation:
    source = ctx.peers.get((resource.region, str(resource.config.get("source_id"))))
    count = len(source.config.get("replica_ids") or ()) if source else 1
    count = max(count, 1)
    return finish(
        resource,
        ctx,
        changes=[change(resource, "count", count, count - 1)],
        demands=ds[2:3],
        capacity_now={},
        capacity_new={},
        cost_current=cost_now,
        cost_proposed=Cost(0.0, 0.0, 0.0),
        rollout=RolloutMethod.IN_PLACE,
        reason=f"remove the read replica: {why}; Terraform destroys it (readers must use the writer "
        f"endpoint first), and a primary without replicas can use blue/green deployments directly",
    )


def client_connections(resource: Resource, ctx: SizingContext) -> dict[str, Any]:
    """What the database's clients could open: per client, and the total (None when a client
    has no limit, e.g. a function without reserved concurrency)."""
    env = resource.tags.get("Environment")
    clients: dict[str, int | None] = {}
    for (region, rid), peer in sorted(ctx.peers.items()):
        if region != resource.region or peer.tags.get("Environment") != env:
            continue
        if peer.kind == "asg" and peer.role == "asg":
            clients[rid] = int(peer.config.get("max_size") or 0) * ctx.options.db_pool_size
        elif peer.kind == "lambda" and FUNCTION_WIRING.get(str(peer.role)) == Tier.DATA:
            reserved = peer.config.get("reserved_concurrency")
            clients[rid] = None if reserved is None or int(reserved) < 0 else int(reserved)
    values = list(clients.values())
    total = None if None in values else sum(v for v in values if v is not None)
    return {"clients": clients, "total": total, "pool_size_per_instance": ctx.options.db_pool_size}


def _rollout(resource: Resource) -> tuple[RolloutMethod, str]:
    if resource.config.get("role") == "replica":
        return RolloutMethod.IN_PLACE, "a replica is modified in place (only its readers see the reboot)"
    if resource.config.get("replica_ids"):
        return RolloutMethod.BLUE_GREEN, (
            "blue/green deployment orchestrated through the RDS API (the provider's "
            "blue_green_update cannot handle an instance with read replicas), then the tfvars "
            "are updated so the next plan is a no-op"
        )
    return (
        RolloutMethod.BLUE_GREEN,
        "blue/green deployment (switchover in about a minute; the old instance is kept as -old1)",
    )


def size(resource: Resource, series: Mapping[MetricQuery, Series], ctx: SizingContext) -> Recommendation:
    cfg = resource.config
    cost_now = price(cfg, resource.region, ctx.prices)
    spec = unsizable(resource, ctx, cost_now, "rds", "instance_class")
    if isinstance(spec, Recommendation):
        return spec
    ds = demands(series, spec, ctx)
    by = {d.name: d for d in ds}
    if cfg.get("role") == "replica":
        needed, why = _replica_needed(resource, by["connections"], ctx)
        if not needed:
            return _remove_replica(resource, ds, ctx, cost_now, why)
        replica_note = why
    else:
        replica_note = None

    gib = float(
        cfg.get("allocated_storage") or 0
    )  # never changed: storage can only grow, and demand for it is not measured
    targets = {d.name: d.target for d in ds}
    missing = [d.name for d in ds if d.n == 0]
    notes = [replica_note] if replica_note else []
    # The instance must carry the I/O whatever the storage provides; storage is sized separately.
    pick = cheapest(candidates(resource, ctx), targets) if not missing else None
    new_class = pick.name if pick else cfg["instance_class"]
    if missing:
        notes.append(f"no data for {', '.join(missing)}: class kept")
    elif pick is None:
        notes.append("no catalog class covers the demand with headroom: class kept, review by hand")
    changes = [change(resource, "instance_class", cfg["instance_class"], new_class)]

    iops_now, thr_now = cfg.get("iops"), cfg.get("storage_throughput")
    iops_new, thr_new = iops_now, thr_now
    if rules.gp3_settable(gib) and str(cfg.get("storage_type") or "gp3") == "gp3":
        # Without I/O data keep what is set (raised to the floor if below it).
        iops_target, thr_target = by["iops"].target, by["throughput"].target
        iops_need = iops_target if iops_target is not None else (iops_now or 0)
        thr_need = thr_target * 1e6 / MIB if thr_target is not None else (thr_now or 0)
        iops_new = rules.gp3_iops(gib, iops_need, thr_need)
        thr_new = rules.gp3_throughput(gib, thr_need, iops_new)
        if iops_now is not None and iops_now < rules.GP3_BASELINE_LARGE[0]:
            notes.append(
                f"{iops_now} IOPS at {gib:g} GiB is below the gp3 floor (the API rejects it): "
                f"{rules.GP3_BASELINE_LARGE[0]} is the minimum and costs nothing extra"
            )
        if thr_now is None and thr_new == rules.GP3_BASELINE_LARGE[1]:
            thr_new = None  # baseline throughput, nothing to set
        changes += [
            change(resource, "iops", iops_now, iops_new),
            change(resource, "storage_throughput", thr_now, thr_new),
        ]
    proposed_cfg = {
        **cfg,
        "instance_class": new_class,
        "iops": iops_new,
        "storage_throughput": thr_new,
        "allocated_storage": gib,
    }
    new_spec = ctx.specs.spec("rds", new_class)
    storage_iops = iops_new or rules.gp3_baseline(gib)[0]
    storage_mbps = (thr_new or rules.gp3_baseline(gib)[1]) * MIB / 1e6
    cap_now = {**class_capacity(spec), "storage_iops": iops_now or rules.gp3_baseline(gib)[0]}
    cap_new = class_capacity(new_spec)
    cap_new["iops"] = min(cap_new["iops"], storage_iops)
    cap_new["throughput"] = min(cap_new["throughput"], storage_mbps)
    cap_now["iops"] = min(cap_now["iops"], cap_now.pop("storage_iops"))
    conflicts = []
    coupled = client_connections(resource, ctx) if cfg.get("role") != "replica" else None
    if coupled is not None:
        coupled["max_connections"] = [spec["max_connections"], new_spec["max_connections"]]
        total = coupled["total"]
        allowed = new_spec["max_connections"]
        # only a class that allows fewer than today is flagged: today's limit is what the clients live with
        if total is not None and allowed < total and allowed < spec["max_connections"]:
            conflicts.append(
                f"{new_class} allows {new_spec['max_connections']} connections (default max_connections) but its "
                f"clients could open {total} ("
                + ", ".join(f"{rid} {n}" for rid, n in coupled["clients"].items())
                + f"; ASG max_size x pool size {ctx.options.db_pool_size}, functions' reserved concurrency); "
                f"{cfg['instance_class']} allows {spec['max_connections']}"
            )
    rollout, how = _rollout(resource)
    binding = [f"{d.name} p{d.policy.percentile:g} {d.pct:.3g} / p100 {d.p100:.3g} {d.unit}" for d in ds if d.n]
    reason = (
        f"{cfg['instance_class']} -> {new_class}" if new_class != cfg["instance_class"] else f"class {new_class} kept"
    ) + f" ({'; '.join(binding)})"
    if iops_new != iops_now:
        reason += f"; gp3 IOPS {iops_now} -> {iops_new}"
    if notes:
        reason += "; " + "; ".join(notes)
    reason += f"; rollout: {how}"
    return finish(
        resource,
        ctx,
        changes=changes,
        demands=ds,
        capacity_now=cap_now,
        capacity_new=cap_new,
        cost_current=cost_now,
        cost_proposed=price(proposed_cfg, resource.region, ctx.prices),
        rollout=rollout,
        reason=reason,
        evidence={
            "storage": {"allocated_gib": gib, "iops": [iops_now, iops_new], "throughput_mibps": [thr_now, thr_new]},
            "ebs_balance_min_pct": _balance(series),
            "client_connections": coupled,
        },
        conflicts=conflicts,
    )


def _balance(series: Mapping[MetricQuery, Series]) -> dict[str, float | None]:
    out = {}
    for metric in ("EBSIOBalance%", "EBSByteBalance%"):
        found = find(series, metric, "Minimum")
        out[metric] = float(min(s.values.min() for s in found)) if found else None
    return out
