"""The tag contract of docs/architecture.md, in one place.

Every taggable resource carries Project, Environment, Tier, ManagedBy, Stack (also set as the
provider's default_tags, so nothing is missed) plus Role and CriticalPath. CriticalPath is
`true` when the role is listed in the stack's `<tier>_critical_path` variable.
"""

from __future__ import annotations

from .expr import tf

PROJECT = "rightsize"
MANAGED_BY = "cdktf"


class Tagger:
    def __init__(self, *, environment: str, tier: str, stack: str):
        self.tier = tier
        self.common = {
            "Project": PROJECT,
            "Environment": environment,
            "Tier": tier,
            "ManagedBy": MANAGED_BY,
            "Stack": stack,
        }
        self.name_prefix = f"{PROJECT}-{environment}-{tier}"

    def name(self, role: str) -> str:
        """Live name `rightsize-<env>-<tier>-<role>`."""
        return f"{self.name_prefix}-{role}"

    def critical(self, role: str) -> str:
        return tf(f'contains(var.{self.tier}_critical_path, "{role}") ? "true" : "false"')

    def __call__(self, role: str, name: str | None = None) -> dict[str, str]:
        """Full tag map of one resource; Name defaults to the live name of the role."""
        return {**self.common, "Role": role, "CriticalPath": self.critical(role), "Name": name or self.name(role)}

    def asg_tags(self, role: str) -> list[dict]:
        """aws_autoscaling_group `tag` blocks (ASGs ignore default_tags)."""
        return [{"key": k, "value": v, "propagateAtLaunch": False} for k, v in self(role).items()]
