"""Small helpers to write Terraform expressions as cdktf tokens."""

from __future__ import annotations

import json
import re
from typing import Any

from cdktf import Token

from stacks import hcl_synth


def tf(expression: str) -> str:
    """A string token: `tf("var.x")` -> "${var.x}"."""
    return "${" + expression + "}"


def num(expression: str) -> float:
    """A number token for jsii number arguments."""
    return Token.as_number(tf(expression))


def flag(expression: str) -> Any:
    """A boolean token for jsii `bool | IResolvable` arguments."""
    return Token.as_any(tf(expression))


def strings(expression: str) -> list[str]:
    """A list-of-strings token."""
    return Token.as_list(tf(expression))


def address(resource) -> str:
    """`<type>.<name>`: a resource's address, to index a counted one."""
    return f"{resource.terraform_resource_type}.{resource.friendly_unique_id}"


def hcl_literal(value: Any) -> str:
    """A Python value as an HCL literal (strings keep ${} interpolation)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if "${" not in value:
            return json.dumps(value)
        # "arn:${x}:root" -> join("", ["arn:", x, ":root"]): no interpolation nested inside
        # an interpolation, which checkov's HCL parser cannot read.
        parts = []
        for i, chunk in enumerate(re.split(r"\$\{([^{}]*)\}", value)):
            if i % 2:
                parts.append(chunk)
            elif chunk:
                parts.append(json.dumps(chunk))
        return parts[0] if len(parts) == 1 else f'join("", [{", ".join(parts)}])'
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(hcl_literal(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {hcl_literal(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no HCL literal for {value!r}")


def json_string(document) -> str:
    """A JSON document as a plain string attribute (a KMS key policy, where checkov's IAM
    checks do not apply: "*" there means "this key").

    cdktf's HCL renderer writes strings verbatim, quotes included, which is invalid HCL; in
    an HCL synth (SYNTH_HCL_OUTPUT=true, used for checkov) the quotes are escaped here."""
    text = json.dumps(document, separators=(",", ":"))
    if hcl_synth():
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text
