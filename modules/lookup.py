"""Look up what other stacks of the same environment and region created, by their tags
(Stack + Role), so stacks deploy independently in order network -> data, cache -> compute,
serverless without sharing state."""
from __future__ import annotations

from . import aws


class Network:
    """The VPC, its subnets and the interface-endpoint security group of network-<region>."""

    def __init__(self, stack, *, environment: str, region: str):
        owner = {"Project": "rightsize", "Environment": environment, "Stack": f"network-{region}"}
        self.vpc = aws.DataAwsVpc(stack, "vpc", tags={**owner, "Role": "vpc"})
        self.vpc_id = self.vpc.id
        self.cidr = self.vpc.cidr_block
        vpc_filter = [{"name": "vpc-id", "values": [self.vpc_id]}]
        self.private = aws.DataAwsSubnets(stack, "private_subnets", filter=vpc_filter, tags={**owner, "Role": "private-subnet"})
        self.public = aws.DataAwsSubnets(stack, "public_subnets", filter=vpc_filter, tags={**owner, "Role": "public-subnet"})
        self.private_ids = self.private.ids
        self.public_ids = self.public.ids
        self.endpoints_sg = aws.DataAwsSecurityGroup(stack, "endpoints_sg", vpc_id=self.vpc_id, tags={**owner, "Role": "endpoints-sg"})


def security_group_of(stack, id_: str, *, environment: str, region: str, tier: str, role: str, vpc_id: str):
    """A security group another tier stack owns (e.g. data's db-sg)."""
    return aws.DataAwsSecurityGroup(stack, id_, vpc_id=vpc_id, tags={
        "Project": "rightsize", "Environment": environment, "Stack": f"{tier}-{region}", "Role": role})
