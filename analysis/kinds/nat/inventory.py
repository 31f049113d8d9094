"""Discover NAT gateways, one resource per VPC (sizing decides how many a VPC needs)."""

from collections import defaultdict

from analysis.inventory import tag_dict
from analysis.model import Resource
from analysis.sources.aws import RegionClients

LIVE_STATES = ["pending", "available"]


def common_tags(tag_sets: list[dict[str, str]]) -> dict[str, str]:
    """Tags every NAT gateway of a VPC agrees on."""
    if not tag_sets:
        return {}
    first, *rest = tag_sets
    return {k: v for k, v in first.items() if all(t.get(k) == v for t in rest)}


def discover(clients: RegionClients) -> list[Resource]:
    ec2 = clients.client("ec2")
    by_vpc: dict[str, list[dict]] = defaultdict(list)
    for page in ec2.get_paginator("describe_nat_gateways").paginate(Filters=[{"Name": "state", "Values": LIVE_STATES}]):
        for nat in page["NatGateways"]:
            by_vpc[nat["VpcId"]].append(nat)
    if not by_vpc:
        return []
    vpcs = {v["VpcId"]: v for v in ec2.describe_vpcs(VpcIds=sorted(by_vpc))["Vpcs"]}
    azs: dict[str, set[str]] = defaultdict(set)
    for page in ec2.get_paginator("describe_subnets").paginate(Filters=[{"Name": "vpc-id", "Values": sorted(by_vpc)}]):
        for subnet in page["Subnets"]:
            azs[subnet["VpcId"]].add(subnet["AvailabilityZone"])
    out = []
    for vpc_id, nats in sorted(by_vpc.items()):
        vpc = vpcs.get(vpc_id, {})
        # The resource is the VPC (Role=vpc governs the NAT count); its gateways' common tags fill
        # in what the VPC lacks, and any gateway on the critical path puts the whole set on it.
        tags = {**common_tags([tag_dict(n.get("Tags")) for n in nats]), **tag_dict(vpc.get("Tags"))}
        if any(tag_dict(n.get("Tags")).get("CriticalPath", "").lower() == "true" for n in nats):
            tags["CriticalPath"] = "true"
        owner = vpc.get("OwnerId")
        arn = f"arn:aws:ec2:{clients.region}:{owner}:vpc/{vpc_id}" if owner else None
        config = {
            "nat_gateway_count": len(nats),
            "az_count": len(azs.get(vpc_id, ())),
            "nat_gateway_ids": tuple(sorted(n["NatGatewayId"] for n in nats)),
        }
        out.append(Resource("nat", clients.region, vpc_id, arn, tags, config))
    return out
