"""TierStack: the shape every tier stack shares, in this order:

  1. variables   one Terraform variable per field of the tier's props dataclass
  2. locals/tags the tag contract (provider default_tags + per-resource Role/CriticalPath)
  3. resources   `resources()` of the tier
  4. alarms      `alarms()`: the tier's rollback alarms (modules/alarms.py, stacks/alarms_contract.py)
  5. outputs     `outputs()` of the tier + `sizing_keys` (role -> config field -> tfvars key)

A subclass sets `tier` and implements `resources()` and `outputs()`.
"""

from __future__ import annotations

from typing import Any

from cdktf import TerraformOutput, TerraformStack
from constructs import Construct

from stacks.naming import stack_name

from . import aws
from .expr import hcl_literal
from .tagging import Tagger
from .variables import create_variables


class TierStack(TerraformStack):
    tier: str = ""

    def __init__(self, scope: Construct, *, environment: str, region: str, props: Any):
        self.stack_name = stack_name(self.tier, region)
        super().__init__(scope, self.stack_name)
        self.environment, self.region, self.props = environment, region, props
        self.raw_blocks: dict[str, dict] = {}  # top-level blocks cdktf has no class for (ephemeral)
        # 1. variables
        self.vars = create_variables(self, props)
        # 2. locals / tags
        self.tags = Tagger(environment=environment, tier=self.tier, region=region)
        aws.AwsProvider(self, "aws", region=region, default_tags=[{"tags": self.tags.common}])
        # 3. resources
        self.resources()
        # 4. alarms
        self.alarms()
        # 5. outputs
        self.outputs()
        TerraformOutput(
            self,
            "sizing_keys",
            value=props.sizing_keys,
            description="role -> config field -> tfvars key address (docs/architecture.md)",
        )

    @property
    def destroyable(self) -> bool:
        from stacks.props import DESTROYABLE_ENVIRONMENTS

        return self.environment in DESTROYABLE_ENVIRONMENTS

    def resources(self) -> None:
        raise NotImplementedError

    def alarms(self) -> None:
        """The CloudWatch alarms `guard` judges a rollout by (connection errors above 1%); a tier
        without a connection-error metric (stacks.alarms_contract.NO_METRIC) keeps this: none."""

    def outputs(self) -> None:
        raise NotImplementedError

    def output(self, name: str, value: Any, description: str, sensitive: bool = False) -> TerraformOutput:
        # The construct id differs from the variable of the same name; the output keeps `name`.
        out = TerraformOutput(self, f"output_{name}", value=value, description=description, sensitive=sensitive)
        out.override_logical_id(name)
        return out

    # ---- blocks cdktf cannot express -------------------------------------------------
    def ephemeral(self, resource_type: str, name: str, config: dict) -> str:
        """Declare an `ephemeral` resource (Terraform >= 1.10); returns its address. Its
        values never reach the plan or the state (only write-only arguments may use them)."""
        self.add_override(f"ephemeral.{resource_type}.{name}", config)
        self.raw_blocks[f'ephemeral "{resource_type}" "{name}"'] = config
        return f"ephemeral.{resource_type}.{name}"

    def hcl_appendix(self) -> str:
        """HCL for the raw blocks (cdktf's HCL renderer drops stack-level overrides)."""
        parts = []
        for header, config in self.raw_blocks.items():
            body = "\n".join(f"  {k} = {hcl_literal(v)}" for k, v in config.items())
            parts.append(f"{header} {{\n{body}\n}}\n")
        return "\n".join(parts)
