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

from cdktf import LocalBackend, S3Backend, TerraformOutput, TerraformStack
from constructs import Construct

from stacks import hcl_synth
from stacks.backend import BackendKind, StateBackend
from stacks.naming import stack_name

from . import aws
from .expr import hcl_literal
from .tagging import Tagger
from .variables import create_variables

# Write-only arguments (password_wo, secret_string_wo) need 1.11, ephemeral resources and the S3
# lock file 1.10, validations that reference other variables 1.9: older Terraform stops with
# its own message instead of failing somewhere in the plan.
REQUIRED_TERRAFORM = ">= 1.11"


class TierStack(TerraformStack):
    tier: str = ""

    def __init__(
        self, scope: Construct, *, environment: str, region: str, props: Any, backend: StateBackend | None = None
    ):
        self.stack_name = stack_name(self.tier, region)
        super().__init__(scope, self.stack_name)
        self.environment, self.region, self.props = environment, region, props
        self.raw_blocks: dict[str, dict] = {}  # top-level blocks cdktf has no class for (ephemeral, check)
        if hcl_synth():  # cdktf's HCL renderer mangles overrides of the terraform block
            self.raw_blocks["terraform"] = {"required_version": REQUIRED_TERRAFORM}
        else:
            self.add_override("terraform.required_version", REQUIRED_TERRAFORM)
        self._backend(backend or StateBackend())
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

    def _backend(self, backend: StateBackend) -> None:
        config = backend.config(self.environment, self.stack_name)
        if backend.kind is BackendKind.LOCAL:
            LocalBackend(self, path=config["path"])
            return
        S3Backend(self, bucket=config["bucket"], key=config["key"], region=config["region"], encrypt=config["encrypt"])
        self.add_override("terraform.backend.s3.use_lockfile", config["use_lockfile"])

    # ---- blocks cdktf cannot express -------------------------------------------------
    def ephemeral(self, resource_type: str, name: str, config: dict) -> str:
        """Declare an `ephemeral` resource (Terraform >= 1.10); returns its address. Its
        values never reach the plan or the state (only write-only arguments may use them)."""
        self.add_override(f"ephemeral.{resource_type}.{name}", config)
        self.raw_blocks[f'ephemeral "{resource_type}" "{name}"'] = config
        return f"ephemeral.{resource_type}.{name}"

    def check(self, name: str, condition: str, message: str) -> None:
        """A `check` block: when `condition` is false, plan and apply show `message` as a
        warning and go on (Terraform >= 1.5)."""
        assertion = {"condition": condition, "error_message": message}
        self.add_override(f"check.{name}.assert", [assertion])
        self.raw_blocks[f'check "{name}"'] = {"assert": [assertion]}

    def hcl_appendix(self) -> str:
        """HCL for the raw blocks (cdktf's HCL renderer drops stack-level overrides); a list of
        objects is a repeated nested block."""

        def body(config: dict, indent: str) -> list[str]:
            lines = []
            for k, v in config.items():
                if isinstance(v, list) and v and all(isinstance(item, dict) for item in v):
                    for item in v:
                        lines += [f"{indent}{k} {{", *body(item, indent + "  "), f"{indent}}}"]
                else:
                    lines.append(f"{indent}{k} = {hcl_literal(v)}")
            return lines

        return "\n".join(
            f"{header} {{\n" + "\n".join(body(config, "  ")) + "\n}\n" for header, config in self.raw_blocks.items()
        )
