"""Render the run's outputs from the Jinja templates in templates/ (deterministic, atomic)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.enums import RolloutMethod
from analysis.fsutil import replace_dir
from analysis.registry import get
from analysis.report import plan as plan_mod
from analysis.report.records import TERMS, account_totals, render_csv, render_json, totals

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TERM_NAMES = {"on_demand": "on-demand", "reserved_1yr": "RI 1-yr", "reserved_3yr": "RI 3-yr"}
GITHUB_COMMENT_LIMIT = 65_536  # characters of a pull-request comment; report.md stays under it
CONFIDENCE_BANDS = ((0.7, "high"), (0.4, "medium"), (0.0, "low"))  # lower bound -> band
FACTOR_NAMES = {"coverage": "coverage", "samples": "sample count", "variability": "variability", "margin": "margin"}


def money(v: float | None) -> str:
    """A monthly figure as the reports print it; a missing price is never shown as zero."""
    return "missing" if v is None else f"${v:,.2f}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # inline syntax; values are mid-line, never at a line start


def _md(value: Any) -> str:
    """Inline Markdown text that stays text: HTML and Markdown syntax escaped, one line (a value
    from a tag or an AWS reason cannot open a link, a table cell or a heading)."""
    from markupsafe import escape

    return _MD_SPECIAL.sub(r"\\\1", str(escape(" ".join(str(value).split()))))


def _code(value: Any) -> str:
    """A Markdown code span holding `value` literally: its fence is longer than any backtick run
    inside (a code span shows HTML as text, so only the fence and newlines need care)."""
    text = " ".join(str(value).split())
    fence = "`" * (max((len(r) for r in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _signed(v: float | None) -> str:
    """A saving as a change of the bill: -$1,234/month is cheaper."""
    if v is None:
        return "n/a"
    return f"{'-' if v > 0 else '+' if v < 0 else ''}${abs(v):,.0f}"


def band(confidence: float) -> str:
    return next(name for low, name in CONFIDENCE_BANDS if confidence >= low)


def weakest_factor(rec: Mapping[str, Any]) -> str:
    parts = rec["evidence"].get("confidence", {})
    known = {k: parts[k] for k in FACTOR_NAMES if isinstance(parts.get(k), (int, float))}
    if not known:
        return "no data"
    k = min(known, key=lambda f: (known[f], f))
    return f"{FACTOR_NAMES[k]} {known[k]:.2f}"


def missing_note(rec: Mapping[str, Any]) -> str | None:
    """Which prices are missing and what the figure still covers, e.g. "inter-AZ transfer price
    missing: the nat figure covers 1 NAT gateways, GB processed only"."""
    missing = sorted(set(rec["cost_current"]["missing_parts"]) | set(rec["cost_proposed"]["missing_parts"]))
    if not missing:
        return None
    priced = [p for p in rec["cost_proposed"]["priced_parts"] if p not in missing]
    covers = f"covers {', '.join(priced)} only" if priced else "has no priced part"
    return f"{', '.join(missing)} price missing: the {rec['kind']} figure {covers}"


def row(rec: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the summary table of changes."""
    saving = rec["monthly_savings_priced_on_demand"]
    current = rec["cost_current"]["known_on_demand"]
    risk = rec["evidence"].get("risk", {})
    return {
        "rec": rec,
        "anchor": f"{rec['region']}-{rec['resource_id']}",
        "saving": saving,
        "saving_text": _signed(saving),
        "percent": None if saving is None or not current else -saving / current,
        "partial": missing_note(rec),
        "band": band(rec["confidence"]),
        "weakest": weakest_factor(rec),
        "performance": risk.get("performance"),
        "performance_name": risk.get("performance_name"),
        "availability": risk.get("availability"),
        "availability_why": risk.get("availability_why", []),
        "changes": [f"{c['tfvars_key'] or c['field']} {c['current']} -> {c['proposed']}" for c in rec["changes"]],
    }


def headline(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Infracost-like: the on-demand monthly change of the whole bill if every emitted change ships."""
    current = sum(r["cost_current"]["known_on_demand"] or 0.0 for r in records)
    emitted = [r for r in records if r["status"] == "emitted"]
    saving = sum(r["monthly_savings_priced_on_demand"] or 0.0 for r in emitted)
    notes = sorted({n for n in (missing_note(r) for r in emitted) if n})
    percent = -saving / current if current else None
    text = f"{_signed(saving)}/month" + (f" ({percent:+.0%})" if percent is not None else "") + " on-demand"
    return {
        "text": text,
        "saving": round(saving, 2),
        "current": round(current, 2),
        "changes": len(emitted),
        "notes": notes,
    }


def next_steps(meta: Mapping[str, Any], applied: bool = False) -> list[tuple[str, str]]:
    """(command, what it does) from here on; the same list the run prints after --apply."""
    env = meta["environment"]
    sim = "--target sim " if meta.get("simulated") else ""
    steps = []
    if not applied:
        steps.append((f"make analyze ENVIRONMENT={env} ANALYZE_ARGS=--apply", "write the proposed tfvars"))
    steps += [
        (f"git status --short tfvars/{env}/ && git diff tfvars/{env}/", "review the written tfvars; add new files"),
        (f"make synth ENVIRONMENT={env}", "synthesize the stacks with the new tfvars"),
        ("make plan", "Terraform's own plan (needs terraform >= 1.11 and AWS credentials)"),
        (
            f".venv/bin/python -m analysis rollout --environment {env} --dry-run",
            "the rollout plan, Blue/Green included",
        ),
        (
            f".venv/bin/python -m analysis guard --environment {env} {sim}--window 0 --dry-run",
            "what a rollback would restore",
        ),
    ]
    return steps


def _env(autoescape: bool):
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters["money"] = money
    env.filters["md"] = _md
    env.filters["code"] = _code
    env.filters["signed"] = _signed
    return env


def _rollouts(records: list[dict[str, Any]]) -> dict[str, str]:
    """`<kind> <rollout>` -> how it ships: the method's plan text, with the kind's explanation where
    the method's deploy step is the kind's own (in place, replacement)."""
    out = {}
    for r in records:
        kind, method = get(r["kind"]), RolloutMethod(r["rollout"])
        detail = kind.rollout_explanation if "{detail}" in (method.deploy_step or "") else ""
        out[f"{r['kind']} {method}"] = f"{method.plan_action}: {detail}" if detail else method.plan_action
    return dict(sorted(out.items()))


def fit_comment(text: str, limit: int = GITHUB_COMMENT_LIMIT) -> str:
    """`text` cut at a line boundary, with a closing note, so it stays under `limit` characters."""
    if len(text) <= limit:
        return text
    note = "\n\n*(truncated to fit a GitHub comment: the full report is report.html / recommendations.csv)*\n"
    cut = text[: limit - len(note) - 16]
    cut = cut[: cut.rfind("\n") + 1] if "\n" in cut else cut
    if cut.count("```") % 2:  # never leave a code block open
        cut += "```\n"
    if cut.count("<details>") > cut.count("</details>"):
        cut += "</details>\n"
    return cut + note


def render(
    records: list[dict[str, Any]],
    meta: Mapping[str, Any],
    charts: Mapping[str, list[str]],
    plan: Mapping[str, plan_mod.StackPlan],
    tfvars_diff: str,
    schedule: Mapping[str, Any],
) -> dict[str, str]:
    """File name -> content for every report file (`schedule`: analysis.schedule.report.material)."""
    from markupsafe import Markup

    emitted = [r for r in records if r["status"] == "emitted"]
    rows = sorted((row(r) for r in emitted), key=lambda x: (-(x["saving"] or 0.0), x["anchor"]))
    context = {
        "meta": meta,
        "records": records,
        "totals": totals(records),
        "accounts": account_totals(records),  # {} unless the run spans several accounts
        "plan": plan,
        "tfvars_diff": tfvars_diff,
        "emitted": emitted,
        "rows": rows,
        "headline": headline(records),
        "next_steps": next_steps(meta),
        "others": [r for r in records if r["status"] != "emitted"],
        "by_status": {
            s: [r for r in records if r["status"] == s] for s in sorted({r["status"] for r in records} - {"emitted"})
        },
        "terms": TERMS,
        "term_names": TERM_NAMES,
        "rollouts": _rollouts(emitted),
        "terraform": meta.get("terraform"),
        "schedule": schedule,
    }
    html_charts = {k: [Markup(svg) for svg in v] for k, v in charts.items()}
    text = _env(False)  # the Markdown files share one environment
    return {
        "report.html": _env(True)
        .get_template("report.html.j2")
        .render(**context, charts=html_charts, heatmap=Markup(schedule["heatmap"])),
        "report.md": fit_comment(text.get_template("report.md.j2").render(**context)),
        "plan-preview.md": text.get_template("plan-preview.md.j2").render(**context),
        "recommendations.json": render_json(
            records,
            {**meta, "totals": context["totals"]}
            | ({"account_totals": context["accounts"]} if context["accounts"] else {}),
        ),
        "recommendations.csv": render_csv(records),
        "schedule.json": json.dumps(schedule["data"], indent=2, sort_keys=True) + "\n",
    }


def write(out_dir: Path, files: Mapping[str, str]) -> list[Path]:
    """Replace the report (every top-level name in `files`, e.g. the whole proposed `tfvars/`) as
    one directory swap: no file of an earlier run survives; other commands' state is kept."""
    return replace_dir(out_dir, files, owned={Path(name).parts[0] for name in files} | {"tfvars"})
