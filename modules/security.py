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


def allow_in(stack, id_: str, tagger, *, from_group: str | None = None, **rule):
    """Ingress TCP `port` from a security group or a CIDR (`rule`: the arguments of _tcp_rule)."""
    return _tcp_rule(aws.VpcSecurityGroupIngressRule, stack, id_, tagger, peer_group=from_group, **rule)


def allow_out(stack, id_: str, tagger, *, to_group: str | None = None, **rule):
    """Egress TCP `port` to a security group or a CIDR (`rule`: the arguments of _tcp_rule)."""
    return _tcp_rule(aws.VpcSecurityGroupEgressRule, stack, id_, tagger, peer_group=to_group, **rule)


def _tcp_rule(
    rule_cls,
    stack,
    id_: str,
    tagger,
    *,
    group_id: str,
    port,
    description: str,
    peer_group: str | None = None,
    cidr: str | None = None,
    role: str = "sg-rule",
):
    # Ingress and egress rules differ only in their resource type.
    return rule_cls(
        stack,
        id_,
        security_group_id=group_id,
        ip_protocol="tcp",
        from_port=port,
        to_port=port,
        referenced_security_group_id=peer_group,
        cidr_ipv4=cidr,
        description=description,
        tags=tagger(role),
    )
