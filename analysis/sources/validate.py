"""Metric validation: a series that cannot be a real CloudWatch measurement never reaches sizing.

Every series is checked as it is read (snapshot or CloudWatch): values must be finite and within
the metric's physical range (declared below per (namespace, metric)); timestamps must not be in
the future nor outside the window the data claims to cover. A rejected series quarantines its
resource: it is reported with the reason and never sized.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from analysis.model import Series


class Unit(StrEnum):
    """What a metric measures, which fixes its physical range."""

    PERCENT = "percent"
    RATIO = "ratio"
    COUNT = "count"
    BYTES = "bytes"
    BYTES_PER_SECOND = "bytes/s"
    MILLISECONDS = "ms"
    SECONDS = "s"
    MEGABYTES = "MB"


# Inclusive [low, high]. The upper bounds are "absurd" rather than tight: far above anything one
# resource can report in a period (1 PB of bytes, a trillion events, a day of latency), so only
# corrupt data trips them, never a busy account.
RANGES: Mapping[Unit, tuple[float, float]] = {
    Unit.PERCENT: (0.0, 100.0),
    Unit.RATIO: (0.0, 1.0),
    Unit.COUNT: (0.0, 1e12),
    Unit.BYTES: (0.0, 1e15),
    Unit.BYTES_PER_SECOND: (0.0, 1e13),
    Unit.MILLISECONDS: (0.0, 86_400_000.0),
    Unit.SECONDS: (0.0, 1e8),
    Unit.MEGABYTES: (0.0, 1e7),
}
DEFAULT_UNIT = Unit.COUNT  # every metric the kinds read is a non-negative quantity

METRIC_UNITS: Mapping[tuple[str, str], Unit] = {
    ("AWS/RDS", "CPUUtilization"): Unit.PERCENT,
    ("AWS/RDS", "FreeableMemory"): Unit.BYTES,
    ("AWS/RDS", "DatabaseConnections"): Unit.COUNT,
    ("AWS/RDS", "ReadIOPS"): Unit.COUNT,
    ("AWS/RDS", "WriteIOPS"): Unit.COUNT,
    ("AWS/RDS", "ReadThroughput"): Unit.BYTES_PER_SECOND,
    ("AWS/RDS", "WriteThroughput"): Unit.BYTES_PER_SECOND,
    ("AWS/RDS", "EBSIOBalance%"): Unit.PERCENT,
    ("AWS/RDS", "EBSByteBalance%"): Unit.PERCENT,
    ("AWS/RDS", "ReplicaLag"): Unit.SECONDS,
    ("AWS/ElastiCache", "EngineCPUUtilization"): Unit.PERCENT,
    ("AWS/ElastiCache", "CPUUtilization"): Unit.PERCENT,
    ("AWS/ElastiCache", "DatabaseMemoryUsagePercentage"): Unit.PERCENT,
    ("AWS/ElastiCache", "BytesUsedForCache"): Unit.BYTES,
    ("AWS/ElastiCache", "CurrConnections"): Unit.COUNT,
    ("AWS/ElastiCache", "NewConnections"): Unit.COUNT,
    ("AWS/ElastiCache", "NetworkBytesIn"): Unit.BYTES,
    ("AWS/ElastiCache", "NetworkBytesOut"): Unit.BYTES,
    ("AWS/ElastiCache", "Evictions"): Unit.COUNT,
    ("AWS/ElastiCache", "ReplicationLag"): Unit.SECONDS,
    ("AWS/EC2", "CPUUtilization"): Unit.PERCENT,
    ("AWS/EC2", "NetworkIn"): Unit.BYTES,
    ("AWS/EC2", "NetworkOut"): Unit.BYTES,
    ("AWS/AutoScaling", "GroupInServiceInstances"): Unit.COUNT,
    ("CWAgent", "mem_used_percent"): Unit.PERCENT,
    ("AWS/NetworkELB", "ActiveFlowCount"): Unit.COUNT,
    ("AWS/NetworkELB", "NewFlowCount"): Unit.COUNT,
    ("AWS/NetworkELB", "ProcessedBytes"): Unit.BYTES,
    ("AWS/NetworkELB", "TCP_Target_Reset_Count"): Unit.COUNT,
    ("AWS/NetworkELB", "TCP_ELB_Reset_Count"): Unit.COUNT,
    ("AWS/Lambda", "Invocations"): Unit.COUNT,
    ("AWS/Lambda", "Errors"): Unit.COUNT,
    ("AWS/Lambda", "Throttles"): Unit.COUNT,
    ("AWS/Lambda", "Duration"): Unit.MILLISECONDS,
    ("AWS/Lambda", "ConcurrentExecutions"): Unit.COUNT,
    ("AWS/Lambda", "ProvisionedConcurrencyUtilization"): Unit.RATIO,
    ("AWS/Lambda", "ProvisionedConcurrentExecutions"): Unit.COUNT,
    ("AWS/Lambda", "ProvisionedConcurrencySpilloverInvocations"): Unit.COUNT,
    ("LambdaInsights", "used_memory_max"): Unit.MEGABYTES,
    ("AWS/NATGateway", "BytesOutToDestination"): Unit.BYTES,
    ("AWS/NATGateway", "BytesInFromDestination"): Unit.BYTES,
    ("AWS/NATGateway", "BytesInFromSource"): Unit.BYTES,
    ("AWS/NATGateway", "BytesOutToSource"): Unit.BYTES,
    ("AWS/NATGateway", "ActiveConnectionCount"): Unit.COUNT,
    ("AWS/NATGateway", "ErrorPortAllocation"): Unit.COUNT,
    ("AWS/NATGateway", "PacketsDropCount"): Unit.COUNT,
    ("AWS/NATGateway", "ConnectionAttemptCount"): Unit.COUNT,
}


class Reason(StrEnum):
    """Why a series was rejected (the order is the order the checks run in)."""

    NON_FINITE = "non-finite value"
    BELOW_RANGE = "value below the physical range"
    ABOVE_RANGE = "value above the physical range"
    FUTURE = "timestamp in the future"
    OUTSIDE_WINDOW = "timestamp outside the window"


@dataclass(frozen=True)
class Rejection:
    """One quarantined series and the first check it failed."""

    region: str
    namespace: str
    metric_name: str
    dimensions: str  # JSON, as in the snapshot
    stat: str
    reason: Reason
    detail: str  # the offending value or time and how many datapoints share the fault

    def __post_init__(self) -> None:
        if not isinstance(self.reason, Reason):
            raise TypeError(f"reason must be a Reason, got {self.reason!r}")

    def line(self) -> str:
        return (
            f"{self.region} {self.namespace} {self.metric_name} {self.dimensions} {self.stat}: "
            f"{self.reason} ({self.detail})"
        )


def unit_of(namespace: str, metric_name: str) -> Unit:
    return METRIC_UNITS.get((namespace, metric_name), DEFAULT_UNIT)


def _utc(epoch: int) -> str:
    from datetime import UTC, datetime

    if not -62_135_596_800 <= epoch <= 253_402_300_799:  # outside years 1..9999
        return f"epoch {epoch}"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check(series: Series, *, now: int, window: tuple[int, int] | None = None, tolerance: int = 0) -> Rejection | None:
    """The first fault of a series, or None when it can be sized.

    `now` is the clock (epoch seconds): no datapoint may start after it. `window` is the
    [start, end) the data claims to cover (a snapshot's declared window, a CloudWatch request);
    `tolerance` widens it by that many seconds (a datapoint is stamped at its period's start).
    """
    q = series.query
    values = np.asarray(series.values, dtype=np.float64)
    ts = np.asarray(series.timestamps, dtype=np.int64)

    def reject(reason: Reason, mask: np.ndarray, shown: str) -> Rejection:
        n = int(np.count_nonzero(mask))
        detail = f"{shown}; {n} of {len(mask)} datapoints"
        return Rejection(series.region, q.namespace, q.metric_name, q.dimensions_json, q.stat, reason, detail)

    if len(values) == 0:
        return None
    bad = ~np.isfinite(values)
    if bad.any():
        return reject(Reason.NON_FINITE, bad, f"{values[bad][0]!r}")
    unit = unit_of(q.namespace, q.metric_name)
    low, high = RANGES[unit]
    bad = values < low
    if bad.any():
        return reject(Reason.BELOW_RANGE, bad, f"{float(values[bad].min())!r} < {low:g} {unit}")
    bad = values > high
    if bad.any():
        return reject(Reason.ABOVE_RANGE, bad, f"{float(values[bad].max())!r} > {high:g} {unit}")
    bad = ts > now
    if bad.any():
        return reject(Reason.FUTURE, bad, f"{_utc(int(ts[bad].max()))} after now {_utc(now)}")
    if window is not None:
        start, end = window
        bad = (ts < start - tolerance) | (ts >= end + tolerance)
        if bad.any():
            first = int(ts[bad][0])
            return reject(Reason.OUTSIDE_WINDOW, bad, f"{_utc(first)} not in [{_utc(start)}, {_utc(end)})")
    return None


def summary(rejections: list[Rejection]) -> str:
    """'3 series rejected: 2 non-finite value, 1 timestamp in the future' (deterministic)."""
    counts: dict[str, int] = {}
    for r in rejections:
        counts[r.reason] = counts.get(r.reason, 0) + 1
    parts = ", ".join(f"{n} {reason}" for reason, n in sorted(counts.items()))
    return f"{len(rejections)} series rejected: {parts}"
