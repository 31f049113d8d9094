"""CloudWatch series that size a VPC's NAT gateways (AWS/NATGateway, per NatGatewayId)."""

from analysis.model import MetricQuery, Resource

METRICS = {
    "BytesOutToDestination": ("Sum",),
    "BytesInFromDestination": ("Sum",),
    "BytesInFromSource": ("Sum",),
    "BytesOutToSource": ("Sum",),
    "ActiveConnectionCount": ("Maximum",),
    "ErrorPortAllocation": ("Sum",),
    "PacketsDropCount": ("Sum",),
}


def queries(resource: Resource, period: int = 300) -> list[MetricQuery]:
    return [
        MetricQuery.of("AWS/NATGateway", name, {"NatGatewayId": nat}, stat, period)
        for nat in resource.config.get("nat_gateway_ids", ())
        for name, stats in METRICS.items()
        for stat in stats
    ]
