"""Size a Lambda function: memory (from Lambda Insights used_memory_max where present, else
kept), reserved concurrency (peak ConcurrentExecutions with headroom), provisioned concurrency
(from its utilisation and spillover; 0 is a valid answer), always provisioned <= reserved."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from analysis.enums import RolloutMethod
from analysis.kinds.lambda_.pricing import Usage, price
from analysis.model import MetricQuery, Recommendation, Resource, Series
from analysis.sizing import rules
from analysis.sizing.policy import SizingContext
from analysis.sizing.recommend import change, dimension_evidence, excluded, finish
from analysis.sizing.stats import Demand, aligned, demand, find, from_series


def provisioned_demand(series: Mapping[MetricQuery, Series], pc_now: int, ctx: SizingContext) -> Demand:
    """Provisioned executions in use; where requests spilled over, all concurrent executions."""
    in_use = find(series, "ProvisionedConcurrentExecutions", "Maximum")
    util = find(series, "ProvisionedConcurrencyUtilization", "Maximum")
    spill = find(series, "ProvisionedConcurrencySpilloverInvocations", "Sum")
    conc = find(series, "ConcurrentExecutions", "Maximum")
    first = in_use[:1] or util[:1]
    pol = ctx.policy.of("provisioned_concurrency")
    if not first:
        return demand("provisioned_concurrency", "executions", np.empty(0, np.int64), np.empty(0), pol)
    ts, m = aligned(first + spill[:1] + conc[:1])
    used = m[0] if in_use else m[0] * pc_now
    if spill and conc:
        spilled = np.nan_to_num(m[1]) > 0
        used = np.where(spilled, np.fmax(used, m[2]), used)
    return demand("provisioned_concurrency", "executions", ts, used, pol)


def size(resource: Resource, series: Mapping[MetricQuery, Series], ctx: SizingContext) -> Recommendation:
    cfg = resource.config
    usage = Usage.from_series(series)
    cost_now = price(cfg, resource.region, ctx.prices, usage)
    if resource.excluded:
        return excluded(resource, cost_now)
    pol = ctx.policy.of
    conc = from_series("concurrency", "executions", find(series, "ConcurrentExecutions", "Maximum"), pol("concurrency"))
    mem = from_series("memory", "MB", find(series, "used_memory_max", "Maximum"), pol("memory"))
    mem_now, pc_now = int(cfg["memory_size"]), int(cfg.get("provisioned_concurrency") or 0)
    reserved_now = cfg.get("reserved_concurrency")
    reserved_now = None if reserved_now is None or int(reserved_now) < 0 else int(reserved_now)
    notes = []

    # Memory
    mem_new = mem_now
    mem_target = mem.target  # None without Lambda Insights data
    if mem_target is not None:
        mem_new = rules.lambda_memory(mem_target, ctx.options.lambda_memory_step_mb)
        p99 = find(series, "Duration", "p99")
        slow = max((float(np.max(s.values)) for s in p99), default=0.0)
        timeout_ms = float(cfg.get("timeout") or 900) * 1000
        if mem_new < mem_now and slow > ctx.options.lambda_slow_fraction * timeout_ms:
            mem_new = mem_now
            notes.append(
                f"memory kept: p99 duration {slow:.0f} ms is over {ctx.options.lambda_slow_fraction:.0%} of "
                f"the timeout, and less memory also means less CPU"
            )
        else:
            notes.append(f"memory from Lambda Insights used_memory_max (p100 {mem.p100:.0f} MB)")
    else:
        notes.append(
            f"memory kept at {mem_now} MB: max memory used is not measured (enable Lambda Insights or "
            f"read the REPORT log lines); CPU scales with memory, so it is never lowered blind"
        )

    # Provisioned concurrency (only on an alias) and reserved concurrency
    pc_dem = provisioned_demand(series, pc_now, ctx)
    pc_new = pc_now
    # Provisioned concurrency exists only on an alias; adding it where none is set is a latency
    # decision, not a sizing one, so only an existing level is resized (down to 0 if unused).
    pc_target = pc_dem.target
    if cfg.get("alias") and pc_now and pc_target is not None:
        pc_new = math.ceil(pc_target - 1e-9)
        notes.append(
            f"provisioned concurrency from in-use p{pc_dem.policy.percentile:g} {pc_dem.pct:.1f}"
            + (" (0: never used)" if pc_new == 0 else "")
        )
    elif pc_now:
        notes.append("provisioned concurrency kept: no utilisation data")
    reserved_new = reserved_now
    throttled = sum(float(s.values.sum()) for s in find(series, "Throttles", "Sum"))
    conc_target = conc.target
    if reserved_now is not None and conc_target is not None:
        reserved_new = max(1, math.ceil(conc_target - 1e-9), pc_new)
        if throttled > 0:
            reserved_new = max(reserved_new, reserved_now)
            notes.append(
                f"{throttled:.0f} throttles: observed concurrency is capped by the reserved limit, so "
                f"the true peak is unknown and reserved concurrency is never lowered"
            )
    pc_new = rules.provisioned_within_reserved(pc_new, reserved_new)

    demands = [conc] + ([mem] if mem.n else [])
    cap_now = {"concurrency": reserved_now, "memory": mem_now}
    cap_new = {"concurrency": reserved_new, "memory": mem_new}
    changes = [
        change(resource, "memory_size", mem_now, mem_new),
        change(resource, "reserved_concurrency", reserved_now, reserved_new),
        change(resource, "provisioned_concurrency", pc_now, pc_new),
    ]
    new_cfg = {**cfg, "memory_size": mem_new, "reserved_concurrency": reserved_new, "provisioned_concurrency": pc_new}
    reason = (
        f"memory {mem_now} -> {mem_new} MB, reserved {reserved_now} -> {reserved_new}, provisioned "
        f"{pc_now} -> {pc_new}"
        + (f" (peak concurrency {conc.p100:.0f})" if conc.n else "")
        + "; "
        + "; ".join(notes)
        + "; rollout: publish a version and shift the alias to it; concurrency settings change in place"
    )
    return finish(
        resource,
        ctx,
        changes=changes,
        demands=demands,
        capacity_now=cap_now,
        capacity_new=cap_new,
        cost_current=cost_now,
        cost_proposed=price(new_cfg, resource.region, ctx.prices, usage),
        rollout=RolloutMethod.ALIAS_SHIFT,
        reason=reason,
        evidence={
            "provisioned_concurrency": dimension_evidence(pc_dem, pc_now, pc_new),
            "throttles": throttled,
            "requests_per_month": None if usage is None else usage.requests,
        },
    )
