"""Two graded risks per recommendation, and the --max-risk gate.

- performance risk, 0..4 like AWS Compute Optimizer's (0 very low .. 4 very high): how close the
  binding dimension's peak over the window comes to its capacity on the proposed size;
- availability risk (low / medium / high): what the change removes from redundancy: AZs
  carrying traffic, NAT gateways (one per AZ is the redundant layout), a read replica, a shard
  or a replica per shard, Multi-AZ. A change that lowers redundancy is never low.

The recommendation's `risk` is the worse of the two (performance 0-1 low, 2 medium, 3-4 high).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.enums import Risk, Status
from analysis.model import Recommendation

# Upper bounds of peak / proposed capacity for performance risk 0, 1, 2, 3; at or above the last: 4.
PERFORMANCE_BOUNDS = (0.5, 0.75, 0.9, 1.0)
PERFORMANCE_NAMES = ("very low", "low", "medium", "high", "very high")
ORDER = (Risk.LOW, Risk.MEDIUM, Risk.HIGH)

# config field -> (how it lowers redundancy, risk when lowered, risk when lowered to its floor,
# floor: the value at which the redundancy is gone: one NAT gateway, no replica, ...). None: only
# reaching the floor lowers redundancy (an ASG keeps spreading over its AZs down to 2 instances).
REDUNDANCY: dict[str, tuple[str, Risk | None, Risk, int]] = {
    "nat_gateway_count": ("NAT gateways consolidated: AZs lose their own egress path", Risk.MEDIUM, Risk.HIGH, 1),
    "az_count": ("fewer AZs carry traffic", Risk.HIGH, Risk.HIGH, 1),
    "count": ("a read replica removed", Risk.MEDIUM, Risk.HIGH, 0),
    "num_shards": ("shards removed: fewer primaries carry the keyspace", Risk.MEDIUM, Risk.MEDIUM, 1),
    "replicas_per_shard": ("replicas per shard removed", Risk.MEDIUM, Risk.HIGH, 0),
    "min_size": ("one instance minimum: a single AZ carries traffic", None, Risk.HIGH, 1),
}


def performance(evidence: Mapping[str, Any]) -> tuple[int, str | None, float | None]:
    """(risk 0..4, binding dimension, its peak / proposed capacity) from the sizing evidence."""
    worst, binding = None, None
    for name, dim in sorted(evidence.get("dimensions", {}).items()):
        peak, cap = dim.get("p100"), dim.get("capacity_proposed")
        if peak is None or not cap:
            continue  # unlimited or unmeasured: no pressure to grade
        used = float(peak) / float(cap)
        if worst is None or used > worst:
            worst, binding = used, name
    if worst is None:
        return 0, None, None
    return sum(worst >= b for b in PERFORMANCE_BOUNDS), binding, round(worst, 4)


def availability(changes: list[Mapping[str, Any]]) -> tuple[Risk, list[str]]:
    """Risk and why, from the changed config fields (field, current, proposed)."""
    level, why = Risk.LOW, list[str]()
    for ch in changes:
        f, now, new = ch["field"], ch["current"], ch["proposed"]
        if f == "multi_az" and now and not new:
            level, why = max_risk(level, Risk.HIGH), [*why, "Multi-AZ turned off"]
        elif f in REDUNDANCY and isinstance(now, int) and isinstance(new, int) and new < now:
            text, lowered, at_floor, floor = REDUNDANCY[f]
            graded = at_floor if new <= floor else lowered
            if graded is not None:
                level = max_risk(level, graded)
                why.append(f"{text} ({now} -> {new})")
    return level, why


def max_risk(a: Risk, b: Risk) -> Risk:
    return ORDER[max(ORDER.index(a), ORDER.index(b))]


def of_performance(score: int) -> Risk:
    return Risk.LOW if score <= 1 else Risk.MEDIUM if score == 2 else Risk.HIGH


@dataclass(frozen=True)
class Grade:
    performance: int = 0  # 0..4
    binding: str | None = None  # the dimension graded
    peak_share: float | None = None  # its peak / proposed capacity
    availability: Risk = Risk.LOW
    availability_why: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not 0 <= self.performance <= 4:
            raise ValueError(f"performance risk {self.performance} outside 0..4")

    @property
    def overall(self) -> Risk:
        return max_risk(of_performance(self.performance), self.availability)

    def as_dict(self) -> dict[str, Any]:
        return {
            "performance": self.performance,
            "performance_name": PERFORMANCE_NAMES[self.performance],
            "binding": self.binding,
            "peak_share": self.peak_share,
            "availability": self.availability.value,
            "availability_why": list(self.availability_why),
            "overall": self.overall.value,
        }


def grade(rec: Recommendation) -> Grade:
    score, binding, share = performance(rec.evidence)
    level, why = availability([dataclasses.asdict(c) for c in rec.changes])
    return Grade(score, binding, share, level, tuple(why))


def apply(rec: Recommendation, max_allowed: Risk | None = None) -> Recommendation:
    """The recommendation with its graded risk (in `risk` and evidence["risk"]); an emitted one
    above `max_allowed` is kept in the report but not written to tfvars."""
    g = grade(rec)
    status, reason = rec.status, rec.reason
    if max_allowed is not None and status == Status.EMITTED and ORDER.index(g.overall) > ORDER.index(max_allowed):
        status = Status.BELOW_THRESHOLD
        reason = f"risk {g.overall} above --max-risk {max_allowed}; {reason}"
    evidence = {**rec.evidence, "risk": g.as_dict()}
    return dataclasses.replace(rec, risk=g.overall, status=status, reason=reason, evidence=evidence)
