"""Monthly cost of an Auto Scaling group (Linux, shared tenancy), on-demand or Standard RI: the
instances it runs. `usage` is the mean number of instances in service over the window (today:
GroupInServiceInstances; a proposal: its replayed count), so an elastic group is priced on the
instance-hours it ran, never on whatever desired capacity happened to be; without it, the
configured desired capacity runs around the clock."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.model import Cost
from analysis.pricing.catalog import Bill, PriceCatalog


def instance_hourly(catalog: PriceCatalog, region: str, instance_type: str):
    return catalog.hourly("ec2", region, instance_type, "linux_shared")


def price(config: Mapping[str, Any], region: str, catalog: PriceCatalog, usage: float | None = None) -> Cost:
    n = float(usage) if usage is not None else int(config.get("desired_capacity") or config.get("min_size") or 0)
    return (
        Bill()
        .reservable(f"{n:g} x {config['instance_type']}", instance_hourly(catalog, region, config["instance_type"]), n)
        .cost()
    )
