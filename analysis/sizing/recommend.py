"""Assemble a Recommendation: status (excluded / no-change / below-threshold / emitted),
confidence, risk and evidence are decided here the same way for every kind."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from analysis import risk as grading
from analysis.enums import Risk, RolloutMethod, Status
from analysis.model import Change, Cost, Recommendation, Resource
from analysis.pricing.catalog import SECONDS_PER_MONTH
from analysis.sizing.confidence import confidence
from analysis.sizing.policy import SizingContext
from analysis.sizing.replay import replay
from analysis.sizing.stats import Demand


def change(resource: Resource, field: str, current: Any, proposed: Any) -> Change:
    """A config change with its tfvars key address (None when the resource is unmanaged)."""
    key = resource.tfvars_keys.get(field) if resource.managed else None
    return Change(field, current, proposed, key)


def excluded(resource: Resource, cost: Cost) -> Recommendation:
    return Recommendation(
        resource,
        (),
        1.0,
        Status.EXCLUDED,
        f"excluded: {resource.excluded}; never changed",
        Risk.LOW,
        {},
        cost,
        cost,
        RolloutMethod.NONE,
    )


def kept(resource: Resource, ctx: SizingContext, cost: Cost, reason: str) -> Recommendation:
    """Nothing can be decided (unknown type, no data): no change, confidence 0, the reason says why."""
    return finish(
        resource,
        ctx,
        changes=[],
        demands=[],
        capacity_now={},
        capacity_new={},
        cost_current=cost,
        cost_proposed=cost,
        rollout=RolloutMethod.NONE,
        reason=reason,
    )


def unsizable(
    resource: Resource, ctx: SizingContext, cost: Cost, service: str, type_field: str
) -> Recommendation | Mapping[str, Any]:
    """What every instance-sized kind checks first: the early answer, else the current type's spec.

    CriticalPath resources are excluded; a type missing from the spec catalog is kept (with why)."""
    if resource.excluded:
        return excluded(resource, cost)
    type_ = resource.config[type_field]
    spec = ctx.specs.get(service, type_)
    if spec is None:
        return kept(resource, ctx, cost, f"{type_field.replace('_', ' ')} {type_} is not in the spec catalog: kept")
    return spec


def dimension_evidence(d: Demand, now: float | None, new: float | None) -> dict[str, Any]:
    return {
        "unit": d.unit,
        "samples": d.n,
        "days_with_data": d.days_with_data(),
        f"p{d.policy.percentile:g}": d.pct,
        "p100": d.p100,
        "target": d.target,
        "headroom": d.policy.headroom,
        "peak_headroom": d.policy.peak_headroom,
        "capacity_now": now,
        "capacity_proposed": new,
    }


def _weakest(parts: Mapping[str, Any], demands: Sequence[Demand], ctx: SizingContext) -> str:
    if not demands or any(d.n == 0 for d in demands):
        missing = [d.name for d in demands if d.n == 0]
        return f"no data for {', '.join(missing) or 'any dimension'}"
    factor = min(("coverage", "samples", "variability", "margin"), key=lambda k: parts[k])
    days = min(d.days_with_data() for d in demands)
    return {
        "coverage": f"data covers {parts['coverage']:.0%} of the {ctx.window.days:g}-day window ({days} days with data)",
        "samples": f"few samples ({min(d.n for d in demands)})",
        "variability": f"demand of {parts['binding']} is highly variable",
        "margin": f"demand sits close to the proposed {parts['binding']} limit",
    }[factor]


def _window_cost(cost: Cost, ctx: SizingContext) -> float | None:
    return None if cost.on_demand is None else round(cost.on_demand * ctx.window.seconds / SECONDS_PER_MONTH, 2)


def finish(
    resource: Resource,
    ctx: SizingContext,
    *,
    changes: Sequence[Change],
    demands: Sequence[Demand],
    capacity_now: Mapping[str, float | None],  # None: unlimited (e.g. no reserved concurrency)
    capacity_new: Mapping[str, float | None],
    cost_current: Cost,
    cost_proposed: Cost,
    rollout: RolloutMethod,
    reason: str,
    evidence: Mapping[str, Any] | None = None,
    projected: Mapping[str, np.ndarray] | None = None,  # demand values on the new size (default: as observed)
    capacity_series: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,  # elastic: (now, new) per sample
    conflicts: Sequence[str] = (),  # coupled limits the proposal would break (each with its numbers)
) -> Recommendation:
    """The record of a proposal: its status, confidence, risk, evidence and its replay (every
    dimension's demand on the proposed capacity over the window). Any minute over capacity, or
    any conflict, rejects it."""
    changes = tuple(c for c in changes if c.current != c.proposed)
    projected, capacity_series = projected or {}, capacity_series or {}
    conf, parts = confidence(demands, capacity_new, ctx.window)
    replayed_cap = {d.name: capacity_series.get(d.name, (None, capacity_new.get(d.name)))[1] for d in demands}
    cost_new = cost_proposed if changes else cost_current
    replayed = replay(
        list(demands),
        replayed_cap,
        projected,
        {"current": _window_cost(cost_current, ctx), "proposed": _window_cost(cost_new, ctx)},
    )
    ev: dict[str, Any] = {
        "window_days": round(ctx.window.days, 3),
        "confidence": {**parts, "value": round(conf, 4)},
        "dimensions": {
            d.name: dimension_evidence(d, capacity_now.get(d.name), capacity_new.get(d.name)) for d in demands
        },
        "replay": replayed.as_dict(),
        **(evidence or {}),
    }
    binding = replayed.binding
    if binding is not None:
        reason += (
            f"; replayed over {ctx.window.days:g} days: {sum(r.minutes_over for r in replayed.dimensions.values()):.0f} "
            f"minutes over capacity, {binding.name} at p99 {binding.p99_utilisation:.0%} / peak "
            f"{binding.peak_utilisation:.0%} of the {'proposed' if changes else 'current'} size"
        )
    demand = {d.name: (d.timestamps, d.values) for d in demands}
    utilisation = {}
    for d in demands:
        now, new = capacity_series.get(d.name, (capacity_now.get(d.name), capacity_new.get(d.name)))
        if d.n and now is not None and new is not None and np.all(np.asarray(now) > 0) and np.all(np.asarray(new) > 0):
            utilisation[d.name] = (d.timestamps, d.values / now, np.asarray(projected.get(d.name, d.values)) / new)
    if not changes:
        return grading.apply(
            Recommendation(
                resource,
                (),
                conf,
                Status.NO_CHANGE,
                reason,
                Risk.LOW,  # graded by analysis/risk.py below
                ev,
                cost_current,
                cost_current,
                RolloutMethod.NONE,
                demand,
                utilisation,
            )
        )
    if replayed.over or conflicts:
        status = Status.REJECTED
        why = (
            [
                "replayed over the window the proposal would have run out of capacity ("
                + "; ".join(r.describe() for r in replayed.over)
                + ")"
            ]
            if replayed.over
            else []
        )
        reason = f"not emitted: {'; '.join(why + list(conflicts))}; {reason}"
    elif conf < ctx.confidence_threshold:
        status = Status.BELOW_THRESHOLD
        reason = (
            f"confidence {conf:.2f} below threshold {ctx.confidence_threshold:g} "
            f"({_weakest(parts, demands, ctx)}); {reason}"
        )
    else:
        status = Status.EMITTED
    return grading.apply(
        Recommendation(
            resource,
            changes,
            conf,
            status,
            reason,
            Risk.LOW,  # graded by analysis/risk.py below
            ev,
            cost_current,
            cost_proposed,
            rollout,
            demand,
            utilisation,
        )
    )
