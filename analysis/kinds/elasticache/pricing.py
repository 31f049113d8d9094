"""Monthly cost of an ElastiCache replication group: every node (shards x (1 + replicas)) at the
node type's hourly price for the engine (Redis OSS or Valkey), on-demand or reserved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from analysis.model import Cost
from analysis.pricing.catalog import Bill, PriceCatalog


def node_count(config: Mapping[str, Any]) -> int:
    return int(config.get("num_shards") or 1) * (1 + int(config.get("replicas_per_shard") or 0))


def node_hourly(catalog: PriceCatalog, region: str, config: Mapping[str, Any], node_type: str):
    return catalog.hourly("elasticache", region, node_type, str(config.get("engine") or "redis").lower())


def price(config: Mapping[str, Any], region: str, catalog: PriceCatalog, usage: Any = None) -> Cost:
    return (
        Bill()
        .reservable(
            f"{node_count(config)} x {config['node_type']}",
            node_hourly(catalog, region, config, config["node_type"]),
            node_count(config),
        )
        .cost()
    )
