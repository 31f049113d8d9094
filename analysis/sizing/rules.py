"""Hard AWS rules the sizing applies, as small pure functions that DERIVE a valid value.

The limits themselves live in stacks/rules.py (shared with the tfvars validation and the
Terraform variable validations; it never imports cdktf); this module turns a demand into the
nearest valid setting. Sources: the AWS references cited in stacks/rules.py.
"""

from __future__ import annotations

import math

from stacks.rules import (
    CACHE_MAX_REPLICAS,
    GP3_IOPS_MAX,
    GP3_IOPS_MIN,
    GP3_IOPS_PER_GIB_MAX,
    GP3_THRESHOLD_GIB,
    GP3_THROUGHPUT_MAX,
    GP3_THROUGHPUT_MIN,
    GP3_THROUGHPUT_PER_IOPS_MAX,
    LAMBDA_MEMORY_MAX,
    LAMBDA_MEMORY_MIN,
)

GP3_BASELINE_SMALL = (3000, 125)  # below 400 GiB: fixed, cannot be set
GP3_BASELINE_LARGE = (GP3_IOPS_MIN, GP3_THROUGHPUT_MIN)  # included at >= 400 GiB
GP3_IOPS_STEP = 1000
GP3_THROUGHPUT_STEP = 25
CACHE_RESERVED_MEMORY = 0.25  # ElastiCache reserved-memory-percent default
CACHE_SHARD_MOVE_FACTOR = 1.5  # free memory on remaining shards >= 1.5 x data moved
NAT_GBPS = 5.0  # a NAT gateway starts at 5 Gbps (scales to 100): sized against the start
NAT_CONNECTIONS = 55000  # simultaneous connections per destination per gateway


def gp3_baseline(allocated_gib: float) -> tuple[int, int]:
    """(IOPS, MiB/s) included with RDS gp3 storage of this size."""
    return GP3_BASELINE_LARGE if allocated_gib >= GP3_THRESHOLD_GIB else GP3_BASELINE_SMALL


def gp3_settable(allocated_gib: float) -> bool:
    return allocated_gib >= GP3_THRESHOLD_GIB


def gp3_iops(allocated_gib: float, needed: float, needed_mibps: float = 0.0) -> int | None:
    """Provisioned IOPS to set: None below 400 GiB (not settable), else the 12,000 floor, rounded
    up to 1,000, enough IOPS for the throughput (<= 0.25 MiB/s per IOPS), at most 64,000 and
    50 x GiB. 10,000 IOPS at 1000 GB is rejected by the API: this never emits it."""
    if not gp3_settable(allocated_gib):
        return None
    wanted = max(needed, 0, needed_mibps / GP3_THROUGHPUT_PER_IOPS_MAX)
    step = math.ceil(wanted / GP3_IOPS_STEP) * GP3_IOPS_STEP
    cap = min(GP3_IOPS_MAX, (GP3_IOPS_PER_GIB_MAX * int(allocated_gib)) // GP3_IOPS_STEP * GP3_IOPS_STEP)
    return int(min(cap, max(GP3_IOPS_MIN, step)))


def gp3_throughput(allocated_gib: float, needed_mibps: float, iops: int | None = None) -> int | None:
    """Throughput (MiB/s) to set: None below 400 GiB, else 500..4,000 and <= 0.25 x IOPS."""
    if not gp3_settable(allocated_gib):
        return None
    step = math.ceil(max(needed_mibps, 0) / GP3_THROUGHPUT_STEP) * GP3_THROUGHPUT_STEP
    cap = min(GP3_THROUGHPUT_MAX, int(GP3_THROUGHPUT_PER_IOPS_MAX * (iops or GP3_IOPS_MIN)))
    return int(min(cap, max(GP3_THROUGHPUT_MIN, step)))


def min_cache_replicas(multi_az: bool, policy_min: int = 0) -> int:
    """Multi-AZ needs >= 1 replica per shard."""
    return min(CACHE_MAX_REPLICAS, max(policy_min, 1 if multi_az else 0))  # what the stack (and its alarm) accepts


def cache_usable_gib(node_memory_gib: float) -> float:
    return node_memory_gib * (1 - CACHE_RESERVED_MEMORY)


def cache_types_compatible(current_data_tiering: bool, candidate_data_tiering: bool) -> bool:
    """r6gd (data tiering) and r6g cannot scale into each other."""
    return current_data_tiering == candidate_data_tiering


def shard_removal_ok(used_gib_total: float, shards_now: int, shards_new: int, usable_gib_per_node: float) -> bool:
    """Before removing shards the remaining ones need free memory >= 1.5 x the data moved
    (data spread evenly across today's shards)."""
    if shards_new >= shards_now:
        return True
    moved = used_gib_total * (shards_now - shards_new) / shards_now
    free = shards_new * (usable_gib_per_node - used_gib_total / shards_now)
    return free >= CACHE_SHARD_MOVE_FACTOR * moved


def lambda_memory(mb: float, step: int = 64) -> int:
    """Round up to `step` MB inside Lambda's 128..10,240 MB range."""
    return int(min(LAMBDA_MEMORY_MAX, max(LAMBDA_MEMORY_MIN, math.ceil(mb / step) * step)))


def provisioned_within_reserved(provisioned: int, reserved: int | None) -> int:
    """Provisioned concurrency must be <= reserved concurrency when one is set."""
    return provisioned if reserved is None else min(provisioned, reserved)


def nat_cross_az_share(gateways: int, az_count: int) -> float:
    """Share of traffic that crosses AZs to reach a NAT gateway (traffic spread evenly over AZs)."""
    return 0.0 if gateways >= az_count or az_count <= 0 else (az_count - gateways) / az_count
