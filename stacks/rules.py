"""AWS rules the sizing knobs must respect, as small pure functions.

Each function returns None when the value is valid, else a short rule text (no file, no
key: the caller adds those). The tfvars validator and the sizing engine share them, and the
Terraform variable validations in stacks/props.py are built from the same constants.
Sources: ../shared/docs/aws-facts.md and the AWS API references cited per function.
"""

from __future__ import annotations

from collections.abc import Mapping

from .alarms_contract import SPECS

# RDS gp3 (PostgreSQL): >= 400 GiB includes 12,000 IOPS / 500 MiB/s; settable 12,000-64,000
# IOPS and 500-4,000 MiB/s; below 400 GiB neither can be set (baseline 3,000 / 125).
GP3_THRESHOLD_GIB = 400
GP3_IOPS_MIN, GP3_IOPS_MAX = 12_000, 64_000
GP3_THROUGHPUT_MIN, GP3_THROUGHPUT_MAX = 500, 4_000
GP3_IOPS_PER_GIB_MAX = 50  # CreateDBInstance: IOPS must be 0.5..50 x the storage (PostgreSQL)
GP3_THROUGHPUT_PER_IOPS_MAX = 0.25  # ValidStorageOptions StorageThroughputToIopsRatio 0-0.25
RDS_STORAGE_MIN, RDS_STORAGE_MAX = 20, 65_536  # GiB, gp3 PostgreSQL
RDS_MAX_REPLICAS = 15  # read replicas of one PostgreSQL source

ELASTICACHE_MAX_REPLICAS = 5  # what ElastiCache allows per shard
# What the stacks allow: a shard's rollback alarm reads 2 metrics per node and at most 10.
CACHE_MAX_REPLICAS = min(ELASTICACHE_MAX_REPLICAS, SPECS["cache"].max_members - 1)
ELASTICACHE_MAX_SHARDS = 500
LAMBDA_MEMORY_MIN, LAMBDA_MEMORY_MAX = 128, 10_240
LAMBDA_TIMEOUT_MAX = 900
LAMBDA_UNRESERVED_MIN = 100  # the account keeps at least 100 unreserved concurrency
LAMBDA_DEFAULT_ACCOUNT_LIMIT = 1_000


def gp3_iops(allocated_storage: int, iops: int | None) -> str | None:
    """gp3 IOPS: unset below 400 GiB; 12,000..64,000 and <= 50 x GiB at or above it."""
    if iops is None:
        return None
    if allocated_storage < GP3_THRESHOLD_GIB:
        return (
            f"gp3 below {GP3_THRESHOLD_GIB} GiB cannot set IOPS (baseline 3000): leave it null "
            f"(allocated_storage={allocated_storage})"
        )
    if not GP3_IOPS_MIN <= iops <= GP3_IOPS_MAX:
        return (
            f"gp3 at >= {GP3_THRESHOLD_GIB} GiB needs IOPS {GP3_IOPS_MIN}..{GP3_IOPS_MAX} "
            f"(got {iops}; the included baseline is {GP3_IOPS_MIN})"
        )
    if iops > GP3_IOPS_PER_GIB_MAX * allocated_storage:
        return (
            f"IOPS may be at most {GP3_IOPS_PER_GIB_MAX} x allocated storage "
            f"({GP3_IOPS_PER_GIB_MAX * allocated_storage} at {allocated_storage} GiB, got {iops})"
        )
    return None


def gp3_throughput(allocated_storage: int, throughput: int | None, iops: int | None) -> str | None:
    """gp3 throughput (MiB/s): unset below 400 GiB; 500..4,000 and <= 0.25 x IOPS above."""
    if throughput is None:
        return None
    if allocated_storage < GP3_THRESHOLD_GIB:
        return (
            f"gp3 below {GP3_THRESHOLD_GIB} GiB cannot set storage throughput (baseline 125 MiB/s): "
            f"leave it null (allocated_storage={allocated_storage})"
        )
    if not GP3_THROUGHPUT_MIN <= throughput <= GP3_THROUGHPUT_MAX:
        return f"gp3 throughput must be {GP3_THROUGHPUT_MIN}..{GP3_THROUGHPUT_MAX} MiB/s (got {throughput})"
    effective_iops = GP3_IOPS_MIN if iops is None else iops
    if throughput > GP3_THROUGHPUT_PER_IOPS_MAX * effective_iops:
        return (
            f"throughput may be at most {GP3_THROUGHPUT_PER_IOPS_MAX} MiB/s per IOPS "
            f"({GP3_THROUGHPUT_PER_IOPS_MAX * effective_iops:g} at {effective_iops} IOPS, got {throughput})"
        )
    return None


def storage_not_reduced(current: int, proposed: int) -> str | None:
    """RDS allocated storage can never shrink; an increase must be >= 10%."""
    if proposed < current:
        return f"RDS allocated storage can never be reduced ({current} -> {proposed} GiB)"
    if current < proposed < current * 1.1:
        return f"an RDS storage increase must be at least 10% ({current} -> {proposed} GiB)"
    return None


def nat_gateway_count(nat_count: int, az_count: int) -> str | None:
    """One NAT gateway at least (private subnets need egress), at most one per AZ."""
    if not 1 <= nat_count <= az_count:
        return f"NAT gateway count must be 1..az_count ({az_count}) (got {nat_count})"
    return None


def cache_replicas(replicas_per_shard: int, multi_az: bool) -> str | None:
    """0..4 replicas per shard (the rollback alarm's limit under ElastiCache's 5); Multi-AZ needs one."""
    if not 0 <= replicas_per_shard <= CACHE_MAX_REPLICAS:
        return f"replicas per shard must be 0..{CACHE_MAX_REPLICAS} (got {replicas_per_shard})"
    if multi_az and replicas_per_shard < 1:
        return "Multi-AZ needs at least 1 replica per shard (got 0)"
    return None


def provisioned_within_reserved(provisioned: int, reserved: int) -> str | None:
    """Lambda provisioned concurrency must be <= the function's reserved concurrency."""
    if provisioned > reserved:
        return f"provisioned concurrency ({provisioned}) must be <= reserved concurrency ({reserved})"
    return None


def account_concurrency(reserved: Mapping[str, int], account_limit: int = LAMBDA_DEFAULT_ACCOUNT_LIMIT) -> str | None:
    """The sum of reserved concurrency must leave 100 unreserved in the account."""
    total = sum(reserved.values())
    if total > account_limit - LAMBDA_UNRESERVED_MIN:
        return (
            f"reserved concurrency totals {total}; an account limit of {account_limit} allows at most "
            f"{account_limit - LAMBDA_UNRESERVED_MIN} (100 must stay unreserved)"
        )
    return None


def lambda_memory(memory_mb: int) -> str | None:
    if not LAMBDA_MEMORY_MIN <= memory_mb <= LAMBDA_MEMORY_MAX:
        return f"Lambda memory must be {LAMBDA_MEMORY_MIN}..{LAMBDA_MEMORY_MAX} MB (got {memory_mb})"
    return None


def asg_sizes(min_size: int, max_size: int, desired: int) -> str | None:
    if not 0 <= min_size <= desired <= max_size:
        return f"ASG sizes need 0 <= min <= desired <= max (got min={min_size}, desired={desired}, max={max_size})"
    return None
