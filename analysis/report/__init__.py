"""Render the run's outputs from the Jinja templates in templates/ (deterministic, atomic)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.enums import RolloutMethod
from analysis.fsutil import atomic_write
from analysis.report import plan as plan_mod
from analysis.report.records import TERMS, account_totals, render_csv, render_json, totals

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TERM_NAMES = {"on_demand": "on-demand", "reserved_1yr": "RI 1-yr", "reserved_3yr": "RI 3-yr"}


def _money(v: float | None) -> str:
    return "missing" if v is None else f"${v:,.2f}"


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
    env.filters["money"] = _money
    return env


def render(
    records: list[dict[str, Any]],
    meta: Mapping[str, Any],
    charts: Mapping[str, list[str]],
    plan: Mapping[str, list[plan_mod.PlannedChange]],
    tfvars_diff: str,
) -> dict[str, str]:
    """File name -> content for every report file."""
    from markupsafe import Markup

    context = {
        "meta": meta,
        "records": records,
        "totals": totals(records),
        "accounts": account_totals(records),  # {} unless the run spans several accounts
        "plan": plan,
        "tfvars_diff": tfvars_diff,
        "emitted": [r for r in records if r["status"] == "emitted"],
        "others": [r for r in records if r["status"] != "emitted"],
        "terms": TERMS,
        "term_names": TERM_NAMES,
        "plan_action": {m.value: m.plan_action for m in RolloutMethod},
    }
    html_charts = {k: [Markup(svg) for svg in v] for k, v in charts.items()}
    return {
        "report.html": _env(True).get_template("report.html.j2").render(**context, charts=html_charts),
        "report.md": _env(False).get_template("report.md.j2").render(**context),
        "plan-preview.md": _env(False).get_template("plan-preview.md.j2").render(**context),
        "recommendations.json": render_json(
            records,
            {**meta, "totals": context["totals"]}
            | ({"account_totals": context["accounts"]} if context["accounts"] else {}),
        ),
        "recommendations.csv": render_csv(records),
    }


def write(out_dir: Path, files: Mapping[str, str]) -> list[Path]:
    written = []
    for name, content in sorted(files.items()):
        atomic_write(out_dir / name, content)
        written.append(out_dir / name)
    return written
