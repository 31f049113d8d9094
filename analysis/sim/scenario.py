"""The staging scenario: the simulated account's 45-day workload, an over-provisioned staging
environment.

Each resource gets a true-demand model (analysis/synthetic.py turns it into the CloudWatch
series its kind reads). The numbers describe what staging really uses: a fraction of today's
sizes, with daily and weekly cycles and bursts, idle outside working hours (a nightly batch in
us-west-2); real CloudWatch traces (Numenta NAB) shape the
database CPU in us-east-1 and the compute CPU in us-west-2; one Lambda function has only 10 days
of history. Lambda Insights publishes cpu_total_time for the I/O-bound and the CPU-bound
functions (not for sessions, which has no Lambda Insights), and the Auto Scaling groups follow
their target-tracking policy. Everything is seeded from the resource's name, so the snapshot is byte-identical
run after run.
"""

from __future__ import annotations

import functools
import zlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from analysis.model import Resource, Series
from analysis.schedule.workload import WorkingHours
from analysis.synthetic import DemandModel, generate, load_trace, regular

# The simulated window ends at a fixed instant: same inputs, same report.
SIM_END = int(datetime(2026, 11, 1, tzinfo=UTC).timestamp())
TRACES = Path(__file__).resolve().parent / "traces"
TRACE_FILES = {"rds_cpu": "rds_cpu_utilization_cc0c53.csv", "ec2_cpu": "ec2_cpu_utilization_24ae8d.csv"}

# Lambda: peak concurrency, mean duration (ms), max memory used (MB; None = no Lambda Insights),
# cpu_total_time per invocation (ms; None = not published). orders, catalog and ratelimit wait
# on the database or the cache (I/O-bound); reports computes (CPU-bound, single-threaded).
FUNCTIONS = {
    "orders": (18, 180.0, 410.0, 20.0),
    "catalog": (30, 90.0, 350.0, 8.0),
    "sessions": (12, 40.0, None, None),
    "ratelimit": (8, 15.0, 190.0, 2.0),
    "reports": (3, 2200.0, 900.0, 2050.0),
}
ASG_TARGET_CPU = 50.0  # the stack's target-tracking policy runs the group (its count follows the demand)
SHORT_HISTORY = ("us-west-2", "reports")  # (region, function) deployed 10 days ago

# Staging is used on working days only; in us-west-2 a nightly reporting batch (the `reports`
# function and the read replica it reads) runs 01:00-03:00 every day, so no schedule may cover it.
WORKING_HOURS = WorkingHours(timezone="UTC", open_hour=8, close_hour=19)
NIGHT_BATCH = replace(WORKING_HOURS, batch_hour=1, batch_hours=2, batch_level=0.6)
BATCH = {("us-west-2", "lambda", "reports"), ("us-west-2", "rds", "replica")}  # (region, kind, role)
USE_DIMS = {  # what someone's use drives, per kind (memory and data stay when nobody is there)
    "rds": ("cpu", "connections", "iops", "throughput"),
    "elasticache": ("engine_cpu", "network", "connections"),
    "asg": ("cpu", "network"),
    "lambda": ("concurrency",),
    "nat": ("bandwidth", "connections"),
}


def _used(resource: Resource, model: DemandModel) -> DemandModel:
    """The model, idle outside working hours (and the nightly batch where it runs)."""
    role = resource.tags.get("Role", resource.config.get("role", ""))
    hours = NIGHT_BATCH if (resource.region, resource.kind, role) in BATCH else WORKING_HOURS
    return replace(model, use=hours, use_dims=tuple(d for d in USE_DIMS[resource.kind] if d in model.peak))


@functools.cache
def _grid(name: str) -> np.ndarray:
    """A NAB trace on a 5-minute grid, gaps kept as NaN (parsed once; callers copy it)."""
    return regular(*load_trace(TRACES / TRACE_FILES[name]))


def _trace(name: str, points: int) -> np.ndarray:
    """A NAB trace repeated to cover the window."""
    grid = _grid(name)
    return np.tile(grid, points // len(grid) + 1)[-points:]


def model_for(resource: Resource, points: int) -> DemandModel:
    """True demand of one staging resource (units per analysis/kinds/<kind>/synthetic.py)."""
    return _used(resource, _busy(resource, points))


def _busy(resource: Resource, points: int) -> DemandModel:
    """Demand while staging is in use."""
    east = resource.region == "us-east-1"
    cfg = resource.config
    if resource.kind == "rds":
        if cfg.get("role") == "replica":
            # the us-east-1 replica serves no reads at all; us-west-2's serves a reporting job
            conns = 0.0 if east else 40.0
            return DemandModel(
                {"cpu": 0.3 if east else 0.9, "memory": 6.0, "connections": conns, "iops": 400.0, "throughput": 15.0},
                shape="weekly",
            )
        traces = {"cpu": _trace("rds_cpu", points)} if east else {}
        return DemandModel(
            {"cpu": 1.6, "memory": 13.0, "connections": 180.0, "iops": 2800.0, "throughput": 60.0},
            shape="weekly",
            traces=traces,
        )
    if resource.kind == "elasticache":
        return DemandModel(
            {"memory": 24.0 if east else 16.0, "engine_cpu": 48.0, "network": 0.4, "connections": 300.0},
            shape="diurnal",
            shapes={"memory": "steady"},
        )
    if resource.kind == "asg":
        traces = {} if east else {"cpu": _trace("ec2_cpu", points)}
        return DemandModel(
            {"cpu": 14.0, "network": 1.2}, shape="weekly", traces=traces, params={"target_cpu": ASG_TARGET_CPU}
        )
    if resource.kind == "lambda":
        short = resource.tags.get("Role", resource.resource_id.rsplit("-", 1)[-1])
        peak, duration, memory, cpu = FUNCTIONS.get(short, (5, 100.0, None, None))
        dims = {"concurrency": float(peak)}
        if memory is not None:
            dims["memory"] = memory
        history = 10.0 if (resource.region, short) == SHORT_HISTORY else None
        return DemandModel(
            dims,
            shape="spikes" if short == "reports" else "diurnal",
            params={"duration_ms": duration, **({"cpu_ms": cpu} if cpu is not None else {})},
            history_days=history,
        )
    if resource.kind == "nat":
        # us-east-1 egress is light enough to share gateways; us-west-2 pulls enough cross-AZ
        # traffic that one gateway per AZ stays cheaper and safer
        return DemandModel(
            {"bandwidth": 0.002 if east else 0.05, "connections": 2000.0}, shape="diurnal", gap_fraction=0.01
        )
    raise ValueError(f"no simulated workload for kind {resource.kind!r}")


def seed_of(resource: Resource) -> int:
    return zlib.crc32(f"{resource.region}/{resource.kind}/{resource.resource_id}".encode())


def series(resources: Iterable[Resource], days: int, end: int = SIM_END) -> list[Series]:
    """Every metric series of every resource over [end - days, end)."""
    start = end - days * 86400
    points = days * 86400 // 300
    out: list[Series] = []
    for r in sorted(resources, key=lambda r: (r.region, r.kind, r.resource_id)):
        out += generate(r, model_for(r, points), start, end, seed=seed_of(r)).values()
    return out
