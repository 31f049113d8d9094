"""Monthly cost of a Lambda function: requests, GB-seconds of duration (on-demand, or the
cheaper rate for executions served by provisioned concurrency) and provisioned concurrency
itself (configured GB-seconds, always on). Lambda has no reserved pricing: the RI columns
equal on-demand.

Usage (requests, execution seconds) comes from the metrics (`Usage.from_series`); at another
memory size the execution seconds follow the predicted duration (`Usage.scaled`, the model in
analysis/kinds/lambda_/duration.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from analysis.model import Cost, MetricQuery, Series
from analysis.pricing.catalog import SECONDS_PER_MONTH, Bill, Price, PriceCatalog
from analysis.sizing.stats import aligned, find


@dataclass(frozen=True, eq=False)
class Usage:
    """Measured load scaled to a 730-hour month."""

    requests: float  # invocations per month
    exec_seconds: np.ndarray  # execution seconds in each observed period
    period: int  # seconds per sample
    month_factor: float  # month seconds / observed seconds

    @staticmethod
    def from_series(series: Mapping[MetricQuery, Series]) -> Usage | None:
        inv = find(series, "Invocations", "Sum")
        dur = find(series, "Duration", "Average")
        if not inv or not dur:
            return None  # usage cannot be priced without both
        ts, m = aligned(inv[:1] + dur[:1])
        invocations = np.nan_to_num(m[0])
        duration_s = np.nan_to_num(m[1]) / 1000
        period = inv[0].query.period
        observed = max(len(ts) * period, period)
        return Usage(
            float(invocations.sum()) * SECONDS_PER_MONTH / observed,
            invocations * duration_s,
            period,
            SECONDS_PER_MONTH / observed,
        )

    def scaled(self, ratio: float) -> Usage:
        """The same requests with every execution `ratio` times as long."""
        return Usage(self.requests, self.exec_seconds * ratio, self.period, self.month_factor)

    @property
    def seconds_per_month(self) -> float:
        return float(self.exec_seconds.sum()) * self.month_factor

    def split(self, provisioned: int) -> tuple[float, float]:
        """(on-demand, provisioned) execution seconds per month for a provisioned concurrency level:
        each period's mean concurrency is served by provisioned instances up to the level."""
        concurrency = self.exec_seconds / self.period
        under_pc = np.minimum(concurrency, provisioned) * self.period
        return (
            float((self.exec_seconds - under_pc).sum()) * self.month_factor,
            float(under_pc.sum()) * self.month_factor,
        )


def price(config: Mapping[str, Any], region: str, catalog: PriceCatalog, usage: Usage | None = None) -> Cost:
    arch = str(config.get("architecture") or "x86_64")
    gb = float(config["memory_size"]) / 1024
    pc = int(config.get("provisioned_concurrency") or 0)
    p = lambda dep, term: catalog.price("lambda", region, arch, dep, term)  # noqa: E731
    bill = Bill().usage(
        "provisioned concurrency",
        p("provisioned_concurrency", "provisioned_concurrency_gb_second"),
        pc * gb * SECONDS_PER_MONTH,
    )
    if usage is None:
        gap = Price(f"lambda {region} {arch} usage", None, gap="no Invocations/Duration metrics to price usage")
        return bill.usage("requests and duration", gap, 1).cost()
    on_demand_s, provisioned_s = usage.split(pc)
    bill.usage("requests", p("on_demand", "request"), usage.requests)
    bill.usage("duration", p("on_demand", "duration_gb_second"), on_demand_s * gb)
    bill.usage(
        "duration under provisioned concurrency", p("provisioned_concurrency", "duration_gb_second"), provisioned_s * gb
    )
    return bill.cost()
