"""Turn recommendations.json into rollout plans: one method and an exact list of steps each.

Pure: reads one JSON file and talks to no AWS API, so `rollout --dry-run` works anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError, UsageError
from stacks.naming import parse_stack
from stacks.props import waits_for_window
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
STORAGE_MIN_GROWTH = 0.10  # RDS refuses a storage increase below 10%

HOW = {
    "rolling-instance-refresh": [
        "cdktf deploy {stack}: the launch template gets a new version (the ASG references its "
        "latest_version, never \"$Latest\") and the ASG starts an instance refresh that keeps the "
        "compute stack's minimum healthy percentage in service",
    ],
    "alias-shift": [
        "cdktf deploy {stack}: Lambda publishes a new version with the new settings and the live "
        "alias shifts to it (provisioned concurrency follows the alias)",
    ],
    "in-place": [
        "cdktf deploy {stack}: modified in place ({detail})",
    ],
    "replacement": [
        "cdktf deploy {stack}: resources destroyed and created ({detail})",
    ],
}
DETAIL = {  # what "in place" / "replacement" means for each kind
    "elasticache": "online vertical scaling / online resharding / replica count change, apply_immediately",
    "nat": "NAT gateways removed or added; the private route tables move to the remaining ones",
    "rds": "read replica modified with apply_immediately; the primary is untouched",
}


@dataclass(frozen=True)
class Plan:
    record: Mapping[str, Any]
    method: str  # "blue-green" or one of HOW's keys
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
    """RDS storage only grows, by at least 10% (aws-facts.md)."""
    if proposed is None or current is None:
        return
    if proposed < current:
        raise AnalysisError(
            f"{resource_id}: allocated_storage {current} -> {proposed} GiB is a shrink; "
            "RDS storage can never be reduced"
        )
    if proposed > current and proposed < current * (1 + STORAGE_MIN_GROWTH):
        raise AnalysisError(
            f"{resource_id}: allocated_storage {current} -> {proposed} GiB grows by less "
            f"than {STORAGE_MIN_GROWTH:.0%}, which RDS refuses"
        )


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
    if record["status"] == "excluded":
        return Skipped(record, "excluded (CriticalPath=true): never changed")
    if record["status"] != "emitted":
        return Skipped(record, f"status {record['status']}: nothing to roll out")
    if not record["changes"]:
        return Skipped(record, "no changes")
    if not record.get("stack") or not record.get("tfvars_file"):
        return Skipped(record, "unmanaged (no stack / tfvars): change it outside this project")
    for change in record["changes"]:
        if change["field"] == "allocated_storage":
            storage_check(change.get("current"), change.get("proposed"), rid)
    stack, region = record["stack"], record["region"]
    updates = _updates(record)
    keys = ", ".join(f"{k}={json.dumps(v)}" for k, v in sorted(updates.items()))
    guard = (
        f"python -m analysis guard --env {environment} --stack {stack} --window {guard_window}: "
        "watch the rollback alarms; on > 1% connection errors restore the previous tfvars and exit 3"
    )
    kind = record["kind"]
    if kind == "rds" and record.get("rollout") == "blue-green":
        target = blue_green_target(record)
        params = ", ".join(f"{k}={v}" for k, v in sorted(target.items()))
        steps = (
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
        return Plan(record, "blue-green", steps, updates, target)
    method = record.get("rollout")  # decided by the sizing policy of the resource's kind
    if method not in HOW:
        raise AnalysisError(f"{rid}: unknown rollout method {method!r} (expected one of {', '.join(sorted(HOW))})")
    detail = DETAIL.get(kind, "")
    tier = parse_stack(stack)[0]
    waits = waits_for_window(build_props(tier, environment, load_overrides(record["tfvars_file"], tier, environment)))
    method_steps = (
        f"write {record['tfvars_file']}: {keys} (the previous copy kept in .previous/)",
        *(s.format(stack=stack, detail=detail) for s in HOW[method]),
        *([f"note: {waits}, after guard's window"] if method == "in-place" and waits else []),
        guard,
    )
    return Plan(record, method, method_steps, updates)


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
