"""Render the run's outputs from the Jinja templates in templates/ (deterministic, atomic)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.enums import RolloutMethod
from analysis.fsutil import replace_dir
from analysis.report import plan as plan_mod
from analysis.report.records import TERMS, account_totals, render_csv, render_json, totals

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
TERM_NAMES = {"on_demand": "on-demand", "reserved_1yr": "RI 1-yr", "reserved_3yr": "RI 3-yr"}


def _money(v: float | None) -> str:
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
    env.filters["md"] = _md
    env.filters["code"] = _code
    return env


def render(
    records: list[dict[str, Any]],
    meta: Mapping[str, Any],
    charts: Mapping[str, list[str]],
    plan: Mapping[str, list[plan_mod.PlannedChange]],
    tfvars_diff: str,
    schedule: Mapping[str, Any],
) -> dict[str, str]:
    """File name -> content for every report file (`schedule`: analysis.schedule.report.material)."""
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
        "schedule": schedule,
    }
    html_charts = {k: [Markup(svg) for svg in v] for k, v in charts.items()}
    return {
        "report.html": _env(True)
        .get_template("report.html.j2")
        .render(**context, charts=html_charts, heatmap=Markup(schedule["heatmap"])),
        "report.md": _env(False).get_template("report.md.j2").render(**context),
        "plan-preview.md": _env(False).get_template("plan-preview.md.j2").render(**context),
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
