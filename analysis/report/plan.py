"""Plan preview: for each stack, the variables a proposal changes, the Terraform resources that
read them (found in the synthesized cdk.tf.json) and how each change rolls out, so a reviewer
knows what `terraform plan` will show before running it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

VAR_REF = re.compile(r"var\.([A-Za-z_][A-Za-z0-9_]*)")
LOCAL_REF = re.compile(r"local\.([A-Za-z_][A-Za-z0-9_]*)")
QUOTED = re.compile(r'"([A-Za-z0-9_.-]+)"')


@dataclass(frozen=True)
class PlannedChange:
    key: str
    current: Any
    proposed: Any
    rollout: str
    resource_id: str
    addresses: tuple[str, ...]  # Terraform resource addresses that read the variable


def key_variable(key: str) -> tuple[str, str | None]:
    """`serverless_memory_size.orders` -> ("serverless_memory_size", "orders")."""
    var, _, map_key = key.partition(".")
    return var, map_key or None


def variable_readers(stack_json: Mapping[str, Any]) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """variable -> [(resource address, quoted names in the referencing expressions)]."""
    # a local (e.g. `merge(defaults, var.serverless_memory_size)`) reads the variables it names
    local_vars = {
        name: set(VAR_REF.findall(" ".join(_strings(expr)))) for name, expr in stack_json.get("locals", {}).items()
    }
    readers: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for rtype, by_name in sorted(stack_json.get("resource", {}).items()):
        for name, body in sorted(by_name.items()):
            refs: dict[str, set[str]] = {}
            for text in _strings(body):
                variables = set(VAR_REF.findall(text))
                for local in LOCAL_REF.findall(text):
                    variables |= local_vars.get(local, set())
                for var in variables:
                    refs.setdefault(var, set()).update(QUOTED.findall(text))
            for var, quoted in refs.items():
                readers.setdefault(var, []).append((f"{rtype}.{name}", frozenset(quoted)))
    return readers


def affected(readers: Mapping[str, list[tuple[str, frozenset[str]]]], key: str) -> tuple[str, ...]:
    var, map_key = key_variable(key)
    hits = [addr for addr, quoted in readers.get(var, ()) if map_key is None or not quoted or map_key in quoted]
    return tuple(sorted(hits))


def load_stack(stacks_dir: Path, stack: str) -> dict[str, Any]:
    path = stacks_dir / stack / "cdk.tf.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def preview(records: Iterable[Mapping[str, Any]], stacks_dir: Path) -> dict[str, list[PlannedChange]]:
    """stack -> planned changes, for the emitted, managed recommendation records."""
    out: dict[str, list[PlannedChange]] = {}
    readers_by_stack: dict[str, dict] = {}
    for rec in records:
        stack = rec.get("stack")
        if rec["status"] != "emitted" or not stack:
            continue
        if stack not in readers_by_stack:
            readers_by_stack[stack] = variable_readers(load_stack(stacks_dir, stack))
        for ch in rec["changes"]:
            if ch["tfvars_key"]:
                out.setdefault(stack, []).append(
                    PlannedChange(
                        ch["tfvars_key"],
                        ch["current"],
                        ch["proposed"],
                        rec["rollout"],
                        rec["resource_id"],
                        affected(readers_by_stack[stack], ch["tfvars_key"]),
                    )
                )
    return {s: sorted(v, key=lambda c: c.key) for s, v in sorted(out.items())}


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
