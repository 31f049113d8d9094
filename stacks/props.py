"""Props of each tier stack: one frozen dataclass per tier whose fields are exactly the
stack's Terraform variables (name, default, description, type, validation).

Pure Python (never imports cdktf): the analysis imports this to validate the tfvars it writes.
A field is declared with `knob(default, description, ...)`; a limit is written once there
(`between=(lo, hi)`, `one_of=(...)`, `pattern=r"..."`, `roles=(...)`, for one value or, with
`per_function=True`, for every value of a function map) and the Python check, the Terraform
validation block and the `{range}` in the description all follow from it. The field's
metadata carries what the variable needs:
  description  the variable's description (the default is documented on the field's line)
  tf_type      Terraform type: number, string, bool, list(string), map(number), map(string)
  nullable     whether null is a valid value (default False)
  integer      numbers must be whole
  check        pure per-value rule: value -> None | rule text (stacks/rules.py style)
  tf_rules     Terraform validation blocks: (condition, error message); "{var}" = var.<name>
Cross-variable rules live in each class's `problems()` and in `tf_rules` given explicitly.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import rules, schedule_contract
from .naming import FUNCTIONS, Tier

# Environments that must be destroyable: deletion protection off, no final snapshot.
DESTROYABLE_ENVIRONMENTS = frozenset({"staging", "dev", "test", "sandbox"})

# The values CloudWatch Logs accepts as retention in days.
RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

Check = Callable[[Any], str | None]
TfRule = tuple[str, str]


@dataclass(frozen=True)
class Limit:
    """One limit on a value: its Python check, its Terraform condition over `x` (a
    placeholder for the value's expression) and the text the description and messages use."""

    check: Check
    condition: str  # HCL with "{x}" for the value
    text: str  # e.g. "1..35", ">= 0", "x86_64 or arm64"
    message: str  # the Terraform error message


def _between(lo: int, hi: int | None, what: str, message: str | None) -> Limit:
    text = f">= {lo}" if hi is None else f"{lo}..{hi}"
    upper = "" if hi is None else f" && {{x}} <= {hi}"

    def check(v: Any) -> str | None:
        return None if lo <= v and (hi is None or v <= hi) else f"{what} must be {text} (got {v})"

    return Limit(
        check,
        f"{{x}} >= {lo}{upper} && floor({{x}}) == {{x}}",
        text,
        (message or "{what} must be a whole number {range}.").format(what=what, range=text),
    )


def _one_of(values: tuple, what: str, message: str | None) -> Limit:
    listed = ", ".join(json.dumps(v) for v in values)
    text = " or ".join([", ".join(map(str, values[:-1])), str(values[-1])])

    def check(v: Any) -> str | None:
        return None if v in values else f"{what} must be one of {', '.join(map(str, values))} (got {v!r})"

    return Limit(
        check,
        f"contains([{listed}], {{x}})",
        text,
        (message or "{what} must be {range}.").format(what=what, range=text),
    )


def _pattern(regex: str, what: str) -> Limit:
    hcl = regex.replace("\\", "\\\\")  # a backslash inside an HCL string literal

    def check(v: Any) -> str | None:
        return None if re.fullmatch(regex, v) else f"{what} must match {regex} (got {v!r})"

    return Limit(check, f'can(regex("^{hcl}$", {{x}}))', regex, f"{what} must match {regex}.")


def _roles(roles: tuple[str, ...]) -> Limit:
    listed = ", ".join(json.dumps(r) for r in roles)

    def check(v: list[str]) -> str | None:
        bad = [r for r in v if r not in roles]
        return f"unknown role(s) {', '.join(bad)}; roles of this stack: {', '.join(roles)}" if bad else None

    return Limit(
        check,
        f"length(setsubtract({{x}}, [{listed}])) == 0",
        ", ".join(roles),
        f"Roles must be among: {', '.join(roles)}.",
    )


def _cidr_block(lo: int, hi: int) -> Limit:
    """An IPv4 CIDR block whose prefix length is lo..hi."""

    def check(v: str) -> str | None:
        m = re.fullmatch(r"\d+\.\d+\.\d+\.\d+/(\d+)", v)
        return None if m and lo <= int(m.group(1)) <= hi else f"VPC CIDR must be an IPv4 block /{lo}../{hi} (got {v!r})"

    prefix = 'tonumber(split("/", {x})[1])'
    return Limit(
        check,
        f"can(cidrnetmask({{x}})) && {prefix} >= {lo} && {prefix} <= {hi}",
        f"/{lo}../{hi}",
        f"The VPC CIDR must be a valid IPv4 block between /{lo} and /{hi}.",
    )


def _per_function(limit: Limit) -> tuple[Check, tuple[TfRule, ...]]:
    """The limit on every value of a map keyed by function short name, and its keys."""

    def check(m: Mapping[str, Any]) -> str | None:
        unknown = [k for k in m if k not in FUNCTIONS]
        if unknown:
            return f"unknown function(s) {', '.join(unknown)}; functions: {', '.join(FUNCTIONS)}"
        for k, v in m.items():
            err = limit.check(v)
            if err:
                return f"{k}: {err}"
        return None

    listed = ", ".join(json.dumps(f) for f in FUNCTIONS)
    keys = (
        f"length(setsubtract(keys({{var}}), [{listed}])) == 0",
        f"Keys must be function short names: {', '.join(FUNCTIONS)}.",
    )
    each = (f"alltrue([for k, v in {{var}} : {limit.condition.format(x='v')}])", limit.message)
    return check, (keys, each)


def knob(
    default: Any,
    description: str,
    *,
    between: tuple[int, int | None] | None = None,
    one_of: tuple | None = None,
    pattern: str | None = None,
    roles: tuple[str, ...] | None = None,
    limit: Limit | None = None,
    what: str = "Value",
    message: str | None = None,
    per_function: bool = False,
    tf_type: str | None = None,
    nullable: bool = False,
    tf_rules: tuple[TfRule, ...] = (),
) -> Any:
    """A dataclass field that is also a Terraform variable.

    At most one limit (`between`, `one_of`, `pattern`, `roles`, or a custom `limit`) per knob; `what` names the value in
    the messages, `message` (with `{what}` / `{range}`) replaces the Terraform message, `{range}` in
    the description becomes the limit's text. `tf_rules` add cross-variable validations."""
    if sum(given is not None for given in (between, one_of, pattern, roles, limit)) > 1:
        raise TypeError("knob: at most one of between, one_of, pattern, roles, limit")
    if between is not None:
        limit = _between(*between, what, message)
    elif one_of is not None:
        limit = _one_of(one_of, what, message)
    elif pattern is not None:
        limit = _pattern(pattern, what)
    elif roles is not None:
        limit = _roles(roles)
    if tf_type is None:
        tf_type = {bool: "bool", int: "number", float: "number", str: "string"}[type(default)]
    check: Check | None = None
    derived: tuple[TfRule, ...] = ()
    if limit is not None and per_function:
        check, derived = _per_function(limit)
    elif limit is not None:
        condition = limit.condition.format(x="{var}")
        # null is valid for a nullable knob; a ternary because Terraform's || does not short-circuit
        derived = ((f"{{var}} == null ? true : ({condition})" if nullable else condition, limit.message),)
        check = limit.check
    meta = {
        "description": description.format(range=limit.text) if limit else description,
        "tf_type": tf_type,
        "nullable": nullable,
        "integer": tf_type == "number" and isinstance(default, int),
        "check": check,
        "tf_rules": derived + tf_rules,
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: _copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value)


def _critical_path(tier: str, roles: tuple[str, ...]) -> Any:
    return knob(
        [],
        f"Roles in the {tier} stack tagged CriticalPath=true (reported, never changed). Roles: {{range}}.",
        tf_type="list(string)",
        roles=roles,
    )


def _apply_immediately(what: str, changes: str) -> Any:
    return knob(
        True,
        f"Apply in-place changes to the {what} ({changes}) immediately; false waits for the weekly "
        "maintenance window (on in staging, off elsewhere).",
    )


def _retention(tier: str) -> Any:
    shown = ", ".join(map(str, RETENTION_DAYS[:6]))
    return knob(
        30,
        f"CloudWatch log retention (days) of the {tier} tier's log groups.",
        one_of=RETENTION_DAYS,
        what="log retention days",
        message=f"Retention must be a CloudWatch retention value ({shown}, ... {RETENTION_DAYS[-1]}).",
    )


def schedule_knob(tier: str) -> Any:
    """`<tier>_schedule`: null (always on) or the weekly hours the tier runs (stacks/schedule_contract.py)."""
    (first, message), *rest = schedule_contract.TF_RULES
    return knob(
        None,
        f"Off-hours schedule of the {tier} tier: null (always on) or timezone + on windows "
        '(days, start HH:MM, hours); README "Schedules".',
        tf_type=schedule_contract.TF_TYPE,
        nullable=True,
        limit=Limit(schedule_contract.problem, first.replace("{var}", "{x}"), "null or timezone + windows", message),
        tf_rules=tuple(rest),
    )


class TierProps:
    """Shared behaviour of the per-tier dataclasses."""

    tier: ClassVar[str]
    roles: ClassVar[tuple[str, ...]]
    # role -> config field (docs/architecture.md) -> tfvars key address
    sizing_keys: ClassVar[Mapping[str, Mapping[str, str]]]

    @classmethod
    def fields(cls) -> tuple[dataclasses.Field, ...]:
        return dataclasses.fields(cls)  # type: ignore[arg-type]

    def problems(self) -> list[tuple[str, str]]:
        """Cross-variable rule violations as (key address, rule text)."""
        return []


# --------------------------------------------------------------------------- network
@dataclass(frozen=True)
class NetworkProps(TierProps):
    tier: ClassVar[str] = Tier.NETWORK
    roles: ClassVar[tuple[str, ...]] = ("vpc", "nat")
    sizing_keys: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "vpc": {"nat_gateway_count": "network_nat_gateway_count", "az_count": "network_az_count"},
    }

    # 10.0.0.0/16: the VPC's IPv4 CIDR (each region is its own VPC, no peering).
    network_vpc_cidr: str = knob("10.0.0.0/16", "IPv4 CIDR block of the VPC ({range}).", limit=_cidr_block(16, 24))
    # 3: availability zones with one public and one private subnet each.
    network_az_count: int = knob(
        3, "Availability zones used (one public and one private subnet each).", between=(2, 6), what="AZ count"
    )
    # 3: NAT gateways, one per AZ (1..az_count; fewer means cross-AZ egress through a shared one).
    network_nat_gateway_count: int = knob(
        3,
        "NAT gateways (1..network_az_count); private route tables share them round-robin.",
        tf_rules=(
            (
                "{var} >= 1 && {var} <= var.network_az_count && floor({var}) == {var}",
                "NAT gateway count must be a whole number between 1 and network_az_count.",
            ),
        ),
    )
    # 30: retention of the VPC flow log group.
    network_flow_log_retention_days: int = _retention(Tier.NETWORK)
    # []: roles tagged CriticalPath=true.
    network_critical_path: list = _critical_path(Tier.NETWORK, ("vpc", "nat"))

    def problems(self) -> list[tuple[str, str]]:
        err = rules.nat_gateway_count(self.network_nat_gateway_count, self.network_az_count)
        return [("network_nat_gateway_count", err)] if err else []


# --------------------------------------------------------------------------- data
_GIB, _IOPS = f"var.data_allocated_storage >= {rules.GP3_THRESHOLD_GIB}", (rules.GP3_IOPS_MIN, rules.GP3_IOPS_MAX)
_GP3_IOPS_TF = (
    (
        f"{{var}} == null || {_GIB}",
        f"gp3 below {rules.GP3_THRESHOLD_GIB} GiB cannot set IOPS (baseline 3000): leave data_iops null.",
    ),
    (
        f"{{var}} == null || try({{var}} >= {_IOPS[0]} && {{var}} <= {_IOPS[1]}, false)",
        f"gp3 at >= {rules.GP3_THRESHOLD_GIB} GiB needs data_iops {_IOPS[0]}..{_IOPS[1]} "
        f"({_IOPS[0]} is included; 10000 is rejected by the API).",
    ),
    (
        f"{{var}} == null || try({{var}} <= {rules.GP3_IOPS_PER_GIB_MAX} * var.data_allocated_storage, false)",
        f"data_iops may be at most {rules.GP3_IOPS_PER_GIB_MAX} x data_allocated_storage.",
    ),
)
_GP3_THROUGHPUT_TF = (
    (
        f"{{var}} == null || {_GIB}",
        f"gp3 below {rules.GP3_THRESHOLD_GIB} GiB cannot set throughput (baseline 125 MiB/s): "
        "leave data_storage_throughput null.",
    ),
    (
        f"{{var}} == null || try({{var}} >= {rules.GP3_THROUGHPUT_MIN} && {{var}} <= {rules.GP3_THROUGHPUT_MAX}, false)",
        f"gp3 throughput must be {rules.GP3_THROUGHPUT_MIN}..{rules.GP3_THROUGHPUT_MAX} MiB/s.",
    ),
    (
        f"{{var}} == null || try({{var}} <= {rules.GP3_THROUGHPUT_PER_IOPS_MAX} * coalesce(var.data_iops, {_IOPS[0]}), false)",
        f"gp3 throughput may be at most {rules.GP3_THROUGHPUT_PER_IOPS_MAX} MiB/s per IOPS.",
    ),
)
_DB_CLASS = r"db\.[a-z0-9]+\.[a-z0-9]+"


@dataclass(frozen=True)
class DataProps(TierProps):
    tier: ClassVar[str] = Tier.DATA
    roles: ClassVar[tuple[str, ...]] = ("primary", "replica")
    sizing_keys: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "primary": {
            "instance_class": "data_instance_class",
            "iops": "data_iops",
            "storage_throughput": "data_storage_throughput",
            "allocated_storage": "data_allocated_storage",
            "multi_az": "data_multi_az",
            "backup_retention_period": "data_backup_retention_period",
        },
        "replica": {"instance_class": "data_replica_instance_class", "count": "data_replica_count"},
    }

    # db.r6g.2xlarge: instance class of the primary (writer).
    data_instance_class: str = knob(
        "db.r6g.2xlarge",
        "RDS instance class of the primary (writer).",
        pattern=_DB_CLASS,
        what="Instance class",
    )
    # 1000: gp3 allocated storage in GiB (never reduced by a modify).
    data_allocated_storage: int = knob(
        1000,
        "gp3 allocated storage (GiB); AWS never lets it shrink.",
        between=(rules.RDS_STORAGE_MIN, rules.RDS_STORAGE_MAX),
        what="Allocated storage",
    )
    # 12000: gp3 IOPS; the requested 10,000 is invalid at 1000 GiB, 12,000 is the included floor.
    data_iops: int | None = knob(
        12000,
        f"gp3 provisioned IOPS (null below {rules.GP3_THRESHOLD_GIB} GiB; {_IOPS[0]}..{_IOPS[1]} at >= "
        f"{rules.GP3_THRESHOLD_GIB} GiB).",
        tf_type="number",
        nullable=True,
        tf_rules=_GP3_IOPS_TF,
    )
    # 500: gp3 throughput in MiB/s (the included baseline at >= 400 GiB).
    data_storage_throughput: int | None = knob(
        500,
        f"gp3 storage throughput in MiB/s (null below {rules.GP3_THRESHOLD_GIB} GiB; "
        f"{rules.GP3_THROUGHPUT_MIN}..{rules.GP3_THROUGHPUT_MAX}).",
        tf_type="number",
        nullable=True,
        tf_rules=_GP3_THROUGHPUT_TF,
    )
    # true: Multi-AZ standby for the primary.
    data_multi_az: bool = knob(True, "Run the primary Multi-AZ (synchronous standby in another AZ).")
    # 1: read replicas (spread over the private subnets' AZs).
    data_replica_count: int = knob(
        1,
        "Read replicas of the primary ({range}), spread over the private subnets' AZs.",
        between=(0, rules.RDS_MAX_REPLICAS),
        what="Replica count",
    )
    # db.r6g.2xlarge: instance class of the read replicas.
    data_replica_instance_class: str = knob(
        "db.r6g.2xlarge",
        "RDS instance class of the read replicas.",
        pattern=_DB_CLASS,
        what="Instance class",
    )
    # 7: days of automated backups (> 0: blue/green deployments need them).
    data_backup_retention_period: int = knob(
        7,
        "Automated backup retention in days ({range}; blue/green needs backups).",
        between=(1, 35),
        what="Backup retention",
    )
    # false for staging (true elsewhere): deletion protection on the instances.
    data_deletion_protection: bool = knob(
        False, "Deletion protection on the DB instances (off for staging so it can be destroyed)."
    )
    # true for staging (false elsewhere): skip the final snapshot on destroy.
    data_skip_final_snapshot: bool = knob(True, "Skip the final snapshot on destroy (true for staging).")
    # 1: bump to generate and write a new master password (write-only, never in state).
    data_password_version: int = knob(
        1,
        "Version of the write-only master password; increment to rotate it.",
        between=(1, 1_000_000),
        what="Password version",
    )
    # true for staging (false elsewhere): in-place changes apply now, not in the maintenance window.
    data_apply_immediately: bool = _apply_immediately("RDS instances", "instance classes, storage")
    # 30: retention of the PostgreSQL log groups.
    data_log_retention_days: int = _retention(Tier.DATA)
    # []: roles tagged CriticalPath=true.
    data_critical_path: list = _critical_path(Tier.DATA, ("primary", "replica"))
    # null: always on; otherwise off-hours the primary stopped (EventBridge Scheduler; no read replica) outside the windows.
    data_schedule: dict | None = schedule_knob(Tier.DATA)

    def problems(self) -> list[tuple[str, str]]:
        out = []
        for key, err in (
            ("data_iops", rules.gp3_iops(self.data_allocated_storage, self.data_iops)),
            (
                "data_storage_throughput",
                rules.gp3_throughput(self.data_allocated_storage, self.data_storage_throughput, self.data_iops),
            ),
        ):
            if err:
                out.append((key, err))
        return out


# --------------------------------------------------------------------------- cache
@dataclass(frozen=True)
class CacheProps(TierProps):
    tier: ClassVar[str] = Tier.CACHE
    roles: ClassVar[tuple[str, ...]] = ("cluster",)
    sizing_keys: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "cluster": {
            "node_type": "cache_node_type",
            "num_shards": "cache_num_shards",
            "replicas_per_shard": "cache_replicas_per_shard",
            "multi_az": "cache_multi_az",
        },
    }

    # cache.r6g.2xlarge: node type of every shard member.
    cache_node_type: str = knob(
        "cache.r6g.2xlarge",
        "ElastiCache node type of every node.",
        pattern=r"cache\.[a-z0-9]+\.[a-z0-9]+",
        what="Node type",
    )
    # 6: shards (node groups) of the cluster-mode replication group.
    cache_num_shards: int = knob(
        6,
        "Shards (node groups) in cluster mode ({range}); resharding is online.",
        between=(1, rules.ELASTICACHE_MAX_SHARDS),
        what="Shard count",
    )
    # 2: replicas per shard (0..4: the shard's rollback alarm reads 2 metrics per node, at most 10).
    cache_replicas_per_shard: int = knob(
        2,
        "Replicas per shard ({range}; at least 1 with Multi-AZ; the shard rollback alarm reads 2 metrics a node).",
        between=(0, rules.CACHE_MAX_REPLICAS),
        what="Replicas per shard",
        tf_rules=(("{var} >= 1 || !var.cache_multi_az", "Multi-AZ needs at least 1 replica per shard."),),
    )
    # true: Multi-AZ with automatic failover.
    cache_multi_az: bool = knob(True, "Multi-AZ with automatic failover (needs >= 1 replica per shard).")
    # 1: days of automatic snapshots.
    cache_snapshot_retention_limit: int = knob(
        1,
        "Days of automatic snapshots ({range}).",
        between=(0, 35),
        what="Snapshot retention",
    )
    # true for staging (false elsewhere): in-place changes apply now, not in the maintenance window.
    cache_apply_immediately: bool = _apply_immediately("replication group", "node type, shards, replicas")
    # 30: retention of the slow/engine log groups.
    cache_log_retention_days: int = _retention(Tier.CACHE)
    # []: roles tagged CriticalPath=true.
    cache_critical_path: list = _critical_path(Tier.CACHE, ("cluster",))

    def problems(self) -> list[tuple[str, str]]:
        err = rules.cache_replicas(self.cache_replicas_per_shard, self.cache_multi_az)
        return [("cache_replicas_per_shard", err)] if err else []


# --------------------------------------------------------------------------- compute
ASG_MAX = 1000  # a sanity bound on the group sizes (not an AWS limit)
ARCHITECTURES = ("x86_64", "arm64")


@dataclass(frozen=True)
class ComputeProps(TierProps):
    tier: ClassVar[str] = Tier.COMPUTE
    roles: ClassVar[tuple[str, ...]] = ("asg", "nlb")
    sizing_keys: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "asg": {
            "instance_type": "compute_instance_type",
            "architecture": "compute_architecture",
            "min_size": "compute_min_size",
            "max_size": "compute_max_size",
            "desired_capacity": "compute_desired_capacity",
        },
    }

    # c5.4xlarge: instance type in the launch template.
    compute_instance_type: str = knob(
        "c5.4xlarge",
        "EC2 instance type of the launch template (must match compute_architecture).",
        pattern=r"[a-z][a-z0-9-]*\.[a-z0-9]+",
        what="Instance type",
    )
    # x86_64: AMI architecture (arm64 for Graviton types such as c7g).
    compute_architecture: str = knob(
        "x86_64",
        "AMI architecture: x86_64 or arm64 (Graviton types need arm64).",
        one_of=ARCHITECTURES,
        what="Architecture",
    )
    # 3: ASG minimum size.
    compute_min_size: int = knob(
        3,
        "Auto Scaling group minimum size.",
        between=(0, ASG_MAX),
        what="Min size",
    )
    # 12: ASG maximum size.
    compute_max_size: int = knob(
        12,
        "Auto Scaling group maximum size (>= desired).",
        between=(1, ASG_MAX),
        what="Max size",
    )
    # 6: ASG desired capacity.
    compute_desired_capacity: int = knob(
        6,
        "Auto Scaling group desired capacity (min <= desired <= max); unused while "
        "compute_target_cpu_utilization is set (the scaling policy owns it).",
        between=(0, ASG_MAX),
        what="Desired capacity",
        tf_rules=(
            (
                "var.compute_target_cpu_utilization != null || ({var} >= var.compute_min_size && "
                "{var} <= var.compute_max_size)",
                "Desired capacity must be between compute_min_size and compute_max_size.",
            ),
        ),
    )
    # 50: target-tracking policy on average CPU (%); null: no policy, desired capacity set here.
    compute_target_cpu_utilization: int | None = knob(
        50,
        "Target-tracking scaling policy: average CPU utilisation (%, {range}) the group keeps by scaling "
        "between min and max; while set, the policy owns the desired capacity (null: no policy, "
        "compute_desired_capacity applies).",
        between=(1, 100),
        nullable=True,
        what="Target CPU utilisation",
    )
    # 10: database connections each app instance's pool may open.
    compute_db_pool_size: int = knob(
        10,
        "Database connections the pool of each app instance may open ({range}); compute_max_size x this is "
        "what the group can open against the database's max_connections.",
        between=(1, 1000),
        what="Pool size",
    )
    # 90: percentage kept healthy during a rolling instance refresh.
    compute_min_healthy_percentage: int = knob(
        90,
        "Instance refresh: percentage of capacity kept healthy ({range}).",
        between=(0, 100),
        what="Min healthy percentage",
    )
    # 8080: port of the NLB listener and the app (the only port open to 0.0.0.0/0, on the NLB).
    compute_app_port: int = knob(
        8080,
        "TCP port of the NLB listener and of the app on the instances (the only ingress open to 0.0.0.0/0, on the NLB).",
        between=(1024, 65535),
        what="App port",
    )
    # 30: retention of the app log group.
    compute_log_retention_days: int = _retention(Tier.COMPUTE)
    # []: roles tagged CriticalPath=true.
    compute_critical_path: list = _critical_path(Tier.COMPUTE, ("asg", "nlb"))
    # null: always on; otherwise off-hours the group scaled to 0 outside the windows.
    compute_schedule: dict | None = schedule_knob(Tier.COMPUTE)

    def problems(self) -> list[tuple[str, str]]:
        # With a scaling policy desired capacity is the policy's: only min <= max is checked.
        desired = (
            self.compute_desired_capacity if self.compute_target_cpu_utilization is None else self.compute_min_size
        )
        err = rules.asg_sizes(self.compute_min_size, self.compute_max_size, desired)
        return [("compute_desired_capacity", err)] if err else []


# --------------------------------------------------------------------------- serverless
def _for_every_function(value: Any) -> dict:
    return {fn: value for fn in FUNCTIONS}


@dataclass(frozen=True)
class ServerlessProps(TierProps):
    tier: ClassVar[str] = Tier.SERVERLESS
    roles: ClassVar[tuple[str, ...]] = FUNCTIONS
    sizing_keys: ClassVar[Mapping[str, Mapping[str, str]]] = {
        fn: {
            "memory_size": f"serverless_memory_size.{fn}",
            "timeout": f"serverless_timeout.{fn}",
            "architecture": f"serverless_architecture.{fn}",
            "reserved_concurrency": f"serverless_reserved_concurrency.{fn}",
            "provisioned_concurrency": f"serverless_provisioned_concurrency.{fn}",
        }
        for fn in FUNCTIONS
    }

    # 3008 per function: memory in MB (1769 MB = 1 vCPU). Maps may list only the functions they change.
    serverless_memory_size: dict = knob(
        _for_every_function(3008),
        "Lambda memory (MB, {range}) per function short name; unlisted functions keep the default.",
        tf_type="map(number)",
        between=(rules.LAMBDA_MEMORY_MIN, rules.LAMBDA_MEMORY_MAX),
        what="Memory",
        message="{what} must be {range} MB.",
        per_function=True,
    )
    # 900 per function: timeout in seconds.
    serverless_timeout: dict = knob(
        _for_every_function(900),
        "Lambda timeout (s, {range}) per function short name.",
        tf_type="map(number)",
        between=(1, rules.LAMBDA_TIMEOUT_MAX),
        what="Timeout",
        message="{what} must be {range} s.",
        per_function=True,
    )
    # x86_64 per function: instruction set (arm64 is cheaper per GB-s).
    serverless_architecture: dict = knob(
        _for_every_function("x86_64"),
        "Lambda architecture (x86_64 or arm64) per function short name.",
        tf_type="map(string)",
        one_of=ARCHITECTURES,
        what="Architecture",
        per_function=True,
    )
    # 100 per function: reserved concurrency.
    serverless_reserved_concurrency: dict = knob(
        _for_every_function(100),
        "Reserved concurrency per function short name (>= provisioned; 100 must stay unreserved in the account).",
        tf_type="map(number)",
        between=(0, None),
        what="Reserved concurrency",
        per_function=True,
    )
    # 50 per function: provisioned concurrency on the `live` alias (0 = none).
    serverless_provisioned_concurrency: dict = knob(
        _for_every_function(50),
        "Provisioned concurrency on the live alias per function short name (0 = none; <= reserved).",
        tf_type="map(number)",
        between=(0, None),
        what="Provisioned concurrency",
        per_function=True,
    )
    # 1000: the account's Lambda concurrency limit for the offline check; the plan reads the real quota.
    serverless_account_concurrency_limit: int = knob(
        rules.LAMBDA_DEFAULT_ACCOUNT_LIMIT,
        "Account Lambda concurrency limit the tfvars check uses offline; the plan checks the account's real "
        "quota (Service Quotas L-B99A9384).",
        between=(rules.LAMBDA_UNRESERVED_MIN, 1_000_000),
        what="Account concurrency limit",
    )
    # 30: retention of the functions' log groups.
    serverless_log_retention_days: int = _retention(Tier.SERVERLESS)
    # []: roles (function short names) tagged CriticalPath=true.
    serverless_critical_path: list = _critical_path(Tier.SERVERLESS, FUNCTIONS)
    # null: always on; otherwise off-hours provisioned concurrency at 0 outside the windows.
    serverless_schedule: dict | None = schedule_knob(Tier.SERVERLESS)

    def effective(self, name: str) -> dict:
        """A map variable merged over its per-function defaults (what the stack deploys)."""
        return {**DEFAULTS_BY_MAP[name], **getattr(self, name)}

    def problems(self) -> list[tuple[str, str]]:
        out = []
        reserved = self.effective("serverless_reserved_concurrency")
        provisioned = self.effective("serverless_provisioned_concurrency")
        for fn in FUNCTIONS:
            err = rules.provisioned_within_reserved(provisioned[fn], reserved[fn])
            if err:
                out.append((f"serverless_provisioned_concurrency.{fn}", err))
        err = rules.account_concurrency(reserved, self.serverless_account_concurrency_limit)
        if err:
            out.append(("serverless_reserved_concurrency", err))
        return out


DEFAULTS_BY_MAP = {
    f.name: getattr(ServerlessProps(), f.name)
    for f in ServerlessProps.fields()
    if f.metadata["tf_type"].startswith("map(")
}

PROPS: dict[str, type[TierProps]] = {
    cls.tier: cls for cls in (NetworkProps, DataProps, CacheProps, ComputeProps, ServerlessProps)
}


# Weekly maintenance windows (UTC) of the tiers whose in-place changes may wait for one.
MAINTENANCE_WINDOWS: dict[str, str] = {Tier.DATA: "sun:04:30-sun:05:30", Tier.CACHE: "sun:05:00-sun:06:00"}


def window_note(tier: str) -> str:
    """What a plan says when `<tier>_apply_immediately` is off."""
    return (
        f"{tier}_apply_immediately is false: an in-place change shows as applied but waits for the "
        f"maintenance window ({MAINTENANCE_WINDOWS[tier]} UTC)"
    )


def waits_for_window(props: TierProps) -> str | None:
    """`window_note` when this stack's in-place changes wait for the maintenance window, else None."""
    if props.tier not in MAINTENANCE_WINDOWS or getattr(props, f"{props.tier}_apply_immediately"):
        return None
    return window_note(props.tier)


def environment_defaults(environment: str, tier: str) -> dict[str, Any]:
    """Per-environment defaults over the dataclass defaults: only destroyable environments
    (staging, dev, test, sandbox) run without deletion protection and final snapshot, and apply
    in-place changes immediately; elsewhere they wait for the maintenance window."""
    if environment in DESTROYABLE_ENVIRONMENTS:
        return {}
    if tier == Tier.DATA:
        return {"data_deletion_protection": True, "data_skip_final_snapshot": False, "data_apply_immediately": False}
    if tier == Tier.CACHE:
        return {"cache_apply_immediately": False}
    return {}
