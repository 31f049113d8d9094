"""Inventory: every sizable resource in the requested regions, filtered, marked and mapped.

Each kind declares `discover(clients) -> list[Resource]` (analysis/kinds/<kind>/inventory.py).
This module runs them per region, isolates faults (AccessDenied on one service skips that
kind, an unreachable region is named and skipped), applies the `--tag` filter and the
CriticalPath exclusion, joins managed resources to their tfvars keys (analysis/tfmap.py), and
saves/loads the inventory as JSON beside a metrics snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from analysis.model import Resource
from analysis.tfmap import SizingKeys, join

CRITICAL_PATH_REASON = "tagged CriticalPath=true: reported, never changed"
INVENTORY_VERSION = 1


def tag_dict(tags: Iterable[Mapping[str, Any]] | Mapping[str, str] | None) -> dict[str, str]:
    """AWS tags, as a list ([{"Key": k, "Value": v}]) or a map (Lambda), as a sorted dict."""
    if isinstance(tags, Mapping):
        return dict(sorted(tags.items()))
    return dict(sorted((t["Key"], t.get("Value", "")) for t in tags or ()))


def parse_tag_filter(text: str) -> tuple[str, str]:
    """`Key=Value` -> (key, value); ValueError naming the problem otherwise."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"--tag expects Key=Value, got {text!r}")
    return key.strip(), value.strip()


def matches(tags: Mapping[str, str], filters: Sequence[tuple[str, str]]) -> bool:
    """Filters on the same key are alternatives (OR); different keys must all match (AND)."""
    wanted: dict[str, set[str]] = {}
    for key, value in filters:
        wanted.setdefault(key, set()).add(value)
    return all(tags.get(key) in values for key, values in wanted.items())


def exclusion(tags: Mapping[str, str]) -> str | None:
    return CRITICAL_PATH_REASON if tags.get("CriticalPath", "").strip().lower() == "true" else None


@dataclass
class Inventory:
    resources: list[Resource] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # one line each, for stderr and the report
    unreachable_regions: list[str] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (region, kind) not inventoried
    discovered: list[tuple[str, str]] = field(default_factory=list)  # (region, kind) inventoried

    @property
    def anything(self) -> bool:
        return bool(self.discovered)


def discover(
    connector,
    regions: Sequence[str],
    tag_filters: Sequence[tuple[str, str]] = (),
    sizing_keys: SizingKeys | None = None,
) -> Inventory:
    """Run every kind's `discover` in every region; faults are isolated and reported as messages."""
    from botocore.exceptions import ClientError, NoCredentialsError

    from analysis import registry
    from analysis.errors import AnalysisError
    from analysis.sources.aws import RegionHung, error_code, is_access_denied, is_unreachable

    all_kinds = registry.kinds()
    names = list(all_kinds)

    def one_region(region: str) -> Inventory:
        """This region's share; a hung or unreachable region is named and skipped."""
        part = Inventory()
        clients = connector.region(region)
        found: list[Resource] = []
        done: list[tuple[str, str]] = []
        try:
            down = connector.unreachable(region)
            for name in names if down is None else ():
                try:
                    found += all_kinds[name].discover(clients)
                    done.append((region, name))
                except ClientError as e:
                    part.skipped.append((region, name))
                    why = "access denied" if is_access_denied(e) else "API error"
                    part.messages.append(
                        f"{region}: {name} skipped: {why} ({error_code(e)}: "
                        f"{e.response.get('Error', {}).get('Message', '')})".rstrip()
                    )
        except NoCredentialsError:
            raise AnalysisError("no AWS credentials found: use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID") from None
        except Exception as e:
            if not is_unreachable(e):
                raise
            down = str(e) if isinstance(e, RegionHung) else f"{type(e).__name__}: {e}"
        if down:
            part.unreachable_regions.append(region)
            part.skipped += [(region, n) for n in names if (region, n) not in part.skipped]
            part.messages.append(f"{region}: region unreachable, skipped ({down})")
            return part
        part.discovered += done
        for r in found:
            part.messages += [f"{region}: {r.kind} {r.resource_id}: {note}" for note in r.config.get("notes", ())]
        part.resources += [r for r in found if matches(r.tags, tag_filters)]
        return part

    inv = Inventory()
    # regions in parallel: a hung one costs its own timeout budget, not the sum over regions
    with ThreadPoolExecutor(max_workers=max(1, min(len(regions), 16))) as pool:
        for part in pool.map(one_region, regions):  # merged in the order asked: deterministic
            inv.resources += part.resources
            inv.messages += part.messages
            inv.unreachable_regions += part.unreachable_regions
            inv.skipped += part.skipped
            inv.discovered += part.discovered
    keys = sizing_keys or {}
    inv.resources = sorted(
        (replace(join(r, keys), excluded=exclusion(r.tags)) for r in inv.resources),
        key=lambda r: (r.region, r.kind, r.resource_id),
    )
    return inv


# --- JSON beside the snapshot -------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in sorted(value.items())}
    return value


def _tupled(value: Any) -> Any:
    return tuple(_tupled(v) for v in value) if isinstance(value, list) else value


def resource_to_dict(r: Resource) -> dict[str, Any]:
    account = {"account": r.account} if r.account else {}  # single-account inventories are unchanged
    return account | {
        "kind": r.kind,
        "region": r.region,
        "resource_id": r.resource_id,
        "arn": r.arn,
        "tags": _plain(r.tags),
        "config": _plain(r.config),
        "stack": r.stack,
        "tfvars_keys": _plain(r.tfvars_keys),
        "excluded": r.excluded,
    }


def resource_from_dict(d: Mapping[str, Any]) -> Resource:
    return Resource(
        kind=d["kind"],
        region=d["region"],
        resource_id=d["resource_id"],
        arn=d.get("arn"),
        tags=dict(d.get("tags", {})),
        config={k: _tupled(v) for k, v in d.get("config", {}).items()},
        stack=d.get("stack"),
        tfvars_keys=dict(d.get("tfvars_keys", {})),
        excluded=d.get("excluded"),
        account=d.get("account", ""),
    )


def inventory_path(snapshot: str | Path) -> Path:
    """`metrics.parquet` -> `metrics.inventory.json` (the inventory saved beside a snapshot)."""
    p = Path(snapshot)
    return p.with_name(p.name.removesuffix(".parquet") + ".inventory.json")


def save_inventory(path: str | Path, resources: Sequence[Resource], **extra: Any) -> None:
    """Atomic, stable JSON: {"version", "resources": [...], **extra} (extra: window, coverage, usage...)."""
    from analysis.fsutil import atomic_write

    doc = {"version": INVENTORY_VERSION, **_plain(extra), "resources": [resource_to_dict(r) for r in resources]}
    atomic_write(path, json.dumps(doc, indent=2, sort_keys=True) + "\n")


MAX_INVENTORY_BYTES = 256 << 20  # ~100,000 resources; a larger file is not one `collect` wrote
_INT: tuple[type, ...] = (int,)
_OPT_INT: tuple[type, ...] = (int, type(None))
_STR: tuple[type, ...] = (str,)
_OPT_STR: tuple[type, ...] = (str, type(None))
_LIST: tuple[type, ...] = (list,)
# kind -> config field -> (JSON types accepted, required): the fields sizing and pricing read
CONFIG_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], bool]]] = {
    "asg": {
        "instance_type": (_STR, True),
        "desired_capacity": (_INT, True),
        "min_size": (_OPT_INT, False),
        "load_balancer_arns": (_LIST, False),
    },
    "elasticache": {
        "node_type": (_STR, True),
        "engine": (_OPT_STR, False),
        "num_shards": (_OPT_INT, False),
        "replicas_per_shard": (_OPT_INT, False),
        "member_clusters": (_LIST, False),
    },
    "lambda": {
        "memory_size": (_INT, True),
        "alias": (_OPT_STR, False),
        "architecture": (_OPT_STR, False),
        "provisioned_concurrency": (_OPT_INT, False),
        "notes": (_LIST, False),
    },
    "nat": {"nat_gateway_count": (_INT, True), "az_count": (_OPT_INT, False), "nat_gateway_ids": (_LIST, False)},
    "rds": {
        "instance_class": (_STR, True),
        "engine": (_OPT_STR, False),
        "multi_az": ((bool, type(None)), False),
        "allocated_storage": (_OPT_INT, False),
        "iops": (_OPT_INT, False),
        "storage_throughput": (_OPT_INT, False),
        "storage_type": (_OPT_STR, False),
        "role": (_OPT_STR, False),
        "source_id": (_OPT_STR, False),
        "replica_ids": (_LIST, False),
    },
}


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    return isinstance(value, types) and not (isinstance(value, bool) and bool not in types)


def _type_name(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "bool", type(None): "null"}.get(type(value), "number")


def _check_resource(i: int, d: Any, known_kinds: Collection[str]) -> None:
    """ValueError (one line naming resources[i] and the field) unless `d` is a valid resource."""
    import re

    from stacks.naming import REGION_RE, parse_stack

    where = f"resources[{i}]"
    if not isinstance(d, dict):
        raise ValueError(f"{where}: expected an object, got {_type_name(d)}")
    fields: dict[str, tuple[tuple[type, ...], bool]] = {
        "kind": (_STR, True),
        "region": (_STR, True),
        "resource_id": (_STR, True),
        "arn": (_OPT_STR, False),
        "tags": ((dict,), False),
        "config": ((dict,), True),
        "stack": (_OPT_STR, False),
        "tfvars_keys": ((dict,), False),
        "excluded": (_OPT_STR, False),
        "account": (_STR, False),  # multi-account inventories
    }
    for name, (types, required) in fields.items():
        if name not in d:
            if required:
                raise ValueError(f"{where}: missing field {name!r}")
        elif not _type_ok(d[name], types):
            raise ValueError(f"{where}.{name}: expected {types[0].__name__}, got {_type_name(d[name])}")
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(unknown)}")
    if d["kind"] not in known_kinds:
        raise ValueError(f"{where}.kind: unknown kind {d['kind']!r} (known: {', '.join(sorted(known_kinds))})")
    if not re.fullmatch(REGION_RE, d["region"]):
        raise ValueError(f"{where}.region: {d['region']!r} is not a region name")
    if not d["resource_id"].strip():
        raise ValueError(f"{where}.resource_id: empty")
    for name in ("tags", "tfvars_keys"):
        bad = [k for k, v in (d.get(name) or {}).items() if not isinstance(v, str)]
        if bad:
            raise ValueError(f"{where}.{name}.{bad[0]}: expected a string value")
    if d.get("stack") is not None:
        parse_stack(d["stack"])  # the naming contract: nothing like ../../outside/compute-us-east-1
    for name, (types, required) in CONFIG_SCHEMA.get(d["kind"], {}).items():
        if name not in d["config"]:
            if required:
                raise ValueError(f"{where}.config: missing field {name!r} ({d['kind']})")
        elif not _type_ok(d["config"][name], types):
            raise ValueError(
                f"{where}.config.{name}: expected {types[0].__name__}, got {_type_name(d['config'][name])}"
            )


def load_inventory_document(path: str | Path) -> dict[str, Any]:
    """The whole inventory JSON, checked against the schema (version, field types, each kind's
    config fields, stack names, no duplicate resource), with `resources` as Resource objects.
    Any defect is one AnalysisError line naming the file and the field."""
    from analysis import registry
    from analysis.errors import AnalysisError
    from stacks.tfvars import loads_strict

    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_INVENTORY_BYTES + 1)
    except FileNotFoundError:
        raise AnalysisError(f"{path}: inventory not found (written by `python -m analysis collect`)") from None
    except OSError as e:
        raise AnalysisError(f"cannot read inventory {path}: {e.strerror or type(e).__name__}") from None
    try:
        if len(raw) > MAX_INVENTORY_BYTES:
            raise ValueError(f"larger than {MAX_INVENTORY_BYTES:,} bytes")
        doc = loads_strict(raw)
        if not isinstance(doc, dict):
            raise ValueError(f"expected a JSON object, got {_type_name(doc)}")
        if doc.get("version") != INVENTORY_VERSION:
            raise ValueError(f"version {doc.get('version')!r} is not {INVENTORY_VERSION}, the one this tool reads")
        if not isinstance(doc.get("resources"), list):
            raise ValueError("resources: expected a list")
        known = set(registry.kinds())
        seen: dict[tuple[str, str, str], int] = {}
        for i, d in enumerate(doc["resources"]):
            _check_resource(i, d, known)
            key = (d["region"], d["kind"], d["resource_id"])
            if key in seen:
                raise ValueError(f"resources[{i}]: duplicate of resources[{seen[key]}] ({' '.join(key)})")
            seen[key] = i
    except ValueError as e:  # also UnicodeDecodeError, JSONDecodeError, NaN, duplicate keys
        raise AnalysisError(f"{path}: not a valid inventory ({str(e).splitlines()[0]})") from None
    doc["resources"] = [resource_from_dict(d) for d in doc["resources"]]
    return doc


def load_inventory(path: str | Path) -> list[Resource]:
    """Resources saved by `collect` (pass the .inventory.json, or the .parquet snapshot beside it)."""
    p = Path(path)
    return load_inventory_document(inventory_path(p) if p.suffix == ".parquet" else p)["resources"]
