"""Weekly profiles: each resource's demand that matters, by hour of the week, week by week.

The demand that matters is what says someone uses the resource (not what it costs to keep
it up): requests through the NLB for an Auto Scaling group (its CPU when it has no NLB),
invocations for a function, connections for a database, a cache or a NAT gateway. A value at
or below the kind's idle floor is no use (health checks, monitoring agents, a keep-warm ping).

A profile is a (weeks x 168) matrix of the hour's largest 5-minute value, hour 0 = Monday
00:00 in the schedule's time zone, week 0 = the local week holding the window's start; NaN
where the hour has no datapoint (or lies outside the window).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from analysis.model import MetricQuery, Resource, Series
from analysis.registry import get
from analysis.sizing.stats import combine, find

HOURS_PER_WEEK = 168


@dataclass(frozen=True)
class Signal:
    """One CloudWatch metric that shows use, summed over the resource's series of it."""

    metric: str  # no default: CloudWatch metric name
    stat: str  # no default: the statistic the kind's queries fetch
    unit: str  # no default: what the values count, for the report
    floor: float = 0.0  # values <= floor are idle

    def __post_init__(self) -> None:
        if self.floor < 0:
            raise ValueError(f"idle floor of {self.metric} must be >= 0, got {self.floor}")


# kind -> signals in order of preference: the first one with data is used.
DEFAULT_SIGNALS: Mapping[str, tuple[Signal, ...]] = {
    "asg": (
        Signal("NewFlowCount", "Sum", "new flows / 5 min", 5.0),  # load balancer health checks are not flows
        Signal("CPUUtilization", "Average", "% CPU", 5.0),  # no NLB: an idle instance idles below 5%
    ),
    "lambda": (Signal("Invocations", "Sum", "invocations / 5 min", 1.0),),  # one keep-warm ping is idle
    "rds": (Signal("DatabaseConnections", "Maximum", "connections", 2.0),),  # monitoring and admin sessions
    "elasticache": (Signal("CurrConnections", "Maximum", "connections", 5.0),),  # summed over every node
    "nat": (Signal("ActiveConnectionCount", "Maximum", "connections", 10.0),),  # OS and agent chatter
}


@dataclass(frozen=True)
class Signals:
    by_kind: Mapping[str, tuple[Signal, ...]] = field(default_factory=lambda: dict(DEFAULT_SIGNALS))

    def __post_init__(self) -> None:
        empty = sorted(k for k, v in self.by_kind.items() if not v)
        if empty:
            raise ValueError(f"no use signal for kind(s) {', '.join(empty)}")

    def queries(self, resource: Resource) -> list[MetricQuery]:
        """The kind's metric queries that carry one of its signals (what to fetch)."""
        wanted = {(s.metric, s.stat) for s in self.by_kind.get(resource.kind, ())}
        return [q for q in get(resource.kind).queries(resource) if (q.metric_name, q.stat) in wanted]

    def series(
        self, resource: Resource, fetched: Mapping[MetricQuery, Series]
    ) -> tuple[Signal, np.ndarray, np.ndarray] | None:
        """(signal, epoch seconds, values) of the first signal with data, summed over its series."""
        for signal in self.by_kind.get(resource.kind, ()):
            parts = find(fetched, signal.metric, signal.stat)
            if parts:
                ts, values = combine(parts)
                return signal, ts, values
        return None


@dataclass(frozen=True, eq=False)
class WeeklyProfile:
    """One resource's use by (week, hour of week)."""

    peak: np.ndarray  # no default: (weeks, 168) largest value in the hour, NaN = no datapoint
    floor: float = 0.0  # values <= floor are idle
    unit: str = ""  # of `peak`, for the report
    week0: str = ""  # local date (YYYY-MM-DD) of week 0's Monday

    def __post_init__(self) -> None:
        if self.peak.ndim != 2 or self.peak.shape[1] != HOURS_PER_WEEK:
            raise ValueError(f"a weekly profile is (weeks, {HOURS_PER_WEEK}), got {self.peak.shape}")

    @property
    def observed(self) -> np.ndarray:
        return ~np.isnan(self.peak)

    @property
    def active(self) -> np.ndarray:
        """(weeks, 168) bool: the hour saw use above the idle floor."""
        return np.nan_to_num(self.peak, nan=-np.inf) > self.floor


def week_origin(start: int, timezone: str) -> datetime:
    """Local midnight of the Monday of the week holding `start`."""
    local = datetime.fromtimestamp(start, ZoneInfo(timezone))
    return (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)


def hour_slots(timestamps: np.ndarray, start: int, timezone: str) -> tuple[np.ndarray, np.ndarray]:
    """(week index, hour of week) of each timestamp, in local time (daylight saving followed)."""
    tz = ZoneInfo(timezone)
    origin = week_origin(start, timezone).date()
    hours = np.asarray(timestamps, np.int64) // 3600
    unique, inverse = np.unique(hours, return_inverse=True)
    week = np.empty(len(unique), np.int64)
    slot = np.empty(len(unique), np.int64)
    for i, h in enumerate(unique.tolist()):  # per distinct hour, not per datapoint
        t = datetime.fromtimestamp(h * 3600, tz)
        week[i] = (t.date() - origin).days // 7
        slot[i] = t.weekday() * 24 + t.hour
    return week[inverse], slot[inverse]


def weekly_profile(
    timestamps: np.ndarray,
    values: np.ndarray,
    start: int,
    end: int,
    timezone: str = "UTC",
    floor: float = 0.0,
    unit: str = "",
) -> WeeklyProfile:
    """The profile of one series over the window [start, end)."""
    weeks = int(hour_slots(np.array([end - 1]), start, timezone)[0][0]) + 1
    peak = np.full((weeks, HOURS_PER_WEEK), np.nan)
    ts = np.asarray(timestamps, np.int64)
    vs = np.asarray(values, float)
    keep = (ts >= start) & (ts < end) & ~np.isnan(vs)
    if keep.any():
        week, slot = hour_slots(ts[keep], start, timezone)
        np.fmax.at(peak, (week, slot), vs[keep])
    origin = week_origin(start, timezone).strftime("%Y-%m-%d")
    return WeeklyProfile(peak, floor, unit, origin)
