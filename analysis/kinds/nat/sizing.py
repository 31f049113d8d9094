"""Size a VPC's NAT gateways: one per AZ, or fewer, from bytes processed and connections.

Trade-off (spelled out in every reason): one gateway per AZ keeps each AZ's egress independent
of the others; fewer gateways save the hourly charge but an outage of a gateway's AZ cuts egress
for every AZ routed through it, and traffic from AZs without a gateway pays inter-AZ transfer.
Environments named in `nat_per_az_environments` always keep one per AZ.
"""

from __future__ import annotations

from collections.abc import Mapping

from analysis.enums import RolloutMethod
from analysis.kinds.nat.pricing import Usage, price
from analysis.model import MetricQuery, Recommendation, Resource, Series
from analysis.pricing.catalog import HOURS_PER_MONTH, SECONDS_PER_MONTH
from analysis.sizing import rules
from analysis.sizing.policy import SizingContext
from analysis.sizing.recommend import change, excluded, finish
from analysis.sizing.search import Candidate, cheapest
from analysis.sizing.stats import find, from_series


def size(resource: Resource, series: Mapping[MetricQuery, Series], ctx: SizingContext) -> Recommendation:
    cfg = resource.config
    pol = ctx.policy.of
    processed = find(series, "BytesInFromSource", "Sum") + find(series, "BytesInFromDestination", "Sum")
    period = processed[0].query.period if processed else 300
    bandwidth = from_series("bandwidth", "Gbps", processed, pol("bandwidth"), scale=8 / period / 1e9)
    connections = from_series(
        "connections", "connections", find(series, "ActiveConnectionCount", "Maximum"), pol("connections")
    )
    gb_month = (
        float(bandwidth.values.sum()) * period / 8 * SECONDS_PER_MONTH / max(bandwidth.n * period, period)
        if bandwidth.n
        else 0.0
    )
    usage = Usage(gb_month)
    cost_now = price(cfg, resource.region, ctx.prices, usage)
    if resource.excluded:
        return excluded(resource, cost_now)
    n_now, azs = int(cfg.get("nat_gateway_count") or 0), int(cfg.get("az_count") or 0)
    env = str(resource.tags.get("Environment", "")).lower()
    port_errors = sum(float(s.values.sum()) for s in find(series, "ErrorPortAllocation", "Sum"))
    floor, notes = 1, []
    if env in ctx.options.nat_per_az_environments:
        floor = azs
        notes.append(f"environment {env!r} keeps one gateway per AZ")
    if port_errors > 0:
        floor = max(floor, n_now)
        notes.append(f"{port_errors:.0f} port-allocation errors: gateways are not consolidated")
    cands = []
    for n in range(max(1, min(floor, azs or n_now)), max(azs, n_now) + 1):
        cross_gb = gb_month * rules.nat_cross_az_share(n, azs)
        if cross_gb > ctx.options.nat_max_cross_az_gb_month and n < n_now:
            continue
        hourly = ctx.prices.price("nat_gateway", resource.region, "nat_gateway", "standard", "hour").value
        cands.append(
            Candidate(
                f"{n} gateways",
                {"nat_gateway_count": n},
                {"bandwidth": n * rules.NAT_GBPS, "connections": n * rules.NAT_CONNECTIONS},
                None if hourly is None else hourly * HOURS_PER_MONTH * n,
                current=n == n_now,
            )
        )
    missing = [d.name for d in (bandwidth, connections) if d.n == 0]
    pick = None if missing else cheapest(cands, {"bandwidth": bandwidth.target, "connections": connections.target})
    n_new = pick.config["nat_gateway_count"] if pick else n_now
    if missing:
        notes.append(f"no data for {', '.join(missing)}: kept")
    cross = rules.nat_cross_az_share(n_new, azs)
    trade = (
        f"{n_new} gateway(s) for {azs} AZs: saves {n_now - n_new} gateway-hours charge(s); an outage of a "
        f"gateway's AZ then cuts internet egress for the AZs routed through it, and {cross:.0%} of the "
        f"{gb_month:,.0f} GB/month processed crosses AZs (inter-AZ transfer, not in the price snapshot)"
        if n_new < n_now
        else f"{n_new} gateway(s) for {azs} AZs: each AZ keeps its own egress path (an AZ outage affects only that AZ)"
    )
    reason = (
        f"NAT gateways {n_now} -> {n_new} (bytes processed p100 {bandwidth.p100 or 0:.3g} Gbps, "
        f"{gb_month:,.0f} GB/month; peak connections {connections.p100 or 0:.0f}); {trade}"
    )
    if notes:
        reason += "; " + "; ".join(notes)
    if n_new != n_now:
        reason += (
            "; rollout: replacement - Terraform destroys (or creates) gateways and repoints the private "
            "route tables, dropping in-flight connections of the affected AZs"
        )
    cap = lambda n: {"bandwidth": n * rules.NAT_GBPS, "connections": n * rules.NAT_CONNECTIONS}  # noqa: E731
    return finish(
        resource,
        ctx,
        changes=[change(resource, "nat_gateway_count", n_now, n_new)],
        demands=[bandwidth, connections],
        capacity_now=cap(n_now),
        capacity_new=cap(n_new),
        cost_current=cost_now,
        cost_proposed=price({**cfg, "nat_gateway_count": n_new}, resource.region, ctx.prices, usage),
        rollout=RolloutMethod.REPLACEMENT,
        reason=reason,
        evidence={"gb_processed_month": gb_month, "cross_az_share": cross, "port_allocation_errors": port_errors},
    )
