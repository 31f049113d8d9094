"""Terraform variables from a props dataclass: one variable per field, same name, with the
field's description, type, nullability, default and validation blocks."""

from __future__ import annotations

import dataclasses

from cdktf import TerraformStack, TerraformVariable, TerraformVariableValidationConfig

from .expr import tf


def create_variables(stack: TerraformStack, props) -> dict[str, TerraformVariable]:
    out = {}
    for f in dataclasses.fields(props):
        meta = f.metadata
        validation = [
            TerraformVariableValidationConfig(condition=tf(cond.replace("{var}", f"var.{f.name}")), error_message=msg)
            for cond, msg in meta["tf_rules"]
        ]
        out[f.name] = TerraformVariable(
            stack,
            f.name,
            type=meta["tf_type"],
            default=getattr(props, f.name),
            description=meta["description"],
            nullable=meta["nullable"],
            validation=validation or None,
        )
    return out
