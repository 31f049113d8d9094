"""The synthesized `<tier>_schedule` variable and cron locals evaluated by Terraform itself
(`terraform console`, no provider needed): the crons each service receives, and the validation
blocks rejecting what the Python contract rejects, with the same kind of one-line message."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from stacks.schedule_contract import problem

pytestmark = [
    pytest.mark.synth,
    pytest.mark.skipif(shutil.which("terraform") is None, reason="needs the terraform binary"),
]


@pytest.fixture(scope="module")
def console(synthesized, tmp_path_factory):
    """Evaluate an expression with `compute_schedule` set to a value: (ok, output)."""
    stack = synthesized["compute"]
    root: Path = tmp_path_factory.mktemp("tf")
    (root / "main.tf.json").write_text(json.dumps({"variable": stack["variable"], "locals": stack["locals"]}))
    env = {"PATH": os.environ["PATH"], "TF_CLI_CONFIG_FILE": os.devnull, "NO_COLOR": "1", "TF_IN_AUTOMATION": "1"}

    def run(value, expression: str = "local.schedule_crons") -> tuple[bool, str]:
        (root / "t.tfvars.json").write_text(json.dumps({"compute_schedule": value}))
        proc = subprocess.run(
            ["terraform", "console", "-var-file=t.tfvars.json"],
            input=expression + "\n",
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return proc.returncode == 0, proc.stdout + proc.stderr

    return run


def crons(output: str) -> dict[str, dict[str, str]]:
    """`terraform console` prints HCL; the cron map is simple enough to read back line by line."""
    out: dict[str, dict[str, str]] = {}
    key = None
    for line in output.splitlines():
        parts = [p.strip().strip('"') for p in line.split("=", 1)]
        if len(parts) == 2 and parts[1] == "{":
            key = parts[0]
            out[key] = {}
        elif len(parts) == 2 and key is not None:
            out[key][parts[0]] = parts[1]
    return out


WEEKDAYS = ["MON", "TUE", "WED", "THU", "FRI"]


def test_crons_for_a_working_week_and_a_window_across_midnight(console):
    ok, out = console(
        {
            "timezone": "Europe/Berlin",
            "windows": [
                {"days": WEEKDAYS, "start": "07:30", "hours": 13},
                {"days": ["SAT", "SUN"], "start": "22:00", "hours": 4},
            ],
        }
    )
    assert ok, out
    assert crons(out) == {
        "0": {
            "off_aws": "cron(30 20 ? * MON,TUE,WED,THU,FRI *)",
            "off_unix": "30 20 * * 1,2,3,4,5",
            "on_aws": "cron(30 7 ? * MON,TUE,WED,THU,FRI *)",
            "on_unix": "30 7 * * 1,2,3,4,5",
        },
        "1": {  # Saturday 22:00 -> Sunday 02:00, Sunday 22:00 -> Monday 02:00
            "off_aws": "cron(0 2 ? * SUN,MON *)",
            "off_unix": "0 2 * * 0,1",
            "on_aws": "cron(0 22 ? * SAT,SUN *)",
            "on_unix": "0 22 * * 6,0",
        },
    }


def test_a_weekend_long_window_switches_off_days_later(console):
    ok, out = console({"timezone": "UTC", "windows": [{"days": ["FRI"], "start": "18:00", "hours": 62}]})
    assert ok, out
    assert crons(out)["0"]["off_aws"] == "cron(0 8 ? * MON *)" and crons(out)["0"]["off_unix"] == "0 8 * * 1"


def test_null_creates_nothing(console):
    ok, out = console(None)
    assert ok and out.strip().endswith("{}"), out


@pytest.mark.parametrize(
    "value, message",
    [
        ({"timezone": "not a zone", "windows": [{"days": WEEKDAYS, "start": "07:00", "hours": 13}]}, "IANA"),
        ({"timezone": "UTC", "windows": []}, "at least one window"),
        ({"timezone": "UTC", "windows": [{"days": ["MONDAY"], "start": "07:00", "hours": 1}]}, "distinct names"),
        ({"timezone": "UTC", "windows": [{"days": ["MON", "MON"], "start": "07:00", "hours": 1}]}, "distinct names"),
        ({"timezone": "UTC", "windows": [{"days": ["MON"], "start": "24:00", "hours": 1}]}, "HH:MM"),
        ({"timezone": "UTC", "windows": [{"days": ["MON"], "start": "07:00", "hours": 168}]}, "whole number"),
        ({"timezone": "UTC", "windows": [{"days": ["MON"], "start": "07:00", "hours": 1.5}]}, "whole number"),
        (
            {
                "timezone": "UTC",
                "windows": [
                    {"days": ["MON"], "start": "07:00", "hours": 5},
                    {"days": ["MON"], "start": "12:00", "hours": 2},
                ],
            },
            "must not overlap or touch",
        ),
        (
            {
                "timezone": "UTC",
                "windows": [
                    {"days": ["SUN"], "start": "22:00", "hours": 10},
                    {"days": ["MON"], "start": "07:00", "hours": 2},
                ],
            },
            "must not overlap or touch",
        ),
    ],
)
def test_terraform_rejects_what_the_contract_rejects(console, value, message):
    assert problem(value) is not None
    ok, out = console(value)
    assert not ok and "Invalid value for variable" in out and message in out, out


def test_terraform_accepts_what_the_contract_accepts(console):
    value = {
        "timezone": "America/Argentina/Buenos_Aires",
        "windows": [
            {"days": WEEKDAYS, "start": "07:00", "hours": 13},
            {"days": ["SUN"], "start": "22:00", "hours": 8},
        ],
    }
    assert problem(value) is None
    ok, out = console(value)
    assert ok, out
