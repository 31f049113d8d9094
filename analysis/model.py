"""Value types shared by inventory, collection, sizing, pricing and reporting.

Every stage passes these frozen dataclasses; nothing here talks to AWS.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from analysis.enums import Risk, RolloutMethod, Status


@dataclass(frozen=True)
class MetricQuery:
    """One CloudWatch series: what GetMetricData calls a MetricStat."""

    namespace: str
    metric_name: str
    dimensions: tuple[tuple[str, str], ...]  # sorted by name
    stat: str  # "Average", "Maximum", "Sum", "p99", ...
    period: int = 300

    @property
    def dimensions_json(self) -> str:
        return json.dumps(dict(self.dimensions), sort_keys=True, separators=(",", ":"))

    @staticmethod
    def of(
        namespace: str, metric_name: str, dimensions: Mapping[str, str], stat: str, period: int = 300
    ) -> MetricQuery:
        return MetricQuery(namespace, metric_name, tuple(sorted(dimensions.items())), stat, period)


@dataclass(frozen=True, eq=False)
class Series:
    """Datapoints of one query in one region, sorted by time (epoch seconds, UTC)."""

    region: str
    query: MetricQuery
    timestamps: np.ndarray  # int64 epoch seconds
    values: np.ndarray  # float64
    account: str = ""  # AWS account id; "" = the one account of a single-account run


class MetricsSource(Protocol):
    """Where metrics come from: CloudWatch or a Parquet snapshot."""

    def fetch(self, region: str, queries: Sequence[MetricQuery], start: int, end: int) -> dict[MetricQuery, Series]:
        """Series for each query between epoch seconds start and end (missing series are empty)."""
        ...


@dataclass(frozen=True, eq=False)
class Resource:
    """A live resource the analysis can size (see docs/architecture.md for config fields)."""

    kind: str  # "rds", "elasticache", "asg", "lambda", "nat"
    region: str
    resource_id: str
    arn: str | None
    tags: Mapping[str, str]
    config: Mapping[str, Any]
    stack: str | None = None  # "<tier>-<region>" when this project's Terraform manages it
    tfvars_keys: Mapping[str, str] = field(default_factory=dict)  # config field -> key address
    excluded: str | None = None  # reason it must never be changed (CriticalPath=true)
    account: str = ""  # AWS account id; "" = the one account of a single-account run

    @property
    def managed(self) -> bool:
        return self.stack is not None

    @property
    def role(self) -> str | None:
        return self.tags.get("Role")


@dataclass(frozen=True)
class Cost:
    """Monthly USD of one configuration; None where a price is missing (never guessed)."""

    on_demand: float | None
    reserved_1yr: float | None
    reserved_3yr: float | None
    missing: tuple[str, ...] = ()  # human-readable names of the prices that were missing
    known_on_demand: float | None = None  # on-demand sum of the priced parts (on_demand itself when complete)
    priced_parts: tuple[str, ...] = ()  # bill lines priced, e.g. "1 NAT gateways", "GB processed"
    missing_parts: tuple[str, ...] = ()  # bill lines with a missing price, e.g. "inter-AZ transfer"


@dataclass(frozen=True)
class Change:
    field: str  # config field, e.g. "instance_class"
    current: Any
    proposed: Any
    tfvars_key: str | None  # key address, None for unmanaged resources


@dataclass(frozen=True, eq=False)
class Recommendation:
    resource: Resource
    changes: tuple[Change, ...]
    confidence: float  # [0, 1], see README "Confidence"
    status: Status
    reason: str
    risk: Risk
    evidence: Mapping[str, Any]  # per dimension: observed percentile, p100, capacity now and proposed
    cost_current: Cost
    cost_proposed: Cost
    rollout: RolloutMethod
    # dimension -> (epoch seconds, demand) in the units of evidence["dimensions"][dim]: for charts, never serialized
    demand: Mapping[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    # dimension -> (epoch seconds, utilisation today, utilisation replayed on the proposed size): charts only
    utilisation: Mapping[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)
