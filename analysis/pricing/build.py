"""Build analysis/data/prices.json from the shared price snapshot.

    python -m analysis.pricing.build [--source SNAPSHOT] [--out analysis/data/prices.json]

Copies only the services the sizing prices, keeps `as_of`, every source and each price's
`data_date`, and keeps a missing price missing (value null plus the snapshot's `gap` text).
Adds explicit gaps for prices the analysis needs that the snapshot lacks. Output is
deterministic (sorted keys) and written atomically.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

from analysis.fsutil import atomic_write

ROOT = Path(__file__).resolve().parents[2]
SOURCE_LABEL = "../shared/data/aws-prices/prices.json"  # how prices.json names its source (from the repo root)
DEFAULT_SOURCE = (ROOT / SOURCE_LABEL).resolve()
DEFAULT_OUT = ROOT / "analysis" / "data" / "prices.json"
SERVICES = ("ec2", "rds_postgresql", "elasticache", "rds_storage", "lambda", "nat_gateway")
LEAF_KEYS = ("value", "unit", "source", "data_date", "gap", "stale", "recurring_hourly", "upfront_usd")
# Prices the sizing needs that no source in the snapshot has: recorded as gaps, never guessed.
EXTRA_GAPS = {
    "data_transfer": {
        "inter_az": {
            "standard": {
                "gb": (
                    "inter-AZ data transfer (paid when fewer NAT gateways serve more AZs) is not in the price snapshot"
                )
            }
        }
    },
}


def _leaf(leaf: dict[str, Any]) -> dict[str, Any]:
    return {k: leaf[k] for k in LEAF_KEYS if k in leaf and (leaf[k] is not None or k in ("value", "data_date"))}


def _walk(node: Any) -> Any:
    if isinstance(node, dict) and "value" in node:
        return _leaf(node)
    if isinstance(node, dict):
        return {k: _walk(v) for k, v in node.items()}
    raise ValueError(f"unexpected price node {node!r}")


def build(snapshot: dict[str, Any], source_name: str, digest: str) -> dict[str, Any]:
    missing = [s for s in SERVICES if s not in snapshot.get("prices", {})]
    if missing:
        raise ValueError(f"price snapshot lacks services: {', '.join(missing)}")
    prices = {svc: _walk(snapshot["prices"][svc]) for svc in SERVICES}
    for svc, types in EXTRA_GAPS.items():
        prices[svc] = {
            region: {
                t: {
                    d: {term: {"value": None, "data_date": None, "gap": gap} for term, gap in terms.items()}
                    for d, terms in deps.items()
                }
                for t, deps in types.items()
            }
            for region in snapshot["regions"]
        }
    used = {leaf["source"] for leaf in _leaves(prices) if leaf.get("source")}
    return {
        "schema_version": 1,
        "as_of": snapshot["as_of"],
        "as_of_note": snapshot.get("as_of_note", ""),
        "currency": snapshot["currency"],
        "regions": snapshot["regions"],
        "built_from": {"path": source_name, "sha256": digest},
        "lookup": "prices[service][region][type][deployment][term] -> {value (USD, null = missing), unit, source, data_date, gap}",
        "sources": [s for s in snapshot["sources"] if s["id"] in used],
        "prices": prices,
    }


def _leaves(node: Any):
    if isinstance(node, dict) and "value" in node:
        yield node
    elif isinstance(node, dict):
        for v in node.values():
            yield from _leaves(v)


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=1, sort_keys=True, allow_nan=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m analysis.pricing.build", description=__doc__.splitlines()[0])
    p.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    raw = args.source.read_bytes()
    doc = build(json.loads(raw), SOURCE_LABEL, hashlib.sha256(raw).hexdigest())
    atomic_write(args.out, render(doc))
    print(f"wrote {args.out} ({sum(1 for _ in _leaves(doc['prices']))} price cells, as_of {doc['as_of']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
