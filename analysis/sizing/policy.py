"""What the sizing is asked to do: headroom policy per dimension, options, window, catalogs.

Compute Optimizer style: each dimension is sized to a percentile of its 5-minute demand plus a
headroom; on top of that a peak guard keeps every capacity at or above the observed p100 plus
`peak_headroom`, so a rare spike is never averaged away.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from analysis.model import Resource
from analysis.pricing.catalog import PriceCatalog
from analysis.sizing.specs import SpecCatalog
from stacks.naming import PRODUCTION_ENVIRONMENTS
from stacks.props import ComputeProps


@dataclass(frozen=True)
class DimensionPolicy:
    percentile: float = 99.0  # percentile of the 5-minute demand series sized for
    headroom: float = 0.20  # capacity >= percentile x (1 + headroom)
    peak_headroom: float | None = 0.10  # capacity >= p100 x (1 + peak_headroom); None = no peak guard

    def __post_init__(self) -> None:
        if not 0 < self.percentile <= 100:
            raise ValueError(f"percentile must be in (0, 100], got {self.percentile}")
        if self.headroom < 0 or (self.peak_headroom is not None and self.peak_headroom < 0):
            raise ValueError("headroom must be >= 0")


# Provisioned concurrency is a latency optimisation: demand above it spills to on-demand
# (a cold start, never an error), so it gets no peak guard; reserved concurrency, the hard cap,
# keeps the guard.
DEFAULT_OVERRIDES = {"provisioned_concurrency": DimensionPolicy(99.0, 0.20, None)}


@dataclass(frozen=True)
class Policy:
    default: DimensionPolicy = DimensionPolicy()
    dimensions: Mapping[str, DimensionPolicy] = field(default_factory=lambda: dict(DEFAULT_OVERRIDES))

    def of(self, dimension: str) -> DimensionPolicy:
        return self.dimensions.get(dimension, self.default)

    @staticmethod
    def uniform(percentile: float = 99.0, headroom: float = 0.20, peak_headroom: float | None = 0.10) -> Policy:
        d = DimensionPolicy(percentile, headroom, peak_headroom)
        return Policy(d, {**DEFAULT_OVERRIDES, "provisioned_concurrency": replace(d, peak_headroom=None)})


@dataclass(frozen=True)
class Options:
    allow_architecture_switch: bool = False  # ASG x86_64 <-> arm64 needs a new AMI
    allow_burstable: bool = False  # t3/t4g: CPU credits make p99 sizing unsafe
    asg_min_instances: int = 2  # one per AZ at least, for availability
    asg_max_factor: float = 2.0  # max_size = desired x this, room to scale out
    cache_min_replicas: int = 1  # a replica per shard keeps data on a node failure
    replica_idle_connections: float = 1.0  # replica with p99 connections <= this serves no reads
    lambda_memory_step_mb: int = 64  # proposed memory rounded up to this
    lambda_slow_fraction: float = 0.5  # keep memory when p99 duration > this x timeout
    nat_per_az_environments: tuple[str, ...] = PRODUCTION_ENVIRONMENTS  # keep one NAT per AZ there
    nat_max_cross_az_gb_month: float = 1000.0  # above this, consolidating NATs is not proposed
    ec2_metric_period: int = 300  # EC2 basic monitoring: NetworkIn/Out are bytes per 5 minutes
    db_pool_size: int = ComputeProps().compute_db_pool_size  # connections each app instance may open
    lambda_latency_budget: float = 0.10  # predicted p99 duration <= today's x (1 + this), from full speed

    def __post_init__(self) -> None:
        if self.lambda_latency_budget < 0:
            raise ValueError(f"lambda_latency_budget must be >= 0, got {self.lambda_latency_budget}")
        if self.db_pool_size < 1:
            raise ValueError(f"db_pool_size must be >= 1, got {self.db_pool_size}")


@dataclass(frozen=True)
class Window:
    start: int  # epoch seconds, UTC
    end: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise ValueError("window end must be after start")

    @property
    def seconds(self) -> int:
        return self.end - self.start

    @property
    def days(self) -> float:
        return self.seconds / 86400.0


@dataclass(frozen=True)
class SizingContext:
    window: Window
    specs: SpecCatalog
    prices: PriceCatalog
    policy: Policy = Policy()
    options: Options = Options()
    confidence_threshold: float = 0.1
    peers: Mapping[tuple[str, str], Resource] = field(default_factory=dict)  # (region, resource_id) -> resource

    @staticmethod
    def default(start: int, end: int, **kw) -> SizingContext:
        """Context with the committed catalogs; keyword arguments override any field."""
        return SizingContext(
            Window(start, end),
            kw.pop("specs", None) or SpecCatalog.load(),
            kw.pop("prices", None) or PriceCatalog.load(),
            **kw,
        )
