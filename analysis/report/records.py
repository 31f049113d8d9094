"""Recommendation -> the versioned record of recommendations.json / .csv (docs/architecture.md)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Any

from analysis.enums import Status
from analysis.model import Cost, Recommendation
from analysis.registry import get
from stacks.naming import Tier

SCHEMA_VERSION = 1
TERMS = ("on_demand", "reserved_1yr", "reserved_3yr")
CSV_COLUMNS = (
    "region",
    "kind",
    "resource_id",
    "tier",
    "tfvars_file",
    "tfvars_key",
    "field",
    "current",
    "proposed",
    "confidence",
    "status",
    "risk",
    "performance_risk",
    "availability_risk",
    "rollout",
    "monthly_savings_on_demand",
    "monthly_savings_reserved_1yr",
    "monthly_savings_reserved_3yr",
    "reason",
)


def tfvars_file(environment: str, stack: str | None) -> str | None:
    """The committed override file of a managed resource's stack, as the report shows it."""
    from stacks.tfvars import override_path

    return override_path("tfvars", environment, stack).as_posix() if stack else None


def cost_dict(cost: Cost) -> dict[str, Any]:
    known = cost.known_on_demand if cost.known_on_demand is not None else cost.on_demand
    return {
        **{t: cents(getattr(cost, t)) for t in TERMS},
        "missing": sorted(cost.missing),
        "known_on_demand": cents(known),
        "priced_parts": list(cost.priced_parts),
        "missing_parts": list(cost.missing_parts),
    }


def priced_saving(rec: Recommendation) -> float | None:
    """On-demand saving over the parts both sides could price: the saving itself when every price
    is known; otherwise what the known parts show (the missing prices are named beside it)."""
    now, new = (
        c.known_on_demand if c.known_on_demand is not None else c.on_demand
        for c in (rec.cost_current, rec.cost_proposed)
    )
    return None if now is None or new is None else cents(now - new)


def savings(rec: Recommendation) -> dict[str, float | None]:
    """Current minus proposed per term; None where either price is missing (never guessed)."""
    out = {}
    for term in TERMS:
        now, new = getattr(rec.cost_current, term), getattr(rec.cost_proposed, term)
        out[term] = None if now is None or new is None else cents(now - new)
    return out


def record(rec: Recommendation, environment: str) -> dict[str, Any]:
    r = rec.resource
    account = {"account": r.account} if r.account else {}  # multi-account runs only: one-account output unchanged
    return account | {
        "region": r.region,
        "kind": r.kind,
        "resource_id": r.resource_id,
        "tier": get(r.kind).tier,
        "stack": r.stack,
        "tfvars_file": tfvars_file(environment, r.stack),
        "status": rec.status,
        "confidence": round(float(rec.confidence), 3),
        "risk": rec.risk,
        "performance_risk": rec.evidence.get("risk", {}).get("performance"),
        "availability_risk": rec.evidence.get("risk", {}).get("availability"),
        "rollout": rec.rollout,
        "reason": rec.reason,
        "changes": [
            {"field": c.field, "tfvars_key": c.tfvars_key, "current": c.current, "proposed": c.proposed}
            for c in rec.changes
        ],
        "cost_current": cost_dict(rec.cost_current),
        "cost_proposed": cost_dict(rec.cost_proposed),
        "monthly_savings": savings(rec),
        "monthly_savings_priced_on_demand": priced_saving(rec),
        "evidence": _plain(rec.evidence),
    }


def sort_key(rec: Recommendation) -> tuple[str, str, str, str]:
    return (rec.resource.account, rec.resource.region, rec.resource.kind, rec.resource.resource_id)


def records(recs: Iterable[Recommendation], environment: str) -> list[dict[str, Any]]:
    return [record(r, environment) for r in sorted(recs, key=sort_key)]


def render_json(recs: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    doc = {"schema_version": SCHEMA_VERSION, **meta, "recommendations": recs}
    return json.dumps(doc, indent=2, sort_keys=True, allow_nan=False) + "\n"


def render_csv(recs: list[dict[str, Any]]) -> str:
    """One row per change (a recommendation without changes still gets one row)."""
    buf = io.StringIO()
    accounts = any("account" in rec for rec in recs)
    writer = csv.DictWriter(buf, fieldnames=("account",) * accounts + CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for rec in recs:
        base = {
            k: rec[k]
            for k in (
                "region",
                "kind",
                "resource_id",
                "tier",
                "confidence",
                "status",
                "risk",
                "performance_risk",
                "availability_risk",
                "rollout",
                "reason",
            )
        }
        if accounts:
            base["account"] = rec.get("account", "")
        base["tfvars_file"] = rec["tfvars_file"] or "unmanaged"
        base.update({f"monthly_savings_{t}": _blank(rec["monthly_savings"][t]) for t in TERMS})
        for change in rec["changes"] or [{"field": "", "tfvars_key": None, "current": "", "proposed": ""}]:
            writer.writerow(
                {
                    **base,
                    "field": change["field"],
                    "tfvars_key": change["tfvars_key"] or ("unmanaged" if change["field"] else ""),
                    "current": _cell(change["current"]),
                    "proposed": _cell(change["proposed"]),
                }
            )
    return buf.getvalue()


def cents(v: float | None) -> float | None:
    """A dollar figure rounded to the cent for the JSON/CSV records (None stays missing)."""
    return None if v is None else round(float(v), 2)


def _blank(v: Any) -> Any:
    return "" if v is None else v


def _cell(v: Any) -> str:
    return json.dumps(v) if isinstance(v, (list, dict, bool)) or v is None else str(v)


def _plain(v: Any) -> Any:
    """Evidence as JSON-safe plain data: numpy scalars -> float, tuples -> lists, floats rounded."""
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in sorted(v.items(), key=lambda kv: str(kv[0]))}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if hasattr(v, "item"):  # numpy scalar
        v = v.item()
    if isinstance(v, float):
        return None if v != v else round(v, 4)
    return v


def totals(recs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per tier and overall: current vs proposed monthly cost per term.

    Proposed counts only emitted recommendations as changed; everything else keeps its current
    cost. A term with any missing price is summed over what is known and flagged `incomplete`.
    """
    tiers: dict[str, dict[str, Any]] = {}
    for rec in recs:
        proposed = rec["cost_proposed"] if rec["status"] == Status.EMITTED else rec["cost_current"]
        for tier in (rec["tier"], "total"):
            row = tiers.setdefault(
                tier,
                {
                    "tier": tier,
                    "resources": 0,
                    "emitted": 0,
                    **{side: {t: 0.0 for t in TERMS} for side in ("current", "proposed", "savings")},
                    "incomplete": set(),
                    "known": set(),
                },
            )
            row["resources"] += 1
            row["emitted"] += rec["status"] == Status.EMITTED
            for term in TERMS:
                now, new = rec["cost_current"][term], proposed[term]
                if now is None or new is None:
                    row["incomplete"].add(term)
                    continue
                row["known"].add(term)
                row["current"][term] += now
                row["proposed"][term] += new
                row["savings"][term] += now - new
    order = [t for t in Tier if t in tiers] + ["total"]
    out = []
    for tier in order:
        if tier not in tiers:
            continue
        row = tiers[tier]
        known = row.pop("known")
        for side in ("current", "proposed", "savings"):  # a term with no known price at all is missing
            row[side] = {t: round(v, 2) if t in known else None for t, v in row[side].items()}
        row["incomplete"] = sorted(row["incomplete"])
        out.append(row)
    return out


def account_totals(recs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Account id -> its overall totals row, for a multi-account run ({} otherwise)."""
    ids = sorted({rec["account"] for rec in recs if "account" in rec})
    return {a: totals([rec for rec in recs if rec.get("account") == a])[-1] for a in ids}
