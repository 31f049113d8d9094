"""Props of each tier stack: one frozen dataclass per tier whose fields are exactly the
stack's Terraform variables (name, default, description, type, validation).

Pure Python (never imports cdktf): the analysis imports this to validate the tfvars it writes.
A field's metadata carries what the variable needs:
  description  the variable's description (the default is documented on the field's line)
  tf_type      Terraform type: number, string, bool, list(string), map(number), map(string)
  nullable     whether null is a valid value (default False)
  integer      numbers must be whole
  check        pure per-value rule: value -> None | rule text (stacks/rules.py style)
  tf_rules     Terraform validation blocks: (condition, error message); "{var}" = var.<name>
Cross-variable rules live in each class's `problems()` and in the same Terraform blocks.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from . import rules
from .naming import FUNCTIONS

# Environments that must be destroyable: deletion protection off, no final snapshot.
DESTROYABLE_ENVIRONMENTS = frozenset({"staging", "dev", "test", "sandbox"})

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


def knob(
    default: Any,
    description: str,
    *,
    tf_type: str | None = None,
    nullable: bool = False,
    integer: bool = False,
    check: Callable[[Any], str | None] | None = None,
    tf_rules: tuple[tuple[str, str], ...] = (),
) -> Any:
    """A dataclass field that is also a Terraform variable."""
    if tf_type is None:
        tf_type = {bool: "bool", int: "number", float: "number", str: "string"}[type(default)]
    meta = {
        "description": description,
        "tf_type": tf_type,
        "nullable": nullable,
        "integer": integer,
        "check": check,
        "tf_rules": tf_rules,
    }
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: _copy(default), metadata=meta)
    return field(default=default, metadata=meta)


def _copy(value: Any) -> Any:
    return dict(value) if isinstance(value, dict) else list(value)


def _range(lo: int, hi: int, what: str) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"{what} must be {lo}..{hi} (got {v})"


def _pattern(regex: str, what: str) -> Callable[[Any], str | None]:
    return lambda v: None if re.fullmatch(regex, v) else f"{what} must match {regex} (got {v!r})"


def _one_of(values: tuple, what: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in values else f"{what} must be one of {', '.join(map(str, values))} (got {v!r})"


def _roles(roles: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(v: list[str]) -> str | None:
        bad = [r for r in v if r not in roles]
        return f"unknown role(s) {', '.join(bad)}; roles of this stack: {', '.join(roles)}" if bad else None

    return check


def _tf_range(lo: int, hi: int, what: str) -> tuple[str, str]:
    return (
        f"{{var}} >= {lo} && {{var}} <= {hi} && floor({{var}}) == {{var}}",
        f"{what} must be a whole number {lo}..{hi}.",
    )


def _tf_pattern(regex: str, what: str) -> tuple[str, str]:
    hcl = regex.replace("\\", "\\\\")  # a backslash inside an HCL string literal
    return (f'can(regex("^{hcl}$", {{var}}))', f"{what} must match {regex}.")


def _tf_roles(roles: tuple[str, ...]) -> tuple[str, str]:
    listed = ", ".join(f'"{r}"' for r in roles)
    return (f"length(setsubtract({{var}}, [{listed}])) == 0", f"Roles must be among: {', '.join(roles)}.")


def _tf_map_keys(keys: tuple[str, ...]) -> tuple[str, str]:
    listed = ", ".join(f'"{k}"' for k in keys)
    return (
        f"length(setsubtract(keys({{var}}), [{listed}])) == 0",
        f"Keys must be function short names: {', '.join(keys)}.",
    )


def _critical_path(tier: str, roles: tuple[str, ...]) -> Any:
    return knob(
        [],
        f"Roles in the {tier} stack tagged CriticalPath=true (reported, never changed). Roles: {', '.join(roles)}.",
        tf_type="list(string)",
        check=_roles(roles),
        tf_rules=(_tf_roles(roles),),
    )


def _retention(tier: str) -> Any:
    listed = ", ".join(map(str, RETENTION_DAYS))
    return knob(
        30,
        f"CloudWatch log retention (days) of the {tier} tier's log groups.",
        integer=True,
        check=_one_of(RETENTION_DAYS, "log retention days"),
        tf_rules=(
            (
                f"contains([{listed}], {{var}})",
                "Retention must be a CloudWatch retention value (1, 3, 5, 7, 14, 30, ... 3653).",
            ),
        ),
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
    tier: ClassVar[str] = "network"
    roles: ClassVar[tuple[str, ...]] = ("vpc", "nat")
    sizing_keys: ClassVar[Mapping[str, Mapping[str, str]]] = {
        "vpc": {"nat_gateway_count": "network_nat_gateway_count", "az_count": "network_az_count"},
    }

    # 10.0.0.0/16: the VPC's IPv4 CIDR (each region is its own VPC, no peering).
    network_vpc_cidr: str = knob(
        "10.0.0.0/16",
        "IPv4 CIDR block of the VPC (/16../24).",
        check=_pattern(r"\d+\.\d+\.\d+\.\d+/(1[6-9]|2[0-4])", "VPC CIDR"),
        tf_rules=(
            (
                "can(cidrnetmask({var})) && tonumber(split(\"/\", {var})[1]) >= 16 && tonumber(split(\"/\", {var})[1]) <= 24",
                "The VPC CIDR must be a valid IPv4 block between /16 and /24.",
            ),
        ),
    )
    # 3: availability zones with one public and one private subnet each.
    network_az_count: int = knob(
        3,
        "Availability zones used (one public and one private subnet each).",
        integer=True,
        check=_range(2, 6, "AZ count"),
        tf_rules=(_tf_range(2, 6, "AZ count"),),
    )
    # 3: NAT gateways, one per AZ (1..az_count; fewer means cross-AZ egress through a shared one).
    network_nat_gateway_count: int = knob(
        3,
        "NAT gateways (1..network_az_count); private route tables share them round-robin.",
        integer=True,
        check=_range(1, 6, "NAT gateway count"),
        tf_rules=(
            (
                "{var} >= 1 && {var} <= var.network_az_count && floor({var}) == {var}",
                "NAT gateway count must be a whole number between 1 and network_az_count.",
            ),
        ),
    )
    # 30: retention of the VPC flow log group.
    network_flow_log_retention_days: int = _retention("network")
    # []: roles tagged CriticalPath=true.
    network_critical_path: list = _critical_path("network", ("vpc", "nat"))

    def problems(self) -> list[tuple[str, str]]:
        err = rules.nat_gateway_count(self.network_nat_gateway_count, self.network_az_count)
        return [("network_nat_gateway_count", err)] if err else []


# --------------------------------------------------------------------------- data
_GP3_IOPS_TF = (
    (
        "{var} == null || var.data_allocated_storage >= 400",
        "gp3 below 400 GiB cannot set IOPS (baseline 3000): leave data_iops null.",
    ),
    (
        "{var} == null || try({var} >= 12000 && {var} <= 64000, false)",
        "gp3 at >= 400 GiB needs data_iops 12000..64000 (12000 is included; 10000 is rejected by the API).",
    ),
    (
        "{var} == null || try({var} <= 50 * var.data_allocated_storage, false)",
        "data_iops may be at most 50 x data_allocated_storage.",
    ),
)
_GP3_THROUGHPUT_TF = (
    (
        "{var} == null || var.data_allocated_storage >= 400",
        "gp3 below 400 GiB cannot set throughput (baseline 125 MiB/s): leave data_storage_throughput null.",
    ),
    ("{var} == null || try({var} >= 500 && {var} <= 4000, false)", "gp3 throughput must be 500..4000 MiB/s."),
    (
        "{var} == null || try({var} <= 0.25 * coalesce(var.data_iops, 12000), false)",
        "gp3 throughput may be at most 0.25 MiB/s per IOPS.",
    ),
)
_DB_CLASS = r"db\.[a-z0-9]+\.[a-z0-9]+"


@dataclass(frozen=True)
class DataProps(TierProps):
    tier: ClassVar[str] = "data"
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
        check=_pattern(_DB_CLASS, "instance class"),
        tf_rules=(_tf_pattern(_DB_CLASS, "Instance class"),),
    )
    # 1000: gp3 allocated storage in GiB (never reduced by a modify).
    data_allocated_storage: int = knob(
        1000,
        "gp3 allocated storage (GiB); AWS never lets it shrink.",
        integer=True,
        check=rules.rds_storage,
        tf_rules=(_tf_range(20, 65536, "Allocated storage"),),
    )
    # 12000: gp3 IOPS; the requested 10,000 is invalid at 1000 GiB, 12,000 is the included floor.
    data_iops: int | None = knob(
        12000,
        "gp3 provisioned IOPS (null below 400 GiB; 12000..64000 at >= 400 GiB).",
        tf_type="number",
        nullable=True,
        integer=True,
        tf_rules=_GP3_IOPS_TF,
    )
    # 500: gp3 throughput in MiB/s (the included baseline at >= 400 GiB).
    data_storage_throughput: int | None = knob(
        500,
        "gp3 storage throughput in MiB/s (null below 400 GiB; 500..4000).",
        tf_type="number",
        nullable=True,
        integer=True,
        tf_rules=_GP3_THROUGHPUT_TF,
    )
    # true: Multi-AZ standby for the primary.
    data_multi_az: bool = knob(True, "Run the primary Multi-AZ (synchronous standby in another AZ).")
    # 1: read replicas (each in an AZ other than the primary's).
    data_replica_count: int = knob(
        1,
        "Read replicas of the primary (0..15), placed outside the primary's AZ.",
        integer=True,
        check=rules.rds_replica_count,
        tf_rules=(_tf_range(0, 15, "Replica count"),),
    )
    # db.r6g.2xlarge: instance class of the read replicas.
    data_replica_instance_class: str = knob(
        "db.r6g.2xlarge",
        "RDS instance class of the read replicas.",
        check=_pattern(_DB_CLASS, "instance class"),
        tf_rules=(_tf_pattern(_DB_CLASS, "Instance class"),),
    )
    # 7: days of automated backups (> 0: blue/green deployments need them).
    data_backup_retention_period: int = knob(
        7,
        "Automated backup retention in days (1..35; blue/green needs backups).",
        integer=True,
        check=_range(1, 35, "backup retention period"),
        tf_rules=(_tf_range(1, 35, "Backup retention"),),
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
        integer=True,
        check=_range(1, 1_000_000, "password version"),
        tf_rules=(_tf_range(1, 1000000, "Password version"),),
    )
    # 30: retention of the PostgreSQL log group.
    data_log_retention_days: int = _retention("data")
    # []: roles tagged CriticalPath=true.
    data_critical_path: list = _critical_path("data", ("primary", "replica"))

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
    tier: ClassVar[str] = "cache"
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
        check=_pattern(r"cache\.[a-z0-9]+\.[a-z0-9]+", "node type"),
        tf_rules=(_tf_pattern(r"cache\.[a-z0-9]+\.[a-z0-9]+", "Node type"),),
    )
    # 6: shards (node groups) of the cluster-mode replication group.
    cache_num_shards: int = knob(
        6,
        "Shards (node groups) in cluster mode (1..500); resharding is online.",
        integer=True,
        check=_range(1, rules.ELASTICACHE_MAX_SHARDS, "shard count"),
        tf_rules=(_tf_range(1, 500, "Shard count"),),
    )
    # 2: replicas per shard (0..5, >= 1 with Multi-AZ).
    cache_replicas_per_shard: int = knob(
        2,
        "Replicas per shard (0..5; at least 1 with Multi-AZ).",
        integer=True,
        check=_range(0, rules.ELASTICACHE_MAX_REPLICAS, "replicas per shard"),
        tf_rules=(
            _tf_range(0, 5, "Replicas per shard"),
            ("{var} >= 1 || !var.cache_multi_az", "Multi-AZ needs at least 1 replica per shard."),
        ),
    )
    # true: Multi-AZ with automatic failover.
    cache_multi_az: bool = knob(True, "Multi-AZ with automatic failover (needs >= 1 replica per shard).")
    # 1: days of automatic snapshots.
    cache_snapshot_retention_limit: int = knob(
        1,
        "Days of automatic snapshots (0..35).",
        integer=True,
        check=_range(0, 35, "snapshot retention"),
        tf_rules=(_tf_range(0, 35, "Snapshot retention"),),
    )
    # 30: retention of the slow/engine log groups.
    cache_log_retention_days: int = _retention("cache")
    # []: roles tagged CriticalPath=true.
    cache_critical_path: list = _critical_path("cache", ("cluster",))

    def problems(self) -> list[tuple[str, str]]:
        err = rules.cache_replicas(self.cache_replicas_per_shard, self.cache_multi_az)
        return [("cache_replicas_per_shard", err)] if err else []


# --------------------------------------------------------------------------- compute
@dataclass(frozen=True)
class ComputeProps(TierProps):
    tier: ClassVar[str] = "compute"
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
        check=_pattern(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "instance type"),
        tf_rules=(_tf_pattern(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "Instance type"),),
    )
    # x86_64: AMI architecture (arm64 for Graviton types such as c7g).
    compute_architecture: str = knob(
        "x86_64",
        "AMI architecture: x86_64 or arm64 (Graviton types need arm64).",
        check=_one_of(("x86_64", "arm64"), "architecture"),
        tf_rules=(('contains(["x86_64", "arm64"], {var})', "Architecture must be x86_64 or arm64."),),
    )
    # 3: ASG minimum size.
    compute_min_size: int = knob(
        3,
        "Auto Scaling group minimum size.",
        integer=True,
        check=_range(0, 1000, "min size"),
        tf_rules=(_tf_range(0, 1000, "Min size"),),
    )
    # 12: ASG maximum size.
    compute_max_size: int = knob(
        12,
        "Auto Scaling group maximum size (>= desired).",
        integer=True,
        check=_range(1, 1000, "max size"),
        tf_rules=(_tf_range(1, 1000, "Max size"),),
    )
    # 6: ASG desired capacity.
    compute_desired_capacity: int = knob(
        6,
        "Auto Scaling group desired capacity (min <= desired <= max).",
        integer=True,
        check=_range(0, 1000, "desired capacity"),
        tf_rules=(
            _tf_range(0, 1000, "Desired capacity"),
            (
                "{var} >= var.compute_min_size && {var} <= var.compute_max_size",
                "Desired capacity must be between compute_min_size and compute_max_size.",
            ),
        ),
    )
    # 90: percentage kept healthy during a rolling instance refresh.
    compute_min_healthy_percentage: int = knob(
        90,
        "Instance refresh: percentage of capacity kept healthy (0..100).",
        integer=True,
        check=_range(0, 100, "min healthy percentage"),
        tf_rules=(_tf_range(0, 100, "Min healthy percentage"),),
    )
    # 8080: port of the NLB listener and the app (the only port open to 0.0.0.0/0, on the NLB).
    compute_app_port: int = knob(
        8080,
        "TCP port of the NLB listener and of the app on the instances (the only ingress open to 0.0.0.0/0, on the NLB).",
        integer=True,
        check=_range(1024, 65535, "app port"),
        tf_rules=(_tf_range(1024, 65535, "App port"),),
    )
    # 30: retention of the app log group.
    compute_log_retention_days: int = _retention("compute")
    # []: roles tagged CriticalPath=true.
    compute_critical_path: list = _critical_path("compute", ("asg", "nlb"))

    def problems(self) -> list[tuple[str, str]]:
        err = rules.asg_sizes(self.compute_min_size, self.compute_max_size, self.compute_desired_capacity)
        return [("compute_desired_capacity", err)] if err else []


# --------------------------------------------------------------------------- serverless
def _per_function(value: Any) -> dict:
    return {fn: value for fn in FUNCTIONS}


def _each(check: Callable[[Any], str | None]) -> Callable[[Mapping[str, Any]], str | None]:
    def run(m: Mapping[str, Any]) -> str | None:
        unknown = [k for k in m if k not in FUNCTIONS]
        if unknown:
            return f"unknown function(s) {', '.join(unknown)}; functions: {', '.join(FUNCTIONS)}"
        for k, v in m.items():
            err = check(v)
            if err:
                return f"{k}: {err}"
        return None

    return run


def _tf_each(cond: str, msg: str) -> tuple[str, str]:
    return (f"alltrue([for k, v in {{var}} : {cond}])", msg)


@dataclass(frozen=True)
class ServerlessProps(TierProps):
    tier: ClassVar[str] = "serverless"
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
        _per_function(3008),
        "Lambda memory (MB, 128..10240) per function short name; unlisted functions keep the default.",
        tf_type="map(number)",
        check=_each(rules.lambda_memory),
        tf_rules=(
            _tf_map_keys(FUNCTIONS),
            _tf_each("v >= 128 && v <= 10240 && floor(v) == v", "Memory must be 128..10240 MB."),
        ),
    )
    # 900 per function: timeout in seconds.
    serverless_timeout: dict = knob(
        _per_function(900),
        "Lambda timeout (s, 1..900) per function short name.",
        tf_type="map(number)",
        check=_each(rules.lambda_timeout),
        tf_rules=(
            _tf_map_keys(FUNCTIONS),
            _tf_each("v >= 1 && v <= 900 && floor(v) == v", "Timeout must be 1..900 s."),
        ),
    )
    # x86_64 per function: instruction set (arm64 is cheaper per GB-s).
    serverless_architecture: dict = knob(
        _per_function("x86_64"),
        "Lambda architecture (x86_64 or arm64) per function short name.",
        tf_type="map(string)",
        check=_each(_one_of(("x86_64", "arm64"), "architecture")),
        tf_rules=(
            _tf_map_keys(FUNCTIONS),
            _tf_each('contains(["x86_64", "arm64"], v)', "Architecture must be x86_64 or arm64."),
        ),
    )
    # 100 per function: reserved concurrency.
    serverless_reserved_concurrency: dict = knob(
        _per_function(100),
        "Reserved concurrency per function short name (>= provisioned; 100 must stay unreserved in the account).",
        tf_type="map(number)",
        check=_each(_range(0, 10_000, "reserved concurrency")),
        tf_rules=(
            _tf_map_keys(FUNCTIONS),
            _tf_each("v >= 0 && floor(v) == v", "Reserved concurrency must be a whole number >= 0."),
        ),
    )
    # 50 per function: provisioned concurrency on the `live` alias (0 = none).
    serverless_provisioned_concurrency: dict = knob(
        _per_function(50),
        "Provisioned concurrency on the live alias per function short name (0 = none; <= reserved).",
        tf_type="map(number)",
        check=_each(_range(0, 10_000, "provisioned concurrency")),
        tf_rules=(
            _tf_map_keys(FUNCTIONS),
            _tf_each("v >= 0 && floor(v) == v", "Provisioned concurrency must be a whole number >= 0."),
        ),
    )
    # 1000: the account's Lambda concurrency limit (GetAccountSettings); reserved totals must leave 100.
    serverless_account_concurrency_limit: int = knob(
        1000,
        "Account Lambda concurrency limit the reserved totals are checked against.",
        integer=True,
        check=_range(100, 1_000_000, "account concurrency limit"),
        tf_rules=(_tf_range(100, 1000000, "Account concurrency limit"),),
    )
    # 30: retention of the functions' log groups.
    serverless_log_retention_days: int = _retention("serverless")
    # []: roles (function short names) tagged CriticalPath=true.
    serverless_critical_path: list = _critical_path("serverless", FUNCTIONS)

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
    f.name: f.default_factory()
    for f in dataclasses.fields(ServerlessProps)  # type: ignore[misc]
    if f.metadata["tf_type"].startswith("map(")
}

PROPS: dict[str, type[TierProps]] = {
    "network": NetworkProps,
    "data": DataProps,
    "cache": CacheProps,
    "compute": ComputeProps,
    "serverless": ServerlessProps,
}


def environment_defaults(environment: str, tier: str) -> dict[str, Any]:
    """Per-environment defaults over the dataclass defaults: only destroyable environments
    (staging, dev, test, sandbox) run without deletion protection and final snapshot."""
    if tier == "data" and environment not in DESTROYABLE_ENVIRONMENTS:
        return {"data_deletion_protection": True, "data_skip_final_snapshot": False}
    return {}
