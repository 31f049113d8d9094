"""Closed sets of a recommendation: its status, its risk and how it rolls out, with their texts.

A leaf module (no analysis imports) so value types, sizing, reports and rollout share one
spelling. StrEnum members compare equal to their values, so the JSON/CSV output is plain text.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    EMITTED = "emitted"  # becomes tfvars
    BELOW_THRESHOLD = "below-threshold"
    EXCLUDED = "excluded"  # CriticalPath=true: never changed
    NO_CHANGE = "no-change"
    REJECTED = "rejected"  # replayed over its history (or against its clients) it would have run out
    QUARANTINED = "quarantined"  # a metric series was rejected as bad data: not sized


class Risk(StrEnum):
    """Compute Optimizer-like: the worst dimension's peak utilisation on a size."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class RolloutMethod(StrEnum):
    IN_PLACE = "in-place"
    ROLLING_INSTANCE_REFRESH = "rolling-instance-refresh"
    BLUE_GREEN = "blue-green"
    ALIAS_SHIFT = "alias-shift"
    REPLACEMENT = "replacement"
    NONE = "none"

    @property
    def plan_action(self) -> str:
        """What `terraform plan` shows for the method, in words a reviewer checks against."""
        return _PLAN_ACTION[self]

    @property
    def deploy_step(self) -> str | None:
        """The `cdktf deploy` step of the method ({stack}, {detail} = the kind's explanation);
        None where the deploy is not how it rolls out (Blue/Green goes through the RDS API)."""
        return _DEPLOY_STEP.get(self)


_PLAN_ACTION = {
    RolloutMethod.IN_PLACE: "~ update in-place",
    RolloutMethod.ROLLING_INSTANCE_REFRESH: (
        "~ launch template (new version) and ~ Auto Scaling group (instance refresh)"
    ),
    RolloutMethod.ALIAS_SHIFT: "+ new Lambda version, ~ alias points at it; ~ concurrency settings in place",
    RolloutMethod.BLUE_GREEN: (
        "none once `python -m analysis rollout` has switched over and updated the tfvars; "
        "applied through Terraform alone it would be ~ update in-place at the next maintenance window"
    ),
    RolloutMethod.REPLACEMENT: (
        "- / + the counted resources destroyed or created (NAT gateways with their EIPs and alarms), "
        "~ the routes that used them"
    ),
    RolloutMethod.NONE: "no change",
}
_DEPLOY_STEP = {
    RolloutMethod.ROLLING_INSTANCE_REFRESH: (
        "cdktf deploy {stack}: the launch template gets a new version (the ASG references its "
        "latest_version, never \"$Latest\") and the ASG starts an instance refresh that keeps the "
        "compute stack's minimum healthy percentage in service"
    ),
    RolloutMethod.ALIAS_SHIFT: (
        "cdktf deploy {stack}: Lambda publishes a new version with the new settings and the live "
        "alias shifts to it (provisioned concurrency follows the alias)"
    ),
    RolloutMethod.IN_PLACE: "cdktf deploy {stack}: modified in place ({detail})",
    RolloutMethod.REPLACEMENT: "cdktf deploy {stack}: resources destroyed and created ({detail})",
}


class Target(StrEnum):
    """Which account a command reads."""

    SIM = "sim"  # the simulated account (analysis/sim/): no AWS call leaves the machine
    AWS = "aws"  # a real (or AWS-compatible) account through --profile / --endpoint-url
