"""The schedule proposal as report material: a JSON-ready dict (`schedule` in the run's outputs),
the one PR table, the heat map and the resources `terraform plan` will show per stack.
Deterministic: sorted, money rounded to cents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.report.heatmap import heatmap_svg
from analysis.report.records import cents
from analysis.schedule.detect import use_share
from analysis.schedule.profile import HOURS_PER_WEEK, WeeklyProfile
from analysis.schedule.propose import Decision, EnvironmentProposal, total_or_none
from stacks.naming import tier_of
from stacks.schedule_contract import WeeklySchedule, planned


def _usd(v: float | None) -> str:
    return "price missing" if v is None else f"${v:,.2f}"


def schedule_of(p: EnvironmentProposal) -> WeeklySchedule | None:
    return p.detection.schedule if p.detection else None


def as_dict(p: EnvironmentProposal) -> dict[str, Any]:
    d, s = p.detection, schedule_of(p)
    off = d.largest_off_use if d else None
    return {
        "environment": p.environment,
        "status": p.status.value,
        "reason": p.reason,
        "schedule": s.to_tfvars() if s else None,
        "description": s.describe() if s else None,
        "off_hours_per_week": d.off_hours if d and s else 0,
        "weeks": d.weeks if d else 0,
        "weeks_agreeing": d.weeks_agreeing if d else 0,
        "largest_off_use": None
        if off is None
        else {
            "resource": off.resource,
            "value": round(off.value, 3),
            "unit": off.unit,
            "share_of_peak": round(off.share_of_peak, 3),
            "when": off.when,
        },
        "monthly_saved_on_demand": cents(p.saved),
        "monthly_saved_by_tier": {t: cents(v) for t, v in p.saved_by_tier().items()},
        "monthly_continuing_not_stoppable": cents(p.continuing),
        "resources": [
            {
                "region": r.region,
                "kind": r.kind,
                "resource_id": r.resource_id,
                "stack": r.stack,
                "decision": r.decision.value,
                "reason": r.reason,
                "monthly_saved": cents(r.cost.saved),
                "monthly_continuing": cents(r.cost.continuing),
                "reserved_note": r.cost.reserved_note,
            }
            for r in p.resources
        ],
        "tfvars": {stack: dict(values) for stack, values in p.tfvars.items()},
    }


def pr_table(p: EnvironmentProposal) -> str:
    """The PR's schedule summary: one line of context, then one table, a row per stack."""
    s, d = schedule_of(p), p.detection
    if s is None or d is None:
        return f"**Schedule ({p.environment})**: none - {p.reason}\n"
    lines = [
        f"**Schedule ({p.environment})**: {s.describe()}; off {d.off_hours} of {HOURS_PER_WEEK} h a week, "
        f"{d.weeks_agreeing} of {d.weeks} weeks agree; saves {_usd(p.saved)}/month on demand after right-sizing",
        "",
        "| stack | scheduled | saved / month | not scheduled |",
        "|---|---|---:|---|",
    ]
    by_stack: dict[str, list] = {}
    for r in p.resources:
        by_stack.setdefault(r.stack or f"unmanaged ({r.region})", []).append(r)
    for stack in sorted(by_stack):
        rows = by_stack[stack]
        done = [r for r in rows if r.decision == Decision.SCHEDULED]
        skipped = [f"{r.role or r.resource_id}: {r.decision.value}" for r in rows if r.decision != Decision.SCHEDULED]
        if done:
            money = _usd(total_or_none(r.cost.saved for r in done))
        elif any(r.decision == Decision.NOT_STOPPABLE for r in rows):
            cost = total_or_none(r.cost.continuing for r in rows if r.decision == Decision.NOT_STOPPABLE)
            money = f"- (still {_usd(cost)} off-hours)"
        else:
            money = "-"
        names = ", ".join(r.role or r.resource_id for r in done) or "-"
        lines.append(f"| {stack} | {names} | {money} | {'; '.join(skipped) or '-'} |")
    lines.append(f"| **total** | | **{_usd(p.saved)}** | |")
    return "\n".join(lines) + "\n"


def heatmap(p: EnvironmentProposal, profiles: Mapping[str, WeeklyProfile]) -> str:
    s = schedule_of(p)
    zone = s.timezone if s else "UTC"
    return heatmap_svg(f"{p.environment}: weekly use ({zone})", use_share(profiles), s) if profiles else ""


def planned_resources(p: EnvironmentProposal) -> dict[str, list[str]]:
    """stack -> Terraform addresses the schedule creates there (what `plan` adds)."""
    s = schedule_of(p)
    if s is None:
        return {}
    out = {}
    for stack in sorted(p.tfvars):
        tier = tier_of(stack)
        functions = tuple(
            sorted(
                r.role
                for r in p.resources
                if r.stack == stack and r.decision == Decision.SCHEDULED and r.kind == "lambda" and r.role
            )
        )
        out[stack] = planned(tier, s, functions)
    return out


def material(p: EnvironmentProposal, profiles: Mapping[str, WeeklyProfile]) -> dict[str, Any]:
    """What the report templates show of the schedule (`schedule` in their context)."""
    return {
        "data": as_dict(p),
        "heatmap": heatmap(p, profiles),
        "table": pr_table(p),
        "planned": planned_resources(p),
    }
