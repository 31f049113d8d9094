"""The price catalog (analysis/data/prices.json) and monthly cost assembly.

A month is 730 hours. Reserved prices are effective hourly rates (recurring + upfront spread
over the term) of Standard RIs; for each term the first purchase option the data has is used,
in the order No Upfront, Partial Upfront, All Upfront (RDS sells 3-yr only Partial/All). A price
the data lacks is missing: the cost term becomes None and the price is named in `Cost.missing`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.model import Cost

HOURS_PER_MONTH = 730.0
SECONDS_PER_MONTH = HOURS_PER_MONTH * 3600.0
TERMS = ("on_demand", "reserved_1yr", "reserved_3yr")
PURCHASE_OPTIONS = {
    "on_demand": ("on_demand",),
    "reserved_1yr": ("ri_1yr_standard_no_upfront", "ri_1yr_standard_partial_upfront", "ri_1yr_standard_all_upfront"),
    "reserved_3yr": ("ri_3yr_standard_no_upfront", "ri_3yr_standard_partial_upfront", "ri_3yr_standard_all_upfront"),
}
DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "prices.json"


@dataclass(frozen=True)
class Price:
    """One unit price (USD) or a named gap."""

    name: str  # "rds_postgresql us-east-1 db.r6g.large multi_az on_demand"
    value: float | None
    option: str | None = None  # the purchase option / price term the value came from
    data_date: str | None = None
    source: str | None = None
    gap: str | None = None


class PriceCatalog:
    def __init__(self, doc: Mapping[str, Any]):
        self.doc = doc
        self.prices = doc["prices"]

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> PriceCatalog:
        return cls(json.loads(Path(path).read_text()))

    @property
    def as_of(self) -> str:
        return self.doc["as_of"]

    def price(self, service: str, region: str, type_: str, deployment: str, option: str) -> Price:
        name = f"{service} {region} {type_} {deployment} {option}"
        node: Any = self.prices
        for key in (service, region, type_, deployment, option):
            if not isinstance(node, Mapping) or key not in node:
                return Price(name, None, option, gap=f"no entry for {key!r}")
            node = node[key]
        return Price(name, node.get("value"), option, node.get("data_date"), node.get("source"), node.get("gap"))

    def term_price(self, service: str, region: str, type_: str, deployment: str, term: str) -> Price:
        """Hourly price of a cost term: on_demand, or the first reserved purchase option priced."""
        first = None
        for option in PURCHASE_OPTIONS[term]:
            p = self.price(service, region, type_, deployment, option)
            if p.value is not None:
                return p
            first = first or p
        return Price(f"{service} {region} {type_} {deployment} {term}", None, None, gap=first.gap if first else None)

    def hourly(self, service: str, region: str, type_: str, deployment: str) -> dict[str, Price]:
        return {t: self.term_price(service, region, type_, deployment, t) for t in TERMS}


class Bill:
    """A monthly cost assembled from parts; a missing price makes its term None (never guessed)."""

    def __init__(self) -> None:
        self._totals: dict[str, float | None] = {t: 0.0 for t in TERMS}
        self._missing: set[str] = set()
        self.lines: list[tuple[str, dict[str, float | None]]] = []

    def _add(self, label: str, by_term: Mapping[str, tuple[Price, float]]) -> Bill:
        line = {}
        for term, (price, quantity) in by_term.items():
            if quantity == 0:
                amount: float | None = 0.0  # nothing used: no price needed
            elif price.value is None:
                amount = None
                self._missing.add(price.name)
            else:
                amount = price.value * quantity
            line[term] = amount
            total = self._totals[term]
            self._totals[term] = None if total is None or amount is None else total + amount
        self.lines.append((label, line))
        return self

    def reservable(self, label: str, hourly: Mapping[str, Price], count: float) -> Bill:
        """`count` always-on units (instances, nodes) priced per term, 730 h a month."""
        return self._add(label, {t: (hourly[t], count * HOURS_PER_MONTH) for t in TERMS})

    def usage(self, label: str, price: Price, quantity: float) -> Bill:
        """Monthly usage with no reservation product (storage, GB-s, requests, GB processed):
        the same charge under every term."""
        return self._add(label, {t: (price, quantity) for t in TERMS})

    def cost(self) -> Cost:
        on_demand, reserved_1yr, reserved_3yr = (self._totals[t] for t in TERMS)
        return Cost(on_demand, reserved_1yr, reserved_3yr, missing=tuple(sorted(self._missing)))
