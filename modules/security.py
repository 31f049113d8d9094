"""Security groups with one resource per rule (aws_vpc_security_group_*_rule), so each rule
is visible on its own and other stacks can add the rules they own to a group."""

from __future__ import annotations

from . import aws

ANYWHERE = "0.0.0.0/0"


def security_group(stack, id_: str, tagger, *, role: str, vpc_id: str, description: str):
    """A group with no rules at all (no default allow-all egress either)."""
    return aws.SecurityGroup(
        stack,
        id_,
        name=tagger.name(role),
        description=description,
        vpc_id=vpc_id,
        revoke_rules_on_delete=True,
        tags=tagger(role),
    )


def allow_in(
    stack,
    id_: str,
    tagger,
    *,
    group_id: str,
    port,
    description: str,
    from_group: str | None = None,
    cidr: str | None = None,
    role: str = "sg-rule",
):
    """Ingress TCP `port` from a security group or a CIDR."""
    return aws.VpcSecurityGroupIngressRule(
        stack,
        id_,
        security_group_id=group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=from_group,
        cidr_ipv4=cidr,
        description=description,
        tags=tagger(role),
    )


def allow_out(
    stack,
    id_: str,
    tagger,
    *,
    group_id: str,
    port,
    description: str,
    to_group: str | None = None,
    cidr: str | None = None,
    role: str = "sg-rule",
):
    """Egress TCP `port` to a security group or a CIDR."""
    return aws.VpcSecurityGroupEgressRule(
        stack,
        id_,
        security_group_id=group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=to_group,
        cidr_ipv4=cidr,
        description=description,
        tags=tagger(role),
    )
