"""Plan preview: what `terraform plan` will do once the proposed tfvars are applied, from the
synthesized stacks and Terraform's own rules, so a reviewer knows it before running a plan.

For each changed variable: the resources of the stack's `cdk.tf.json` that read it (directly or
through a local) and the action Terraform takes on each:

- `count` / `for_each` reads it: instances are created or destroyed (NAT gateways with their
  EIPs and alarms, a read replica, a shard's alarm, a provisioned-concurrency config);
- an argument reads it: updated in place, or replaced when the provider marks that argument
  ForceNew (FORCE_NEW below), only on the instances whose value changes (`count.index % var.n`);
- a resource reading an attribute that every in-place update of another resource renews
  (FOLLOWERS: a Lambda version, a launch template's latest version) is updated with it.

Per stack: `Plan: N to add, M to change, K to destroy.` counted like Terraform (a replacement
adds one and destroys one).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from analysis.enums import RolloutMethod

if TYPE_CHECKING:
    from analysis.sim.account import Stack

VAR_REF = re.compile(r"var\.([A-Za-z_][A-Za-z0-9_]*)")
LOCAL_REF = re.compile(r"local\.([A-Za-z_][A-Za-z0-9_]*)")
QUOTED = re.compile(r'"([A-Za-z0-9_.-]+)"')
MODULO = re.compile(r"count\.index % var\.(\w+)")
COUNT_VAR = re.compile(r"^\$\{var\.(\w+)\}$")
COUNT_RANGE = re.compile(r"range\(var\.(\w+)\)")
COUNT_IF_POSITIVE = re.compile(r'^\$\{(var|local)\.(\w+)\["([\w-]+)"\] > 0 \? 1 : 0\}$')
# The same unless an optional variable (a schedule) takes the resource over: `... > 0 && !(var.s != null && ...)`.
COUNT_IF_POSITIVE_UNLESS = re.compile(
    r'^\$\{(var|local)\.(\w+)\["([\w-]+)"\] > 0 && !\(var\.(\w+) != null && .*\) \? 1 : 0\}$'
)
TERRAFORM_MIN = (1, 11)  # the stacks use ephemeral resources and write-only arguments

# Arguments whose change makes Terraform destroy and re-create the resource ("Forces new
# resource" in the AWS provider's documentation, v5/v6), for the resource types the stacks
# size or whose instances follow a sized count. An argument not listed updates in place.
FORCE_NEW: dict[str, frozenset[str]] = {
    "aws_db_instance": frozenset(
        {
            "identifier",
            "engine",
            "db_name",
            "username",
            "availability_zone",
            "storage_encrypted",
            "kms_key_id",
            "character_set_name",
            "timezone",
            "snapshot_identifier",
        }
    ),
    "aws_elasticache_replication_group": frozenset(
        {
            "replication_group_id",
            "at_rest_encryption_enabled",
            "kms_key_id",
            "port",
            "subnet_group_name",
            "snapshot_arns",
            "snapshot_name",
        }
    ),
    "aws_nat_gateway": frozenset({"allocation_id", "subnet_id", "connectivity_type", "private_ip"}),
    "aws_eip": frozenset({"domain", "address", "customer_owned_ipv4_pool"}),
    "aws_route": frozenset({"route_table_id", "destination_cidr_block", "destination_ipv6_cidr_block"}),
    "aws_subnet": frozenset({"vpc_id", "cidr_block", "availability_zone"}),
    "aws_launch_template": frozenset({"name", "name_prefix"}),
    "aws_autoscaling_group": frozenset({"name", "name_prefix"}),
    "aws_lambda_function": frozenset({"function_name"}),
    "aws_lambda_alias": frozenset({"name", "function_name"}),
    "aws_lambda_provisioned_concurrency_config": frozenset({"function_name", "qualifier"}),
    "aws_cloudwatch_metric_alarm": frozenset({"alarm_name"}),
}
# Attributes renewed by every in-place update of their resource: whoever reads them changes too.
FOLLOWERS: dict[str, str] = {
    "aws_lambda_function": "version",  # publish = true: a new version per update; the alias moves to it
    "aws_launch_template": "latest_version",  # a new version per update; the ASG refreshes onto it
}


class Action(StrEnum):
    """What Terraform does to a resource instance."""

    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DESTROY = "destroy"

    @property
    def symbol(self) -> str:
        return {"create": "+", "update": "~", "replace": "-/+", "destroy": "-"}[self]

    @property
    def wording(self) -> str:
        return {
            "create": "create",
            "update": "update in-place",
            "replace": "destroy and then create replacement",
            "destroy": "destroy",
        }[self]


@dataclass(frozen=True)
class ResourcePlan:
    address: str  # Terraform address without the instance index, e.g. aws_nat_gateway.nat
    action: Action
    instances: int  # instances the action applies to
    why: str  # the argument, count or resource that causes it
    keys: tuple[str, ...]  # the changed tfvars keys behind it
    arguments: tuple[tuple[str, str], ...] = ()  # (key, argument it sets) for in-place / replace actions

    def __post_init__(self) -> None:
        if self.instances < 1:
            raise ValueError(f"{self.address}: a planned action needs at least one instance")

    def why_for(self, key: str) -> str:
        """The cause as one key's row shows it: only the arguments that key sets."""
        mine = sorted({arg for k, arg in self.arguments if k == key})
        if not mine:
            return self.why
        return ", ".join(mine) + (" forces replacement" if self.action is Action.REPLACE else "")

    @property
    def line(self) -> str:
        n = f" ({self.instances} instances)" if self.instances > 1 else ""
        return f"{self.action.symbol} {self.address}{n}: {self.action.wording} ({self.why})"


@dataclass(frozen=True)
class PlannedChange:
    key: str
    current: Any
    proposed: Any
    rollout: str
    resource_id: str
    kind: str
    resources: tuple[ResourcePlan, ...] = ()  # what Terraform does because of this key

    @property
    def addresses(self) -> tuple[str, ...]:
        return tuple(sorted({r.address for r in self.resources}))


@dataclass(frozen=True)
class StackPlan:
    stack: str
    changes: tuple[PlannedChange, ...] = ()
    resources: tuple[ResourcePlan, ...] = ()  # every action in the stack, one row per (address, action)
    synthesized: bool = True  # False: no cdk.tf.json to read (run `make synth`)
    counts: dict[str, int] = field(init=False)  # "add" / "change" / "destroy", like terraform plan

    def __post_init__(self) -> None:
        n = {a: sum(r.instances for r in self.resources if r.action is a) for a in Action}
        counts = {
            "add": n[Action.CREATE] + n[Action.REPLACE],
            "change": n[Action.UPDATE],
            "destroy": n[Action.DESTROY] + n[Action.REPLACE],
        }
        object.__setattr__(self, "counts", counts)

    @property
    def summary(self) -> str:
        c = self.counts
        return f"Plan: {c['add']} to add, {c['change']} to change, {c['destroy']} to destroy."


def key_variable(key: str) -> tuple[str, str | None]:
    """`serverless_memory_size.orders` -> ("serverless_memory_size", "orders")."""
    var, _, map_key = key.partition(".")
    return var, map_key or None


def _local_vars(doc: Mapping[str, Any]) -> dict[str, set[str]]:
    """local -> the variables it reads (e.g. `merge(defaults, var.serverless_memory_size)`)."""
    return {name: set(VAR_REF.findall(" ".join(_strings(expr)))) for name, expr in doc.get("locals", {}).items()}


def _reads(text: str, local_vars: Mapping[str, set[str]]) -> set[str]:
    variables = set(VAR_REF.findall(text))
    for local in LOCAL_REF.findall(text):
        variables |= local_vars.get(local, set())
    return variables


def variable_readers(stack_json: Mapping[str, Any]) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """variable -> [(resource address, quoted names in the referencing expressions)]."""
    local_vars = _local_vars(stack_json)
    readers: dict[str, list[tuple[str, frozenset[str]]]] = {}
    for rtype, by_name in sorted(stack_json.get("resource", {}).items()):
        for name, body in sorted(by_name.items()):
            refs: dict[str, set[str]] = {}
            for text in _strings(body):
                for var in _reads(text, local_vars):
                    refs.setdefault(var, set()).update(QUOTED.findall(text))
            for var, quoted in refs.items():
                readers.setdefault(var, []).append((f"{rtype}.{name}", frozenset(quoted)))
    return readers


def affected(readers: Mapping[str, list[tuple[str, frozenset[str]]]], key: str) -> tuple[str, ...]:
    var, map_key = key_variable(key)
    hits = [addr for addr, quoted in readers.get(var, ()) if _key_matches(map_key, quoted)]
    return tuple(sorted(hits))


def _key_matches(map_key: str | None, quoted: Iterable[str]) -> bool:
    quoted = set(quoted)
    return map_key is None or not quoted or map_key in quoted


def count_of(expr: Any, values: Mapping[str, Any], local_vars: Mapping[str, set[str]]) -> int | None:
    """Instances a `count` / `for_each` expression yields for these variable values (1 without
    one); None for a form this preview does not evaluate."""
    if expr is None:
        return 1
    if isinstance(expr, int):
        return expr
    text = str(expr)
    m = COUNT_VAR.match(text) or COUNT_RANGE.search(text)
    if m:
        return int(values[m.group(1)])
    m = COUNT_IF_POSITIVE.match(text)
    unless = COUNT_IF_POSITIVE_UNLESS.match(text)
    if unless and values.get(unless.group(4)) is not None:
        return None  # the optional variable is set: the rest of the condition is not evaluated here
    m = m or unless
    if m:
        scope, name, map_key = m.groups()[:3]
        var = name if scope == "var" else next(iter(sorted(local_vars.get(name, {name}))))
        return 1 if values[var][map_key] > 0 else 0
    return None


def _with_changes(values: Mapping[str, Any], keys: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for key, value in keys.items():
        var, map_key = key_variable(key)
        out[var] = {**(out.get(var) or {}), map_key: value} if map_key else value
    return out


def _arguments(body: Mapping[str, Any], local_vars: Mapping[str, set[str]]) -> dict[str, list[tuple[str, str]]]:
    """variable -> [(top-level argument, expression text)] of a resource (count/for_each apart)."""
    out: dict[str, list[tuple[str, str]]] = {}
    for arg, value in body.items():
        if arg in ("count", "for_each", "//", "depends_on", "lifecycle", "provider"):
            continue
        for text in _strings(value):
            for var in _reads(text, local_vars):
                out.setdefault(var, []).append((arg, text))
    return out


def plan_stack(doc: Mapping[str, Any], values: Mapping[str, Any], keys: Mapping[str, Any]) -> list[ResourcePlan]:
    """The actions Terraform takes when `keys` (tfvars key address -> proposed value) change
    a stack whose variables currently hold `values`."""
    local_vars = _local_vars(doc)
    after = _with_changes(values, keys)
    changed = {key: key_variable(key) for key in keys}
    plans: list[ResourcePlan] = []
    updated: dict[str, tuple[str, ...]] = {}  # address -> keys, of resources updated in place
    for rtype, by_name in sorted(doc.get("resource", {}).items()):
        for name, body in sorted(by_name.items()):
            address = f"{rtype}.{name}"
            count_expr = body.get("count", body.get("for_each"))
            before_n, after_n = count_of(count_expr, values, local_vars), count_of(count_expr, after, local_vars)
            count_keys = tuple(
                k
                for k, (var, map_key) in sorted(changed.items())
                if count_expr is not None
                and var in _reads(str(count_expr), local_vars)
                and _key_matches(map_key, QUOTED.findall(str(count_expr)))
            )
            if count_keys and before_n is not None and after_n is not None and before_n != after_n:
                action = Action.CREATE if after_n > before_n else Action.DESTROY
                what = "for_each" if "for_each" in body else "count"
                plans.append(
                    ResourcePlan(
                        address, action, abs(after_n - before_n), f"{what} {before_n} -> {after_n}", count_keys
                    )
                )
            kept = min(before_n or 0, after_n or 0) if count_expr is not None else 1
            args = _arguments(body, local_vars)
            replace_keys, update_keys, instances = list[str](), list[str](), kept
            why: set[tuple[str, str]] = set()  # (key, argument)
            for key, (var, map_key) in sorted(changed.items()):
                for arg, text in args.get(var, []):
                    if not _key_matches(map_key, QUOTED.findall(text)):
                        continue
                    modulo = MODULO.search(text)
                    if modulo and modulo.group(1) == var:  # only the instances whose index maps elsewhere
                        old, new = int(values[var]), int(after[var])
                        instances = sum(1 for i in range(kept) if i % old != i % new)
                    (replace_keys if arg in FORCE_NEW.get(rtype, ()) else update_keys).append(key)
                    why.add((key, arg))
            if instances and (replace_keys or update_keys):
                action = Action.REPLACE if replace_keys else Action.UPDATE
                reason = ", ".join(sorted({arg for _, arg in why})) + (" forces replacement" if replace_keys else "")
                keys_used = tuple(sorted(set(replace_keys + update_keys)))
                plans.append(ResourcePlan(address, action, instances, reason, keys_used, tuple(sorted(why))))
                if action is Action.UPDATE:
                    updated[address] = keys_used
    plans += _followers(doc, updated, {p.address for p in plans})
    return sorted(plans, key=lambda p: (p.address, p.action))


def _followers(doc: Mapping[str, Any], updated: Mapping[str, tuple[str, ...]], planned: set[str]) -> list[ResourcePlan]:
    out = []
    for rtype, by_name in sorted(doc.get("resource", {}).items()):
        for name, body in sorted(by_name.items()):
            address = f"{rtype}.{name}"
            if address in planned:
                continue
            text = " ".join(_strings(body))
            for leader, keys in sorted(updated.items()):
                attribute = FOLLOWERS.get(leader.split(".")[0])
                if attribute and f"{leader}.{attribute}" in text:
                    out.append(ResourcePlan(address, Action.UPDATE, 1, f"follows {leader}.{attribute}", keys))
                    break
    return out


def load_stack(stacks_dir: Path, stack: str) -> Stack | None:
    from analysis.sim.account import SimError, Stack  # the stack loader; the simulator stays unloaded by reports

    path = stacks_dir / stack
    if not (path / "cdk.tf.json").is_file():
        return None
    try:
        return Stack.load(path)
    except (SimError, ValueError, KeyError, json.JSONDecodeError):
        return None


def preview(records: Iterable[Mapping[str, Any]], stacks_dir: Path) -> dict[str, StackPlan]:
    """stack -> its plan, for the emitted, managed recommendation records."""
    changes: dict[str, list[PlannedChange]] = {}
    for rec in records:
        stack = rec.get("stack")
        if rec["status"] != "emitted" or not stack:
            continue
        for ch in rec["changes"]:
            if ch["tfvars_key"]:
                changes.setdefault(stack, []).append(
                    PlannedChange(
                        ch["tfvars_key"], ch["current"], ch["proposed"], rec["rollout"], rec["resource_id"], rec["kind"]
                    )
                )
    out = {}
    for stack, planned in sorted(changes.items()):
        loaded = load_stack(stacks_dir, stack)
        if loaded is None:
            out[stack] = StackPlan(stack, tuple(sorted(planned, key=lambda c: c.key)), synthesized=False)
            continue
        # Blue/Green keys are written by `analysis rollout` after the switchover: the plan then has nothing to do
        through_terraform = {c.key: c.proposed for c in planned if c.rollout != RolloutMethod.BLUE_GREEN}
        resources = plan_stack(loaded.doc, loaded.variables, through_terraform)
        with_resources = [
            PlannedChange(
                c.key,
                c.current,
                c.proposed,
                c.rollout,
                c.resource_id,
                c.kind,
                tuple(r for r in resources if c.key in r.keys),
            )
            for c in sorted(planned, key=lambda c: c.key)
        ]
        out[stack] = StackPlan(stack, tuple(with_resources), tuple(resources))
    return out


def terraform_version() -> str | None:
    """The installed terraform's version when it is >= TERRAFORM_MIN (`make plan` can run), else None."""
    exe = shutil.which("terraform")
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "version", "-json"], capture_output=True, text=True, timeout=20, check=True).stdout
        version = json.loads(out)["terraform_version"]
    except (OSError, subprocess.SubprocessError, ValueError, KeyError):
        return None
    parts = tuple(int(p) for p in re.findall(r"\d+", version)[:2])
    return version if parts >= TERRAFORM_MIN else None


def _strings(node: Any) -> Iterable[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _strings(v)
    elif isinstance(node, list):
        for v in node:
            yield from _strings(v)
