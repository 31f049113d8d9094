"""Turn recommendations.json into rollout plans: one method and an exact list of steps each.

Pure: reads one JSON file and talks to no AWS API, so `rollout --dry-run` works anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.enums import RolloutMethod, Status
from analysis.errors import AnalysisError, UsageError
from analysis.registry import get
from stacks.naming import parse_stack
from stacks.props import waits_for_window
from stacks.rules import storage_not_reduced
from stacks.tfvars import build_props, load_overrides

SCHEMA_VERSION = 1

# RDS primary fields a Blue/Green deployment can change, and its CreateBlueGreenDeployment parameter.
BLUE_GREEN_PARAMS = {
    "instance_class": "TargetDBInstanceClass",
    "iops": "TargetIops",
    "storage_throughput": "TargetStorageThroughput",
    "allocated_storage": "TargetAllocatedStorage",
    "storage_type": "TargetStorageType",
}


@dataclass(frozen=True)
class Plan:
    record: Mapping[str, Any]
    method: RolloutMethod
    steps: tuple[str, ...]
    updates: Mapping[str, Any] = field(default_factory=dict)  # tfvars key address -> proposed value
    target: Mapping[str, Any] = field(default_factory=dict)  # CreateBlueGreenDeployment Target* params

    @property
    def resource_id(self) -> str:
        return self.record["resource_id"]

    @property
    def region(self) -> str:
        return self.record["region"]

    @property
    def stack(self) -> str:
        return self.record["stack"]

    @property
    def tfvars_file(self) -> str:
        return self.record["tfvars_file"]

    @property
    def label(self) -> str:
        return f"{self.region} {self.record['kind']} {self.resource_id}"


@dataclass(frozen=True)
class Skipped:
    record: Mapping[str, Any]
    reason: str


def load(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AnalysisError(f"{path}: recommendations not found (run `make analyze` first)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AnalysisError(f"{path}: corrupt recommendations JSON ({e})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("recommendations"), list):
        raise AnalysisError(f"{path}: not a recommendations file (no \"recommendations\" list)")
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise AnalysisError(f"{path}: schema_version {doc.get('schema_version')!r}, expected {SCHEMA_VERSION}")
    for i, rec in enumerate(doc["recommendations"]):
        missing = [k for k in ("region", "kind", "resource_id", "status", "changes") if k not in rec]
        if missing:
            raise AnalysisError(f"{path}: recommendation #{i} lacks {', '.join(missing)}")
    return doc


def select(doc: Mapping[str, Any], resource: str | None = None, region: str | None = None) -> list[Mapping[str, Any]]:
    records = [r for r in doc["recommendations"] if region is None or r["region"] == region]
    if resource is None:
        return records
    chosen = [r for r in records if r["resource_id"] == resource]
    if not chosen:
        known = sorted({r["resource_id"] for r in records if r["status"] == "emitted"})
        raise UsageError(
            f"unknown resource {resource!r}: not in the recommendations"
            f"{' for ' + region if region else ''} (emitted: {', '.join(known) or 'none'})"
        )
    return chosen


def storage_check(current: Any, proposed: Any, resource_id: str) -> None:
    """RDS storage only grows, by at least 10% (stacks/rules.py)."""
    if proposed is None or current is None:
        return
    refused = storage_not_reduced(current, proposed)
    if refused:
        what = "a shrink" if proposed < current else "too small a growth"
        raise AnalysisError(f"{resource_id}: allocated_storage is {what}: {refused}")


def blue_green_target(record: Mapping[str, Any]) -> dict[str, Any]:
    target: dict[str, Any] = {}
    for change in record["changes"]:
        param = BLUE_GREEN_PARAMS.get(change["field"])
        if param is None:
            raise AnalysisError(
                f"{record['resource_id']}: field {change['field']!r} cannot change through "
                f"a Blue/Green deployment (allowed: {', '.join(BLUE_GREEN_PARAMS)})"
            )
        if change["field"] == "allocated_storage":
            storage_check(change.get("current"), change.get("proposed"), record["resource_id"])
        target[param] = change["proposed"]
    return target


def _updates(record: Mapping[str, Any]) -> dict[str, Any]:
    return {c["tfvars_key"]: c["proposed"] for c in record["changes"] if c.get("tfvars_key")}


def _change_text(record: Mapping[str, Any]) -> str:
    return ", ".join(f"{c['field']} {c.get('current')} -> {c.get('proposed')}" for c in record["changes"])


def plan_record(
    record: Mapping[str, Any],
    environment: str,
    guard_window: int,
    *,
    switchover_timeout: int = 300,
    max_replica_lag: float = 10.0,
) -> Plan | Skipped:
    rid = record["resource_id"]
    if record["status"] == Status.EXCLUDED:
        return Skipped(record, "excluded (CriticalPath=true): never changed")
    if record["status"] != Status.EMITTED:
        return Skipped(record, f"status {record['status']}: nothing to roll out")
    if not record["changes"]:
        return Skipped(record, "no changes")
    if not record.get("stack") or not record.get("tfvars_file"):
        return Skipped(record, "unmanaged (no stack / tfvars): change it outside this project")
    for change in record["changes"]:
        if change["field"] == "allocated_storage":
            storage_check(change.get("current"), change.get("proposed"), rid)
    stack, region = record["stack"], record["region"]
    try:
        tier = parse_stack(stack)[0]
    except ValueError as e:
        raise AnalysisError(f"{rid}: refusing to roll out: {e}") from None
    updates = _updates(record)
    keys = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(updates.items()))
    guard = (
        f"python -m analysis guard --environment {environment} --stack {stack} --window {guard_window}: "
        "watch the rollback alarms; on > 1% connection errors restore the previous tfvars and exit 3"
    )
    try:
        kind = get(record["kind"])
    except KeyError as e:
        raise AnalysisError(f"{rid}: {e.args[0]}") from None
    method = _method(record)
    # Blue/Green goes through the RDS API, for the kinds whose changes roll out that way
    if method is RolloutMethod.BLUE_GREEN and kind.rollout is RolloutMethod.BLUE_GREEN:
        target = blue_green_target(record)
        params = ", ".join(f"{k}={v}" for k, v in sorted(target.items()))
        steps: tuple[str, ...] = (
            f"check {rid} in {region}: exists, not CriticalPath, automated backups on (retention > 0), "
            "live settings equal the recommendation's current values",
            f"find an existing Blue/Green deployment for {rid} (state file, name, source ARN) and resume it",
            f"CreateDBSnapshot {rid}-pre-<id>: the pre-change snapshot; wait until available",
            f"CreateBlueGreenDeployment Source=<{rid} ARN> {params}",
            f"wait until the deployment is AVAILABLE and the green primary's ReplicaLag <= {max_replica_lag:g} s",
            f"SwitchoverBlueGreenDeployment SwitchoverTimeout={switchover_timeout}; wait for SWITCHOVER_COMPLETED",
            f"post-check: {rid} is available with the target settings; {rid}-old1 (the blue) exists",
            f"DeleteBlueGreenDeployment DeleteTarget=false: keep {rid}-old1 and its snapshot for rollback",
            f"write {record['tfvars_file']}: {keys} (the previous copy kept in .previous/) so the next plan is a no-op",
            guard,
        )
        return Plan(record, method, steps, updates, target)
    deploy = method.deploy_step
    if deploy is None:
        raise AnalysisError(f"{rid}: {record['kind']} cannot roll out by {method}")
    waits = waits_for_window(build_props(tier, environment, load_overrides(record["tfvars_file"], tier, environment)))
    steps = (
        f"write {record['tfvars_file']}: {keys} (the previous copy kept in .previous/)",
        deploy.format(stack=stack, detail=kind.rollout_explanation),
        *([f"note: {waits}, after guard's window"] if method is RolloutMethod.IN_PLACE and waits else []),
        guard,
    )
    return Plan(record, method, steps, updates)


def _method(record: Mapping[str, Any]) -> RolloutMethod:
    """The method the sizing policy of the resource's kind decided."""
    try:
        return RolloutMethod(str(record.get("rollout")))
    except ValueError:
        methods = sorted(m for m in RolloutMethod if m is not RolloutMethod.NONE)
        raise AnalysisError(
            f"{record['resource_id']}: unknown rollout method {record.get('rollout')!r} "
            f"(expected one of {', '.join(methods)})"
        ) from None


def build(
    records: list[Mapping[str, Any]], environment: str, guard_window: int, **blue_green: Any
) -> list[Plan | Skipped]:
    """Every record planned first: one bad record stops the run before anything changes."""
    return [plan_record(r, environment, guard_window, **blue_green) for r in records]


def describe(item: Plan | Skipped) -> str:
    rec = item.record
    head = f"{rec['region']} {rec['kind']} {rec['resource_id']}"
    if isinstance(item, Skipped):
        return f"- {head}: skipped: {item.reason}"
    lines = [f"- {head}: {_change_text(rec)}", f"  method: {item.method}"]
    lines += [f"  {i}. {s}" for i, s in enumerate(item.steps, 1)]
    return "\n".join(lines)
