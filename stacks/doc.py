"""The README's variable table, generated from stacks/props.py (pure, no cdktf).

python -m stacks.doc           rewrite the table between the markers in README.md
python -m stacks.doc --check   exit 1 when README.md is stale
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .naming import FUNCTIONS
from .props import PROPS, environment_defaults

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- variables:start (python -m stacks.doc) -->", "<!-- variables:end -->"
COMMAND = ".venv/bin/python -m stacks.doc"


def _default(value: Any) -> str:
    if isinstance(value, dict) and set(value) == set(FUNCTIONS) and len(set(value.values())) == 1:
        return f"{json.dumps(next(iter(value.values())))} per function"
    return json.dumps(value)


def table() -> str:
    """One row per variable: stack, name, type, default (staging; where production differs, both)."""
    rows = ["| stack | variable | type | default | description |", "|---|---|---|---|---|"]
    for tier, cls in PROPS.items():
        prod = environment_defaults("production", tier)
        for f in cls.fields():
            default = _default(getattr(cls(), f.name))
            if f.name in prod:
                default += f" (production: {_default(prod[f.name])})"
            description = f.metadata["description"].replace("|", "\\|")
            rows.append(f"| {tier} | `{f.name}` | {f.metadata['tf_type']} | `{default}` | {description} |")
    return "\n".join(rows)


def render(readme: str) -> str:
    """README text with the generated table between the markers."""
    head, rest = readme.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table()}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--check", action="store_true", help="exit 1 when README.md is stale")
    args = p.parse_args(argv)
    current = README.read_text()
    wanted = render(current)
    if args.check:
        if current != wanted:
            print(f"README.md variable table is stale: run {COMMAND}", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
