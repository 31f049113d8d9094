"""Monthly cost of an Auto Scaling group: desired_capacity instances (Linux, shared tenancy),
on-demand or Standard RI."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.model import Cost
from analysis.pricing.catalog import Bill, PriceCatalog


def instance_hourly(catalog: PriceCatalog, region: str, instance_type: str):
    return catalog.hourly("ec2", region, instance_type, "linux_shared")


def price(config: Mapping[str, Any], region: str, catalog: PriceCatalog, usage: Any = None) -> Cost:
    n = int(config.get("desired_capacity") or config.get("min_size") or 0)
    return (
        Bill()
        .reservable(f"{n} x {config['instance_type']}", instance_hourly(catalog, region, config["instance_type"]), n)
        .cost()
    )
