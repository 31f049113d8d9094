"""Inventory: every sizable resource in the requested regions, filtered, marked and mapped.

Each kind declares `discover(clients) -> list[Resource]` (analysis/kinds/<kind>/inventory.py).
This module runs them per region, isolates faults (AccessDenied on one service skips that
kind, an unreachable region is named and skipped), applies the `--tag` filter and the
CriticalPath exclusion, joins managed resources to their tfvars keys (analysis/tfmap.py), and
saves/loads the inventory as JSON beside a metrics snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
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
    from analysis.sources.aws import error_code, is_access_denied, is_unreachable

    all_kinds = registry.kinds()
    names = list(all_kinds)
    inv = Inventory()
    for region in regions:
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
                    inv.skipped.append((region, name))
                    why = "access denied" if is_access_denied(e) else "API error"
                    inv.messages.append(
                        f"{region}: {name} skipped: {why} ({error_code(e)}: "
                        f"{e.response.get('Error', {}).get('Message', '')})".rstrip()
                    )
        except NoCredentialsError:
            raise AnalysisError("no AWS credentials found: use --profile, AWS_PROFILE or AWS_ACCESS_KEY_ID") from None
        except Exception as e:
            if not is_unreachable(e):
                raise
            down = f"{type(e).__name__}: {e}"
        if down:
            inv.unreachable_regions.append(region)
            inv.skipped += [(region, n) for n in names if (region, n) not in inv.skipped]
            inv.messages.append(f"{region}: region unreachable, skipped ({down})")
            continue
        inv.discovered += done
        for r in found:
            inv.messages += [f"{region}: {r.kind} {r.resource_id}: {note}" for note in r.config.get("notes", ())]
        inv.resources += [r for r in found if matches(r.tags, tag_filters)]
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


def load_inventory_document(path: str | Path) -> dict[str, Any]:
    """The whole inventory JSON, with `resources` as Resource objects."""
    from analysis.errors import AnalysisError

    try:
        doc = json.loads(Path(path).read_text())
        doc["resources"] = [resource_from_dict(d) for d in doc["resources"]]
    except FileNotFoundError:
        raise AnalysisError(f"{path}: inventory not found (written by `python -m analysis collect`)") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise AnalysisError(f"{path}: not an inventory file ({type(e).__name__}: {e})") from None
    return doc


def load_inventory(path: str | Path) -> list[Resource]:
    """Resources saved by `collect` (pass the .inventory.json, or the .parquet snapshot beside it)."""
    p = Path(path)
    return load_inventory_document(inventory_path(p) if p.suffix == ".parquet" else p)["resources"]
