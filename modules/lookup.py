"""Look up what other stacks of the same environment and region created, by their tags
(Stack + Role), so stacks deploy independently in order network -> data, cache -> compute,
serverless without sharing state."""

from __future__ import annotations

from stacks.naming import HTTPS_PORT, POSTGRES_PORT, REDIS_PORT, Tier, owner_tags

from . import aws
from .security import allow_in, allow_out


class Network:
    """The VPC and private subnets of network-<region> (and its public subnets when asked)."""

    def __init__(self, stack, *, environment: str, region: str, public: bool = False):
        self.owner = owner_tags(environment, Tier.NETWORK, region)
        self.vpc = aws.DataAwsVpc(stack, "vpc", tags={**self.owner, "Role": "vpc"})
        self.vpc_id = self.vpc.id
        self.private_ids = self._subnets(stack, "private", self.vpc_id)
        if public:
            self.public_ids = self._subnets(stack, "public", self.vpc_id)

    def _subnets(self, stack, kind: str, vpc_id: str):
        return aws.DataAwsSubnets(
            stack,
            f"{kind}_subnets",
            filter=[{"name": "vpc-id", "values": [vpc_id]}],
            tags={**self.owner, "Role": f"{kind}-subnet"},
        ).ids


def security_group_of(stack, id_: str, *, environment: str, region: str, tier: str, role: str, vpc_id: str):
    """A security group another tier stack owns (e.g. data's db-sg)."""
    return aws.DataAwsSecurityGroup(stack, id_, vpc_id=vpc_id, tags=owner_tags(environment, tier, region, role))


class Backends:
    """What an application tier (compute, serverless) reaches: the network of its region, its
    interface-endpoint security group and the security groups of the data and cache stacks."""

    def __init__(self, stack, *, environment: str, region: str, public: bool = False):
        self.net = Network(stack, environment=environment, region=region, public=public)
        self.endpoints_sg = aws.DataAwsSecurityGroup(
            stack, "endpoints_sg", vpc_id=self.net.vpc_id, tags={**self.net.owner, "Role": "endpoints-sg"}
        )
        where = {"environment": environment, "region": region, "vpc_id": self.net.vpc_id}
        self.db_sg = security_group_of(stack, "db_sg", tier=Tier.DATA, role="db-sg", **where)
        self.cache_sg = security_group_of(stack, "cache_sg", tier=Tier.CACHE, role="cache-sg", **where)

    def admit(self, stack, tagger, *, client_sg: str, client: str, who: str) -> None:
        """Least privilege both ways: the client's group may reach PostgreSQL, Redis and the
        interface endpoints, and the data/cache groups admit only it."""
        reached = (
            ("db", POSTGRES_PORT, self.db_sg.id, "PostgreSQL"),
            ("cache", REDIS_PORT, self.cache_sg.id, "Redis"),
            ("endpoints", HTTPS_PORT, self.endpoints_sg.id, "the interface endpoints"),
        )
        for target, port, group, what in reached:
            allow_out(
                stack,
                f"{client}_to_{target}",
                tagger,
                group_id=client_sg,
                port=port,
                to_group=group,
                description=f"{who} to {what}",
            )
        # The endpoint group admits the whole VPC CIDR (network stack): no rule of ours there.
        for target, port, group, what in reached[:2]:
            allow_in(
                stack,
                f"{target}_from_{client}",
                tagger,
                group_id=group,
                port=port,
                from_group=client_sg,
                description=f"{who} to {what}",
            )
