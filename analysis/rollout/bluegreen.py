"""RDS Blue/Green rollout of a primary's class / IOPS / throughput, orchestrated through the RDS API.

Terraform's `blue_green_update` cannot do it for a primary with read replicas (aws-facts.md), so:
snapshot -> CreateBlueGreenDeployment -> wait AVAILABLE + low ReplicaLag -> Switchover ->
post-checks -> DeleteBlueGreenDeployment (the blue stays as `<id>-old1`) -> tfvars updated so
the next plan is a no-op.

Resumable: each run reads the deployment's real state from AWS and continues from there. The
deployment is found by the id in the state file, else by its deterministic name, else by
source/target ARN; a second deployment is never created while one exists.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis import fsutil, tfvars_io
from analysis.errors import AnalysisError
from analysis.rollout.plan import Plan
from stacks.naming import BLUE_SUFFIX, PROJECT, REGION_RE, ROLLOUT_MANAGED_BY

TERMINAL_FAILURES = ("INVALID_CONFIGURATION", "SWITCHOVER_FAILED")
# CreateBlueGreenDeployment Target* parameter -> DescribeDBInstances field it sets
LIVE_FIELD = {
    "TargetDBInstanceClass": "DBInstanceClass",
    "TargetIops": "Iops",
    "TargetStorageThroughput": "StorageThroughput",
    "TargetAllocatedStorage": "AllocatedStorage",
    "TargetStorageType": "StorageType",
}
PLAN_FIELD = {  # recommendation config field -> DescribeDBInstances field
    "instance_class": "DBInstanceClass",
    "iops": "Iops",
    "storage_throughput": "StorageThroughput",
    "allocated_storage": "AllocatedStorage",
    "storage_type": "StorageType",
}


@dataclass
class Settings:
    poll_interval: float = 30.0
    wait_timeout: float = 7200.0  # green provisioning can take an hour on 1 TB
    switchover_timeout: int = 300  # API range 30..3600
    max_replica_lag: float = 10.0  # seconds
    lag_timeout: float = 1800.0
    require_replica_lag: bool = False  # fail (instead of trusting switchover guardrails) without datapoints


@dataclass
class State:
    """reports/<env>/rollout/<region>/<resource>.json: what a rerun needs to resume."""

    path: Path
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> State:
        try:
            return cls(path, json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return cls(path, {})
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise AnalysisError(f"{path}: corrupt rollout state ({e}); inspect it before rerunning") from None

    def save(self, **updates: Any) -> None:
        self.data.update(updates)
        text = json.dumps(self.data, sort_keys=True, indent=2) + "\n"
        fsutil.atomic_write(self.path, text.encode("utf-8"))

    def log(self, line: str) -> None:
        self.save(log=[*self.data.get("log", []), line])


DB_ID_RE = r"[A-Za-z][A-Za-z0-9-]{0,62}"  # an RDS DB instance identifier


def state_path(state_dir: Path | str, region: str, resource_id: str) -> Path:
    """`<state_dir>/<region>/<resource_id>.json`; AnalysisError for a region or id from
    recommendations.json that is not one (it would put the state outside `state_dir`)."""
    if not re.fullmatch(REGION_RE, region) or not re.fullmatch(DB_ID_RE, resource_id):
        raise AnalysisError(f"refusing rollout state for {region!r} / {resource_id!r}: not a region / DB identifier")
    return Path(state_dir) / region / f"{resource_id}.json"


def rollout_id(resource_id: str, dbi_resource_id: str, target: dict[str, Any]) -> str:
    """Stable per (physical source instance, target): reruns compute the same names."""
    key = json.dumps({"r": resource_id, "dbi": dbi_resource_id, "t": target}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:10]


def _name(prefix: str, suffix: str, limit: int) -> str:
    return f"{prefix[: limit - len(suffix) - 1].rstrip('-')}-{suffix}"


def arn_db_id(arn: str) -> str:
    return arn.rsplit(":db:", 1)[-1]


class BlueGreenRollout:
    def __init__(
        self,
        plan: Plan,
        *,
        rds: Any,
        cloudwatch: Any,
        state: State,
        tfvars: Path,  # the stack's override file, written once the switchover is done
        settings: Settings,
        log: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.plan, self.rds, self.cw, self.state = plan, rds, cloudwatch, state
        self.tfvars, self.s, self._print, self.sleep, self.clock = tfvars, settings, log, sleep, clock
        self.rid = plan.resource_id
        self.target = dict(plan.target)

    # --- logging ---------------------------------------------------------------------------
    def log(self, msg: str) -> None:
        line = f"rollout {self.rid}: {msg}"
        self._print(line)
        self.state.log(msg)

    # --- AWS reads -----------------------------------------------------------------------
    def instance(self, db_id: str) -> dict[str, Any] | None:
        try:
            return self.rds.describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0]
        except self.rds.exceptions.DBInstanceNotFoundFault:
            return None

    def deployment(self, ident: str) -> dict[str, Any] | None:
        try:
            found = self.rds.describe_blue_green_deployments(BlueGreenDeploymentIdentifier=ident)
        except self.rds.exceptions.BlueGreenDeploymentNotFoundFault:
            return None
        deps = found["BlueGreenDeployments"]
        return deps[0] if deps else None

    def deployments_where(self, name: str, values: list[str]) -> list[dict[str, Any]]:
        pages = self.rds.get_paginator("describe_blue_green_deployments").paginate(
            Filters=[{"Name": name, "Values": values}]
        )
        return [d for page in pages for d in page["BlueGreenDeployments"] if d.get("Status") != "DELETING"]

    def at_target(self, inst: dict[str, Any]) -> bool:
        return all(inst.get(LIVE_FIELD[p]) == v for p, v in self.target.items())

    # --- preflight -----------------------------------------------------------------------
    def check_source(self, inst: dict[str, Any]) -> None:
        tags = {t["Key"]: t["Value"] for t in inst.get("TagList", [])}
        if tags.get("CriticalPath", "false").lower() == "true":
            raise AnalysisError(f"{self.rid} is tagged CriticalPath=true: never changed")
        if inst.get("ReadReplicaSourceDBInstanceIdentifier"):
            raise AnalysisError(f"{self.rid} is a read replica: Blue/Green rolls out primaries only")
        if not inst.get("BackupRetentionPeriod"):
            raise AnalysisError(
                f"{self.rid}: automated backups are off (BackupRetentionPeriod=0); Blue/Green "
                "needs retention > 0 - enable backups first; nothing changed"
            )
        for change in self.plan.record["changes"]:
            live = inst.get(PLAN_FIELD[change["field"]])
            if live != change.get("current") and live != change.get("proposed"):
                raise AnalysisError(
                    f"{self.rid}: live {change['field']} is {live!r}, the recommendation expected "
                    f"{change.get('current')!r}: re-run the analysis; nothing changed"
                )

    # --- the flow ----------------------------------------------------------------------------
    def run(self) -> None:
        """Drive the rollout, holding its state file's lock: a second run of the same resource is
        refused instead of racing this one (the state is re-read under the lock)."""
        lock = self.state.path.with_name(self.state.path.name + ".lock")
        with fsutil.locked(lock, f"rollout of {self.rid}"):
            self.state = State.load(self.state.path)
            self._run()

    def _run(self) -> None:
        dep = self.find_existing()
        if dep is None:
            inst = self.instance(self.rid)
            if inst is None:
                raise AnalysisError(f"{self.rid}: no such DB instance in {self.plan.region}; nothing changed")
            if self.at_target(inst):
                self.check_source(inst)
                self.log(f"already at target ({self._target_text()}): no deployment needed")
                self.finish()
                return
            if self.state.data.get("deployment_id"):
                raise AnalysisError(
                    f"{self.rid}: Blue/Green deployment {self.state.data['deployment_id']} recorded in "
                    f"{self.state.path} no longer exists and the instance is not at target; inspect it and "
                    "remove the state file to start over"
                )
            self.check_source(inst)
            dep = self.create(inst)
        self.drive(dep["BlueGreenDeploymentIdentifier"])
        self.finish()

    def find_existing(self) -> dict[str, Any] | None:
        ident = self.state.data.get("deployment_id")
        if ident:
            dep = self.deployment(ident)
            if dep is not None:
                self.log(f"resuming deployment {ident} ({dep['Status']}) from {self.state.path}")
                return dep
            if self.state.data.get("phase") in ("deleted", "completed"):
                return None
        name = self.state.data.get("deployment_name")
        if name:
            found = self.deployments_where("blue-green-deployment-name", [name])
            if found:
                self.log(f"resuming deployment {found[0]['BlueGreenDeploymentIdentifier']} found by name {name}")
                self.state.save(deployment_id=found[0]["BlueGreenDeploymentIdentifier"])
                return found[0]
        inst = self.instance(self.rid)
        if inst is None:
            return None
        arn = inst["DBInstanceArn"]
        for flt, values in (("source", [arn, f"{arn}{BLUE_SUFFIX}"]), ("target", [arn])):  # the blue after switchover
            for dep in self.deployments_where(flt, values):
                tags = {t["Key"]: t["Value"] for t in dep.get("TagList", [])}
                if tags.get("ManagedBy") != ROLLOUT_MANAGED_BY:
                    raise AnalysisError(
                        f"{self.rid}: Blue/Green deployment {dep['BlueGreenDeploymentIdentifier']} "
                        f"({dep['Status']}) exists and was not started by this tool; finish or delete it first"
                    )
                self.log(f"resuming deployment {dep['BlueGreenDeploymentIdentifier']} found by {flt} ARN")
                self.state.save(
                    deployment_id=dep["BlueGreenDeploymentIdentifier"], deployment_name=dep["BlueGreenDeploymentName"]
                )
                return dep
        return None

    def create(self, inst: dict[str, Any]) -> dict[str, Any]:
        rid_hash = rollout_id(self.rid, inst["DbiResourceId"], self.target)
        name = _name(self.rid, rid_hash, 60)
        snapshot = _name(f"{self.rid}-pre", rid_hash, 255)
        self.state.save(
            resource_id=self.rid,
            region=self.plan.region,
            stack=self.plan.stack,
            tfvars_file=self.plan.tfvars_file,
            source_arn=inst["DBInstanceArn"],
            source_class=inst["DBInstanceClass"],
            target=self.target,
            deployment_name=name,
            snapshot_id=snapshot,
            blue_after_switchover=f"{self.rid}{BLUE_SUFFIX}",
            phase="snapshot",
        )
        self.snapshot(snapshot)
        tags = [
            {"Key": k, "Value": v}
            for k, v in (
                ("Project", PROJECT),
                ("ManagedBy", ROLLOUT_MANAGED_BY),
                ("Stack", self.plan.stack),
                ("Role", "primary"),
                ("RolloutId", rid_hash),
            )
        ]
        self.log(f"CreateBlueGreenDeployment {name}: {self._target_text()}")
        dep = self.rds.create_blue_green_deployment(
            BlueGreenDeploymentName=name,
            Source=inst["DBInstanceArn"],
            Tags=tags,
            **self.target,
        )["BlueGreenDeployment"]
        self.state.save(deployment_id=dep["BlueGreenDeploymentIdentifier"], phase="created")
        self.log(f"created {dep['BlueGreenDeploymentIdentifier']} (green {arn_db_id(dep.get('Target', '?'))})")
        return dep

    def snapshot(self, snapshot_id: str) -> None:
        try:
            snap = self.rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0]
            self.log(f"pre-change snapshot {snapshot_id} exists ({snap['Status']})")
        except self.rds.exceptions.DBSnapshotNotFoundFault:
            self.log(f"CreateDBSnapshot {snapshot_id}")
            self.rds.create_db_snapshot(
                DBSnapshotIdentifier=snapshot_id,
                DBInstanceIdentifier=self.rid,
                Tags=[{"Key": "Project", "Value": PROJECT}, {"Key": "ManagedBy", "Value": ROLLOUT_MANAGED_BY}],
            )
        self.wait(
            "snapshot available",
            lambda: (
                self.rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot_id)["DBSnapshots"][0]["Status"]
                == "available"
            ),
        )

    def drive(self, ident: str) -> None:
        while True:
            dep = self.deployment(ident)
            if dep is None:  # deleted between two reads: the switchover finished earlier
                self.state.save(phase="deleted")
                return
            status = dep["Status"]
            if status == "PROVISIONING":
                self.log("waiting for the green environment (PROVISIONING)")
                self.wait(
                    "green AVAILABLE",
                    lambda: (self.deployment(ident) or {}).get("Status") != "PROVISIONING",
                    self.s.wait_timeout,
                )
            elif status == "AVAILABLE":
                self.state.save(phase="available")
                self.wait_replica_lag(arn_db_id(dep["Target"]))
                self.log(f"SwitchoverBlueGreenDeployment {ident} SwitchoverTimeout={self.s.switchover_timeout}")
                self.state.save(phase="switchover")
                self.rds.switchover_blue_green_deployment(
                    BlueGreenDeploymentIdentifier=ident, SwitchoverTimeout=self.s.switchover_timeout
                )
            elif status == "SWITCHOVER_IN_PROGRESS":
                self.log("waiting for the switchover to complete")
                self.wait(
                    "switchover",
                    lambda: (self.deployment(ident) or {}).get("Status") != "SWITCHOVER_IN_PROGRESS",
                    self.s.switchover_timeout + 600,
                )
            elif status == "SWITCHOVER_COMPLETED":
                self.state.save(phase="switched")
                self.post_check()
                self.log(f"DeleteBlueGreenDeployment {ident} DeleteTarget=false (keeping {self.rid}{BLUE_SUFFIX})")
                self.rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=ident, DeleteTarget=False)
                self.state.save(phase="deleted")
                return
            elif status == "DELETING":
                self.state.save(phase="deleted")
                return
            elif status in TERMINAL_FAILURES:
                raise AnalysisError(
                    f"{self.rid}: deployment {ident} is {status} ({dep.get('StatusDetails', 'no details')}); the blue "
                    f"{self.rid} still serves traffic. Discard the green with DeleteBlueGreenDeployment "
                    "DeleteTarget=true, then rerun"
                )
            else:
                raise AnalysisError(f"{self.rid}: deployment {ident} in unknown status {status}")

    def wait_replica_lag(self, green_id: str) -> None:
        deadline = self.clock() + self.s.lag_timeout
        while True:
            lag = self.replica_lag(green_id)
            if lag is None:
                if self.s.require_replica_lag:
                    raise AnalysisError(
                        f"{self.rid}: no ReplicaLag datapoints for green {green_id}; "
                        "deployment left AVAILABLE, rerun to continue"
                    )
                self.log(f"no ReplicaLag datapoints for green {green_id}: relying on the switchover guardrails")
                return
            if lag <= self.s.max_replica_lag:
                self.log(f"green {green_id} ReplicaLag {lag:g} s <= {self.s.max_replica_lag:g} s")
                return
            if self.clock() >= deadline:
                raise AnalysisError(
                    f"{self.rid}: green {green_id} ReplicaLag {lag:g} s stayed above "
                    f"{self.s.max_replica_lag:g} s for {self.s.lag_timeout:g} s; deployment left "
                    "AVAILABLE, rerun to continue"
                )
            self.log(f"green {green_id} ReplicaLag {lag:g} s > {self.s.max_replica_lag:g} s: waiting")
            self.sleep(self.s.poll_interval)

    def replica_lag(self, green_id: str) -> float | None:
        """Latest 1-minute Maximum of AWS/RDS ReplicaLag on the green primary (last 10 minutes)."""
        import datetime as dt

        now = dt.datetime.now(dt.UTC)
        res = self.cw.get_metric_data(
            MetricDataQueries=[
                {
                    "Id": "lag",
                    "ReturnData": True,
                    "MetricStat": {
                        "Metric": {
                            "Namespace": "AWS/RDS",
                            "MetricName": "ReplicaLag",
                            "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": green_id}],
                        },
                        "Period": 60,
                        "Stat": "Maximum",
                    },
                }
            ],
            StartTime=now - dt.timedelta(minutes=10),
            EndTime=now + dt.timedelta(minutes=1),
            ScanBy="TimestampDescending",
        )["MetricDataResults"]
        values = res[0]["Values"] if res else []
        return float(values[0]) if values else None

    def post_check(self) -> None:
        new = self.instance(self.rid)
        problems = []
        if new is None:
            problems.append(f"{self.rid} not found")
        else:
            if new.get("DBInstanceStatus") != "available":
                problems.append(f"status {new.get('DBInstanceStatus')}")
            problems += [
                f"{LIVE_FIELD[p]} {new.get(LIVE_FIELD[p])!r} != {v!r}"
                for p, v in sorted(self.target.items())
                if new.get(LIVE_FIELD[p]) != v
            ]
        blue = self.instance(f"{self.rid}{BLUE_SUFFIX}")
        if blue is None:
            problems.append(f"blue {self.rid}{BLUE_SUFFIX} not found")
        if problems or new is None or blue is None:
            raise AnalysisError(
                f"{self.rid}: post-check failed after switchover ({'; '.join(problems)}); the "
                "deployment is kept - investigate, then rerun"
            )
        replicas_new = sorted(new.get("ReadReplicaDBInstanceIdentifiers", []))
        replicas_old = sorted(blue.get("ReadReplicaDBInstanceIdentifiers", []))
        if replicas_old and not replicas_new:
            self.log(
                f"WARNING: read replicas {', '.join(replicas_old)} are still attached to {self.rid}{BLUE_SUFFIX}, "
                f"not to the new {self.rid}: check them before deleting the blue"
            )
        self.log(f"post-check ok: {self.rid} available with {self._target_text()}; blue {self.rid}{BLUE_SUFFIX} kept")

    def finish(self) -> None:
        written = tfvars_io.apply(self.tfvars, self.plan.updates)
        if written.changed:
            self.log(f"wrote {self.plan.tfvars_file} (previous kept in .previous/):\n{written.diff.rstrip()}")
        else:
            self.log(f"{self.plan.tfvars_file} already holds the target: next plan is a no-op")
        self.state.save(phase="completed")
        self.log("done")

    # --- helpers ---------------------------------------------------------------------------
    def wait(self, what: str, ready: Callable[[], bool], timeout: float | None = None) -> None:
        timeout = self.s.wait_timeout if timeout is None else timeout
        deadline = self.clock() + timeout
        while not ready():
            if self.clock() >= deadline:
                raise AnalysisError(f"{self.rid}: timed out after {timeout:g} s waiting for {what}; rerun to resume")
            self.sleep(self.s.poll_interval)

    def _target_text(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in sorted(self.target.items()))
