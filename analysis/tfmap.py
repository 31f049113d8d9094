"""Which tfvars key governs which live resource (docs/architecture.md, "Which tfvars key ...").

Each synthesized stack `cdktf.out/stacks/<stack>/cdk.tf.json` has an output `sizing_keys`:
role -> config field -> tfvars key address. A live resource joins it through its tags
`Stack` + `Role`; without those tags, or without that stack/role, it is unmanaged.
Reads JSON only: analysis/ never imports CDKTF.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from analysis.model import Resource

DEFAULT_STACKS_DIR = Path("cdktf.out/stacks")
SizingKeys = dict[str, dict[str, dict[str, str]]]  # stack -> role -> config field -> key address


class StackError(ValueError):
    """A synthesized stack whose sizing_keys output does not follow the contract."""


def _output_value(doc: Mapping[str, Any], stack: str) -> Any:
    output = (doc.get("output") or {}).get("sizing_keys")
    if output is None:
        return None
    value = output.get("value") if isinstance(output, Mapping) else output
    if isinstance(value, str):  # an output may be synthesized as a JSON string
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise StackError(f"{stack}: output sizing_keys is a string that is not JSON: {value[:60]!r}") from None
    return value


def _validate(value: Any, stack: str) -> dict[str, dict[str, str]]:
    if not isinstance(value, Mapping) or not all(
        isinstance(fields, Mapping) and all(isinstance(k, str) and isinstance(v, str) for k, v in fields.items())
        for fields in value.values()
    ):
        raise StackError(f"{stack}: output sizing_keys must map role -> config field -> tfvars key (strings)")
    return {role: dict(fields) for role, fields in value.items()}


def load_sizing_keys(stacks_dir: str | Path = DEFAULT_STACKS_DIR) -> SizingKeys:
    """sizing_keys of every synthesized stack; a missing directory means no stack (all unmanaged)."""
    root = Path(stacks_dir)
    out: SizingKeys = {}
    for path in sorted(root.glob("*/cdk.tf.json")):
        stack = path.parent.name
        try:
            doc = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise StackError(f"{path}: cannot read synthesized stack: {e}") from None
        value = _output_value(doc, stack)
        if value is not None:
            out[stack] = _validate(value, stack)
    return out


def join(resource: Resource, sizing_keys: SizingKeys) -> Resource:
    """The resource with `stack` and `tfvars_keys` set when its Stack+Role tags name a synthesized role."""
    stack, role = resource.tags.get("Stack"), resource.tags.get("Role")
    keys = sizing_keys.get(stack or "", {}).get(role or "")
    if keys is None:
        return replace(resource, stack=None, tfvars_keys={})
    return replace(resource, stack=stack, tfvars_keys=dict(sorted(keys.items())))
