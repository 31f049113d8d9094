"""What a schedule saves, priced on the right-sized configuration (never on today's size).

Sizing saves `current - proposed`; the schedule then removes the off hours of what stops in
the *proposed* configuration, so the two add up without counting any hour twice. What stops:
the instances of an Auto Scaling group, an RDS instance's hours (its storage, IOPS and backups
are still billed), a function's provisioned concurrency (invocations only happen on-hours
anyway). ElastiCache and NAT gateways cannot be stopped: their off-hours cost goes on.

A Reserved Instance is paid whether the instance runs or not: below a break-even share of
hours on (reserved effective rate / on-demand rate) on-demand is cheaper, and a schedule makes
the reservation a bad buy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.kinds.asg.pricing import instance_hourly as ec2_hourly
from analysis.kinds.rds.pricing import instance_hourly as rds_hourly
from analysis.model import Recommendation
from analysis.pricing.catalog import HOURS_PER_MONTH, Price, PriceCatalog
from analysis.registry import get
from analysis.schedule.profile import HOURS_PER_WEEK

STOPPABLE = ("asg", "rds", "lambda")  # kinds whose running hours a schedule removes


@dataclass(frozen=True)
class ScheduleCost:
    """Monthly USD of one resource under a schedule; None where a price is missing."""

    saved: float | None = None  # on-demand cost of the off hours no longer paid
    continuing: float | None = None  # off-hours cost still paid (what cannot be stopped)
    reserved_note: str | None = None  # whether a reservation still pays with the schedule

    def __post_init__(self) -> None:
        for name in ("saved", "continuing"):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ValueError(f"{name} must be >= 0, got {v}")


def sized_config(rec: Recommendation) -> dict[str, Any]:
    """The configuration that will run: the proposed values of an emitted recommendation."""
    cfg = dict(rec.resource.config)
    if rec.status == "emitted":
        cfg.update({c.field: c.proposed for c in rec.changes})
    return cfg


def stoppable_hourly(kind: str, config: Mapping[str, Any], region: str, catalog: PriceCatalog) -> dict[str, Price]:
    """Hourly price per term of the part of a resource a schedule stops (empty: nothing stops)."""
    if kind == "asg":
        n = int(config.get("desired_capacity") or config.get("min_size") or 0)
        return {t: _times(p, n) for t, p in ec2_hourly(catalog, region, config["instance_type"]).items()}
    if kind == "rds":
        return rds_hourly(catalog, region, config, config["instance_class"])
    if kind == "lambda":
        gb = float(config["memory_size"]) / 1024
        pc = int(config.get("provisioned_concurrency") or 0)
        arch = str(config.get("architecture") or "x86_64")
        p = catalog.price("lambda", region, arch, "provisioned_concurrency", "provisioned_concurrency_gb_second")
        hourly = _times(p, pc * gb * 3600)
        return {t: hourly for t in ("on_demand", "reserved_1yr", "reserved_3yr")}  # no reservation product
    return {}


def _times(p: Price, factor: float) -> Price:
    return Price(p.name, None if p.value is None else p.value * factor, p.option, p.data_date, p.source, p.gap)


def schedule_cost(rec: Recommendation, off_hours: int, catalog: PriceCatalog) -> ScheduleCost:
    """Saved (stoppable kinds) or continuing (the rest) monthly cost of `off_hours` a week off."""
    r = rec.resource
    cfg = sized_config(rec)
    off_month = off_hours / HOURS_PER_WEEK * HOURS_PER_MONTH
    if r.kind not in STOPPABLE:
        monthly = get(r.kind).price(cfg, r.region, catalog).on_demand
        return ScheduleCost(continuing=None if monthly is None else monthly * off_hours / HOURS_PER_WEEK)
    hourly = stoppable_hourly(r.kind, cfg, r.region, catalog)
    od = hourly["on_demand"].value
    saved = None if od is None else od * off_month
    return ScheduleCost(saved=saved, reserved_note=reserved_note(r.kind, hourly, off_hours))


def reserved_note(kind: str, hourly: Mapping[str, Price], off_hours: int) -> str | None:
    """One line on reservations under the schedule (None for kinds without them)."""
    if kind == "lambda":
        return None
    od, ri = hourly["on_demand"].value, hourly["reserved_1yr"].value
    if not od or ri is None:
        return "no 1-yr reserved price to compare"
    on_share = 1 - off_hours / HOURS_PER_WEEK
    break_even = ri / od
    on_demand_month = od * on_share * HOURS_PER_MONTH
    reserved_month = ri * HOURS_PER_MONTH
    if on_share < break_even:
        return (
            f"on {on_share:.0%} of hours: on-demand ${on_demand_month:,.0f}/month beats a 1-yr reservation "
            f"${reserved_month:,.0f}/month (paid whether it runs or not; break-even {break_even:.0%}): "
            f"do not buy or renew one, and a reserved instance gains nothing from the schedule"
        )
    return (
        f"on {on_share:.0%} of hours: a 1-yr reservation (${reserved_month:,.0f}/month) still beats on-demand "
        f"(${on_demand_month:,.0f}/month; break-even {break_even:.0%}): if reserved, the schedule saves nothing"
    )
