"""One schedule proposal per environment: the detected window, what each resource does with it,
what it saves, and the `<tier>_schedule` tfvars values that apply it.

Never for an excluded environment (production by default) nor for a CriticalPath resource.
RDS: AWS cannot stop an instance that has a read replica, nor a replica; a primary is
scheduled only without replicas or together with the removal of its idle ones (sizing
proposes it). AWS restarts a stopped instance after 7 days: the stop action fires at the start
of every off window, so a forced restart never outlives the next one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from analysis.model import Recommendation, Resource
from analysis.pricing.catalog import PriceCatalog
from analysis.schedule.detect import Detection, DetectionPolicy, detect
from analysis.schedule.pricing import STOPPABLE, ScheduleCost, schedule_cost, sized_config
from analysis.schedule.profile import Signals, WeeklyProfile
from stacks.naming import PRODUCTION_ENVIRONMENTS, schedule_variable, tier_of


class Status(StrEnum):
    PROPOSED = "proposed"
    NONE = "none"  # no off window worth it (24/7, too little data, never used)
    EXCLUDED_ENVIRONMENT = "excluded-environment"


class Decision(StrEnum):
    SCHEDULED = "scheduled"
    NOT_STOPPABLE = "not-stoppable"  # ElastiCache, NAT: billed per hour while they exist
    CRITICAL_PATH = "critical-path"
    HAS_REPLICA = "has-replica"  # AWS cannot stop an RDS instance with a read replica
    REPLICA = "replica"  # nor a read replica itself
    NOTHING_TO_STOP = "nothing-to-stop"  # a function without provisioned concurrency
    UNMANAGED = "unmanaged"  # no stack: no tfvars to write
    NO_SCHEDULE = "no-schedule"  # the environment gets none


@dataclass(frozen=True)
class SchedulePolicy:
    detection: DetectionPolicy = DetectionPolicy()
    signals: Signals = Signals()
    excluded_environments: tuple[str, ...] = PRODUCTION_ENVIRONMENTS  # never scheduled (like NAT consolidation)

    def __post_init__(self) -> None:
        if any(not e for e in self.excluded_environments):
            raise ValueError("excluded environment names must not be empty")


@dataclass(frozen=True)
class ResourceSchedule:
    region: str  # no default
    kind: str  # no default
    resource_id: str  # no default
    stack: str | None  # no default: None when unmanaged
    decision: Decision  # no default
    reason: str = ""  # one line
    cost: ScheduleCost = ScheduleCost()  # priced on the right-sized configuration
    role: str | None = None  # Role tag (a function's short name in the serverless tier)

    def __post_init__(self) -> None:
        if self.decision == Decision.SCHEDULED and self.stack is None:
            raise ValueError(f"{self.resource_id}: an unmanaged resource cannot be scheduled")


@dataclass(frozen=True)
class EnvironmentProposal:
    environment: str  # no default
    status: Status  # no default
    reason: str  # no default: one line
    detection: Detection | None = None  # None for an excluded environment
    resources: tuple[ResourceSchedule, ...] = ()  # sorted by (region, kind, resource_id)
    tfvars: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # stack -> {<tier>_schedule: value}

    def __post_init__(self) -> None:
        if self.status == Status.PROPOSED and (self.detection is None or self.detection.schedule is None):
            raise ValueError("a proposed schedule needs its detection")

    @property
    def saved(self) -> float | None:
        """USD/month on demand, None when a scheduled resource lacks a price."""
        return total_or_none(r.cost.saved for r in self.resources if r.decision == Decision.SCHEDULED)

    @property
    def continuing(self) -> float | None:
        return total_or_none(r.cost.continuing for r in self.resources if r.decision == Decision.NOT_STOPPABLE)

    def saved_by_tier(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for r in self.resources:
            if r.decision == Decision.SCHEDULED and r.stack:
                tier = tier_of(r.stack)
                prev = out.get(tier, 0.0)
                out[tier] = None if prev is None or r.cost.saved is None else prev + r.cost.saved
        return dict(sorted(out.items()))


def total_or_none(values) -> float | None:
    """Sum, or None when any value is (a missing price is never guessed)."""
    total = 0.0
    for v in values:
        if v is None:
            return None
        total += v
    return total


def key(resource: Resource) -> str:
    return f"{resource.region}/{resource.resource_id}"


def _removed_replicas(recs: Sequence[Recommendation]) -> set[tuple[str, str]]:
    """(region, replica id) of replicas whose emitted recommendation removes them."""
    return {
        (r.resource.region, r.resource.resource_id)
        for r in recs
        if r.resource.kind == "rds"
        and r.status == "emitted"
        and any(c.field == "count" and c.proposed < c.current for c in r.changes)
    }


def _decide(rec: Recommendation, removed: set[tuple[str, str]]) -> tuple[Decision, str]:
    r = rec.resource
    if r.excluded:
        return Decision.CRITICAL_PATH, f"CriticalPath: {r.excluded}"
    if r.kind not in STOPPABLE:
        return Decision.NOT_STOPPABLE, f"{r.kind} cannot be stopped: billed per hour while it exists"
    if not r.managed:
        return Decision.UNMANAGED, "not managed by a stack: no tfvars to write"
    cfg = sized_config(rec)
    if r.kind == "rds":
        if cfg.get("role") == "replica":
            return Decision.REPLICA, "AWS cannot stop a read replica (its source stays up while it exists)"
        replicas = [rid for rid in cfg.get("replica_ids") or () if (r.region, rid) not in removed]
        if replicas:
            return Decision.HAS_REPLICA, f"AWS cannot stop an instance with a read replica ({', '.join(replicas)})"
        note = " together with removing its idle replica" if cfg.get("replica_ids") else ""
        return Decision.SCHEDULED, (
            f"stopped off-hours{note} (EventBridge Scheduler); AWS restarts a stopped instance after 7 days, "
            "the stop at every off window's start catches that"
        )
    if r.kind == "lambda" and not int(cfg.get("provisioned_concurrency") or 0):
        return Decision.NOTHING_TO_STOP, "no provisioned concurrency: idle hours already cost nothing"
    what = {"asg": "scaled to 0 off-hours", "lambda": "provisioned concurrency 0 off-hours"}[r.kind]
    return Decision.SCHEDULED, what


def propose(
    environment: str,
    recs: Sequence[Recommendation],
    profiles: Mapping[str, WeeklyProfile],
    catalog: PriceCatalog,
    policy: SchedulePolicy = SchedulePolicy(),
) -> EnvironmentProposal:
    """The proposal for one environment from its recommendations (sized) and weekly profiles
    ("<region>/<resource_id>" -> profile; every resource with a use signal, stoppable or not)."""
    if environment in policy.excluded_environments:
        return EnvironmentProposal(
            environment,
            Status.EXCLUDED_ENVIRONMENT,
            f"{environment} is never scheduled (excluded environments: {', '.join(policy.excluded_environments)})",
        )
    detection = detect(profiles, policy.detection)
    ordered = sorted(recs, key=lambda r: (r.resource.region, r.resource.kind, r.resource.resource_id))
    if detection.schedule is None:
        rows = tuple(
            ResourceSchedule(
                r.resource.region,
                r.resource.kind,
                r.resource.resource_id,
                r.resource.stack,
                Decision.NO_SCHEDULE,
                detection.reason,
                role=r.resource.role,
            )
            for r in ordered
        )
        return EnvironmentProposal(environment, Status.NONE, detection.reason, detection, rows)
    removed = _removed_replicas(recs)
    rows_list = []
    tfvars: dict[str, dict[str, Any]] = {}
    value = detection.schedule.to_tfvars()
    for rec in ordered:
        r = rec.resource
        decision, reason = _decide(rec, removed)
        cost = (
            schedule_cost(rec, detection.off_hours, catalog)
            if decision in (Decision.SCHEDULED, Decision.NOT_STOPPABLE)
            else ScheduleCost()
        )
        rows_list.append(ResourceSchedule(r.region, r.kind, r.resource_id, r.stack, decision, reason, cost, r.role))
        if decision == Decision.SCHEDULED and r.stack:
            tfvars.setdefault(r.stack, {})[schedule_variable(tier_of(r.stack))] = value
    reason = f"{detection.schedule.describe()}: {detection.reason}"
    return EnvironmentProposal(
        environment, Status.PROPOSED, reason, detection, tuple(rows_list), dict(sorted(tfvars.items()))
    )
