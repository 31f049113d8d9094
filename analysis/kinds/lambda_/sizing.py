"""Size a Lambda function: memory, reserved and provisioned concurrency together.

Memory is also CPU (analysis/kinds/lambda_/duration.py): with Lambda Insights `cpu_total_time`
the memory is the one that minimises the monthly cost (requests, GB-seconds at the predicted
duration, provisioned concurrency) among those >= used_memory_max with headroom whose predicted
p99 duration stays within `lambda_latency_budget` of today's (counted from the function at full
speed, so sizing an applied proposal again gives the same size) and well under the timeout - it
may be more than today. Without cpu_total_time the CPU share is unknown: never below
min(today, 1,769 MB). Concurrency = arrival rate x duration, so reserved (peak
ConcurrentExecutions with headroom) and provisioned concurrency (from its utilisation and
spillover; 0 is a valid answer) follow the predicted duration; always provisioned <= reserved."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from analysis.enums import RolloutMethod
from analysis.kinds.lambda_.duration import VCPU_MB, DurationModel
from analysis.kinds.lambda_.pricing import Usage, price
from analysis.model import Cost, MetricQuery, Recommendation, Resource, Series
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


def duration_model(series: Mapping[MetricQuery, Series], memory_mb: int) -> DurationModel | None:
    """Today's invocation-weighted mean duration and cpu_total_time; None without both."""
    inv, dur, cpu = (
        find(series, m, s) for m, s in (("Invocations", "Sum"), ("Duration", "Average"), ("cpu_total_time", "Average"))
    )
    if not (inv and dur and cpu):
        return None
    _, m = aligned(inv[:1] + dur[:1] + cpu[:1])
    ok = np.isfinite(m).all(axis=0) & (m[0] > 0)
    weight = m[0][ok]
    if not weight.sum() or not (m[1][ok] > 0).any():
        return None
    return DurationModel(
        float(memory_mb),
        float(np.average(m[1][ok], weights=weight)),
        float(np.average(m[2][ok], weights=weight)),
    )


def _percentile(series: Mapping[MetricQuery, Series], stat: str, q: float) -> float | None:
    found = find(series, "Duration", stat)
    values = np.concatenate([s.values for s in found]) if found else np.empty(0)
    return float(np.percentile(values, q, method="higher")) if len(values) else None


@dataclass(frozen=True)
class Option:
    """One memory size with what follows from it."""

    memory: int
    ratio: float  # predicted duration / today's
    reserved: int | None
    provisioned: int
    cost: Cost

    def __post_init__(self) -> None:
        if self.ratio <= 0:
            raise ValueError(f"{self.memory} MB: duration ratio must be > 0, got {self.ratio}")


def size(resource: Resource, series: Mapping[MetricQuery, Series], ctx: SizingContext) -> Recommendation:
    cfg = resource.config
    usage = Usage.from_series(series)
    cost_now = price(cfg, resource.region, ctx.prices, usage)
    if resource.excluded:
        return excluded(resource, cost_now)
    pol = ctx.policy.of
    opts = ctx.options
    conc = from_series("concurrency", "executions", find(series, "ConcurrentExecutions", "Maximum"), pol("concurrency"))
    mem = from_series("memory", "MB", find(series, "used_memory_max", "Maximum"), pol("memory"))
    mem_now, pc_now = int(cfg["memory_size"]), int(cfg.get("provisioned_concurrency") or 0)
    reserved_now = cfg.get("reserved_concurrency")
    reserved_now = None if reserved_now is None or int(reserved_now) < 0 else int(reserved_now)
    timeout_ms = float(cfg.get("timeout") or 900) * 1000
    p50_now, p99_now = _percentile(series, "p50", 50), _percentile(series, "p99", 99)
    model = duration_model(series, mem_now)
    notes = []

    # Concurrency = rate x duration: both levels scale with the predicted duration.
    pc_dem = provisioned_demand(series, pc_now, ctx)
    throttled = sum(float(s.values.sum()) for s in find(series, "Throttles", "Sum"))
    conc_target, pc_target = conc.target, pc_dem.target
    # Provisioned concurrency exists only on an alias; adding it where none is set is a latency
    # decision, not a sizing one, so only an existing level is resized (down to 0 if unused).
    resize_pc = bool(cfg.get("alias") and pc_now and pc_target is not None)

    def option(memory: int, ratio: float) -> Option:
        pc = math.ceil(pc_target * ratio - 1e-9) if resize_pc and pc_target is not None else pc_now
        reserved = reserved_now
        if reserved_now is not None and conc_target is not None:
            reserved = max(1, math.ceil(conc_target * ratio - 1e-9), pc)
            if throttled > 0:
                reserved = max(reserved, reserved_now)
        pc = rules.provisioned_within_reserved(pc, reserved)
        new_cfg = {**cfg, "memory_size": memory, "reserved_concurrency": reserved, "provisioned_concurrency": pc}
        scaled = None if usage is None else usage.scaled(ratio)
        return Option(memory, ratio, reserved, pc, price(new_cfg, resource.region, ctx.prices, scaled))

    # Memory
    pick = option(mem_now, 1.0)
    mem_target = mem.target  # None without Lambda Insights data
    budget = opts.lambda_latency_budget
    if mem_target is None:
        notes.append(
            f"memory kept at {mem_now} MB: max memory used is not measured (enable Lambda Insights or "
            f"read the REPORT log lines); CPU scales with memory, so it is never lowered blind"
        )
    elif model is None:
        floor = min(mem_now, VCPU_MB)
        pick = option(max(rules.lambda_memory(mem_target, opts.lambda_memory_step_mb), floor), 1.0)
        notes.append(
            f"memory from Lambda Insights used_memory_max (p100 {mem.p100:.0f} MB); no cpu_total_time, so the "
            f"CPU share is unknown: never below min(today, {VCPU_MB} MB) = {floor} MB, duration assumed unchanged"
        )
    else:
        lowest = rules.lambda_memory(mem_target, opts.lambda_memory_step_mb)
        steps = range(lowest, rules.LAMBDA_MEMORY_MAX + 1, opts.lambda_memory_step_mb)
        sizes = sorted({m for m in (mem_now, VCPU_MB, *steps) if m >= lowest})
        # The budget is counted from the function at full speed (today's p99 when today is full
        # speed), never from a size already slowed down: applying the proposal and sizing again
        # must not give up another 10% each time.
        limit = (
            None
            if p99_now is None
            else min(
                max(p99_now, p99_now * model.ratio(model.full_speed_mb) * (1 + budget)),
                opts.lambda_slow_fraction * timeout_ms,
            )
        )
        feasible = [
            o
            for o in (option(m, model.ratio(m)) for m in sizes)
            if limit is not None and p99_now is not None and p99_now * o.ratio <= limit * (1 + 1e-9)
        ]
        if not feasible:
            kept = max(mem_now, lowest)
            feasible = [option(kept, model.ratio(kept))]
            notes.append(
                f"memory {kept} MB: no size meets the duration limits (p99 duration unknown, or over "
                f"{opts.lambda_slow_fraction:.0%} of the timeout), and less memory also means less CPU"
            )
        priced = [o for o in feasible if o.cost.on_demand is not None]
        # cheapest (to the cent), then fastest; without prices nothing is compared: today's size
        # where it is feasible, else the smallest that is
        pick = (
            min(priced, key=lambda o: (round(o.cost.on_demand or 0.0, 2), o.ratio, o.memory != mem_now, o.memory))
            if priced
            else next((o for o in feasible if o.memory == mem_now), feasible[0])
        )
        notes.append(
            f"memory from the cost of each size at its predicted duration (cpu_total_time {model.cpu_ms:.0f} ms of "
            f"{model.duration_ms:.0f} ms: {model.cpu_share:.0%} CPU, {model.threads:g} thread(s)); used_memory_max "
            f"p100 {mem.p100:.0f} MB, p99 duration within {budget:.0%} of the full-speed p99 (never slower than "
            f"today's beyond that) and under "
            f"{opts.lambda_slow_fraction:.0%} of the timeout"
        )
    mem_new, ratio, reserved_new, pc_new = pick.memory, pick.ratio, pick.reserved, pick.provisioned
    if resize_pc:
        notes.append(
            f"provisioned concurrency from in-use p{pc_dem.policy.percentile:g} {pc_dem.pct:.1f}"
            + (f" x {ratio:.2f} (predicted duration)" if ratio != 1 else "")
            + (" (0: never used)" if pc_new == 0 else "")
        )
    elif pc_now:
        notes.append("provisioned concurrency kept: no utilisation data")
    if throttled > 0 and reserved_now is not None:
        notes.append(
            f"{throttled:.0f} throttles: observed concurrency is capped by the reserved limit, so "
            f"the true peak is unknown and reserved concurrency is never lowered"
        )

    gb_s_now = None if usage is None else usage.seconds_per_month * mem_now / 1024
    gb_s_new = None if usage is None else usage.seconds_per_month * ratio * mem_new / 1024
    demands = [conc] + ([mem] if mem.n else [])
    cap_now = {"concurrency": reserved_now, "memory": mem_now}
    cap_new = {"concurrency": reserved_new, "memory": mem_new}
    changes = [
        change(resource, "memory_size", mem_now, mem_new),
        change(resource, "reserved_concurrency", reserved_now, reserved_new),
        change(resource, "provisioned_concurrency", pc_now, pc_new),
    ]
    reason = (
        f"memory {mem_now} -> {mem_new} MB, reserved {reserved_now} -> {reserved_new}, provisioned "
        f"{pc_now} -> {pc_new}"
        + (f" (peak concurrency {conc.p100:.0f})" if conc.n else "")
        + (
            f"; duration p50 {p50_now:.0f} -> {p50_now * ratio:.0f} ms, p99 {p99_now:.0f} -> {p99_now * ratio:.0f} ms"
            if p50_now is not None and p99_now is not None
            else ""
        )
        + (
            f", {gb_s_now:,.0f} -> {gb_s_new:,.0f} GB-s a month"
            if gb_s_now is not None and gb_s_new is not None
            else ""
        )
        + "; "
        + "; ".join(notes)
        + "; rollout: publish a version and shift the alias to it; concurrency settings change in place"
    )

    def twice(v: float | None) -> dict[str, float | None]:
        return {"today": v, "predicted": None if v is None else v * ratio}

    return finish(
        resource,
        ctx,
        changes=changes,
        demands=demands,
        capacity_now=cap_now,
        capacity_new=cap_new,
        cost_current=cost_now,
        cost_proposed=pick.cost,
        rollout=RolloutMethod.ALIAS_SHIFT,
        reason=reason,
        evidence={
            "provisioned_concurrency": dimension_evidence(pc_dem, pc_now, pc_new),
            "throttles": throttled,
            "requests_per_month": None if usage is None else usage.requests,
            "duration": {
                "model": "cpu_total_time" if model else "unchanged (no cpu_total_time)",
                "cpu_total_time_ms": None if model is None else model.cpu_ms,
                "cpu_share": None if model is None else model.cpu_share,
                "threads": None if model is None else model.threads,
                "ratio": ratio,
                "p50_ms": twice(p50_now),
                "p99_ms": twice(p99_now),
                "gb_seconds_month": {"today": gb_s_now, "predicted": gb_s_new},
            },
        },
        projected={"concurrency": conc.values * ratio},
    )
