"""The tag contract of docs/architecture.md as a per-stack helper (names and tags: stacks/naming.py).

Every taggable resource carries Project, Environment, Tier, ManagedBy, Stack (also set as the
provider's default_tags, so nothing is missed) plus Role and CriticalPath. CriticalPath is
`true` when the role is listed in the stack's `<tier>_critical_path` variable.
"""

from __future__ import annotations

from stacks import naming

from .expr import tf


class Tagger:
    def __init__(self, *, environment: str, tier: str, region: str):
        self.environment, self.tier, self.region = environment, tier, region
        self.common = naming.common_tags(environment, tier, naming.stack_name(tier, region))
        self.name_prefix = naming.name_prefix(environment, tier)

    def name(self, role: str) -> str:
        """Live name `rightsize-<env>-<tier>-<role>`."""
        return naming.resource_name(self.environment, self.tier, role)

    def regional_name(self, role: str) -> str:
        """The live name of an account-global resource (IAM): `<name>-<region>`."""
        return naming.regional_name(self.environment, self.tier, role, self.region)

    def in_critical_path(self, role: str) -> str:
        """The Terraform condition: the role is listed in the stack's `<tier>_critical_path`."""
        return f'contains(var.{self.tier}_critical_path, "{role}")'

    def critical(self, role: str) -> str:
        return tf(f'{self.in_critical_path(role)} ? "true" : "false"')

    def __call__(self, role: str, name: str | None = None) -> dict[str, str]:
        """Full tag map of one resource; Name defaults to the live name of the role."""
        return {**self.common, "Role": role, "CriticalPath": self.critical(role), "Name": name or self.name(role)}

    def asg_tags(self, role: str) -> list[dict]:
        """aws_autoscaling_group `tag` blocks (ASGs ignore default_tags)."""
        return [{"key": k, "value": v, "propagateAtLaunch": False} for k, v in self(role).items()]
