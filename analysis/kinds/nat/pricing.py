"""Monthly cost of a VPC's NAT gateways: gateway hours, GB processed, and inter-AZ transfer for
the traffic of AZs without their own gateway (a price the snapshot lacks: shown as missing).
NAT has no reserved pricing: the RI columns equal on-demand."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from analysis.model import Cost
from analysis.pricing.catalog import Bill, PriceCatalog
from analysis.sizing import rules


@dataclass(frozen=True)
class Usage:
    gb_processed: float  # GB per month through all gateways


def price(config: Mapping[str, Any], region: str, catalog: PriceCatalog, usage: Usage | None = None) -> Cost:
    n, azs = int(config.get("nat_gateway_count") or 0), int(config.get("az_count") or 0)
    p = lambda term: catalog.price("nat_gateway", region, "nat_gateway", "standard", term)  # noqa: E731
    bill = Bill().reservable(
        f"{n} NAT gateways", {t: p("hour") for t in ("on_demand", "reserved_1yr", "reserved_3yr")}, n
    )
    gb = usage.gb_processed if usage else 0.0
    bill.usage("GB processed", p("gb_processed"), gb)
    bill.usage(
        "inter-AZ transfer",
        catalog.price("data_transfer", region, "inter_az", "standard", "gb"),
        gb * rules.nat_cross_az_share(n, azs),
    )
    return bill.cost()
