"""Monthly cost of an RDS instance: instance hours (Single-/Multi-AZ, on-demand or RI) plus gp3
storage, IOPS and throughput above the included baseline (storage has no reservation)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.model import Cost
from analysis.pricing.catalog import Bill, PriceCatalog
from analysis.sizing import rules

ENGINE_SERVICE = {"postgres": "rds_postgresql", "postgresql": "rds_postgresql"}


def deployment(config: Mapping[str, Any]) -> str:
    return "multi_az" if config.get("multi_az") else "single_az"


def instance_hourly(catalog: PriceCatalog, region: str, config: Mapping[str, Any], instance_class: str):
    service = ENGINE_SERVICE.get(str(config.get("engine", "postgres")).lower(), f"rds_{config.get('engine')}")
    return catalog.hourly(service, region, instance_class, deployment(config))


def price(config: Mapping[str, Any], region: str, catalog: PriceCatalog, usage: Any = None) -> Cost:
    dep = deployment(config)
    storage_type = str(config.get("storage_type") or "gp3")
    gib = float(config.get("allocated_storage") or 0)
    bill = Bill().reservable(
        f"instance {config['instance_class']}", instance_hourly(catalog, region, config, config["instance_class"]), 1
    )
    bill.usage("storage", catalog.price("rds_storage", region, storage_type, dep, "storage_gb_month"), gib)
    base_iops, base_mibps = rules.gp3_baseline(gib)
    extra_iops = max(0.0, float(config.get("iops") or 0) - base_iops)
    extra_mibps = max(0.0, float(config.get("storage_throughput") or 0) - base_mibps)
    bill.usage("iops", catalog.price("rds_storage", region, storage_type, dep, "iops_month_above_baseline"), extra_iops)
    bill.usage(
        "throughput",
        catalog.price("rds_storage", region, storage_type, dep, "throughput_mibps_month_above_baseline"),
        extra_mibps,
    )
    return bill.cost()
