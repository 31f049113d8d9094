"""Tier stacks of the CDKTF app, plus their pure props and tfvars validation.

This package's __init__ and the modules props.py, rules.py, tfvars.py and alarms_contract.py
never import cdktf (the analysis imports them). The stack modules (network.py, data.py, ...) do, and are only
imported by main.py through `stacks.app`.
"""
from .props import FUNCTIONS, TIERS

DEFAULT_ENVIRONMENT = "staging"
DEFAULT_REGIONS = ("us-east-1", "us-west-2")


def stack_name(tier: str, region: str) -> str:
    """`<tier>-<region>`, e.g. data-us-east-1 (docs/architecture.md)."""
    return f"{tier}-{region}"


def resource_name(environment: str, tier: str, role: str) -> str:
    """`rightsize-<environment>-<tier>-<role>`: the live name of a resource."""
    return f"rightsize-{environment}-{tier}-{role}"


__all__ = ["TIERS", "FUNCTIONS", "DEFAULT_ENVIRONMENT", "DEFAULT_REGIONS", "stack_name", "resource_name"]
