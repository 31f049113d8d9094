"""`guard` and off-hours schedules, against moto CloudWatch: a tier its schedule has switched off,
or switched on minutes ago, is not judged (no traffic is not an error, a start-up is not a
breach); once it has run past the start-up grace, a breach rolls back as always."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from analysis import tfvars_io
from analysis.cli import main
from analysis.errors import EXIT_ROLLED_BACK
from analysis.rollout import alarms
from stacks.schedule_contract import DAYS

NLB = "net/rightsize-staging-nlb/0123456789abcdef"
COMPUTE = "tfvars/staging/compute-us-east-1.auto.tfvars.json"


def window_started(minutes_ago: int, hours: int = 4) -> dict:
    """A compute schedule whose only window switched on `minutes_ago` minutes ago (UTC)."""
    start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    return {
        "timezone": "UTC",
        "windows": [{"days": [DAYS[start.weekday()]], "start": f"{start:%H:%M}", "hours": hours}],
    }


@pytest.fixture
def breaching(project_root, mocked_aws):
    """A compute change applied, its NLB alarm in ALARM."""
    cw = boto3.client("cloudwatch", region_name="us-east-1")
    spec = alarms.definition("staging", "compute", "compute-us-east-1", "asg", {"LoadBalancer": NLB})
    cw.put_metric_alarm(**spec)
    cw.set_alarm_state(AlarmName=spec["AlarmName"], StateValue="ALARM", StateReason="3 of 5 datapoints > 1.0")
    path = project_root / COMPUTE
    path.write_text('{"compute_min_size": 2}\n')

    def apply(schedule: dict | None) -> None:
        assert tfvars_io.apply(path, {"compute_instance_type": "c6i.2xlarge", "compute_schedule": schedule}).changed

    return apply, spec["AlarmName"]


def test_switched_off_tier_is_not_judged(breaching, capsys):
    apply, name = breaching
    apply(window_started(minutes_ago=-12 * 60))  # switches on in 12 hours: off now
    assert main(["guard", "--window", "0"]) == 0
    out = capsys.readouterr().out
    assert f"{name}: not judged now: switched off by its schedule" in out and "BREACH" not in out


def test_starting_tier_is_not_judged(breaching, capsys):
    apply, name = breaching
    apply(window_started(minutes_ago=5))
    assert main(["guard", "--window", "0"]) == 0
    assert "start-up within the 15 min grace is not a breach" in capsys.readouterr().out


def test_running_tier_is_judged_after_the_grace(breaching, capsys):
    apply, name = breaching
    apply(window_started(minutes_ago=120))
    assert main(["guard", "--window", "0"]) == EXIT_ROLLED_BACK
    assert f"BREACH us-east-1 {name}: alarm is ALARM" in capsys.readouterr().out


def test_corrupt_schedule_is_one_line_exit_1(breaching, project_root, capsys):
    apply, _ = breaching
    apply(window_started(minutes_ago=120))
    path = project_root / COMPUTE
    data = json.loads(path.read_text())
    data["compute_schedule"]["timezone"] = "Nowhere/City"
    path.write_text(json.dumps(data))
    assert main(["guard", "--window", "0"]) == 1
    err = capsys.readouterr().err.strip()
    assert "compute_schedule: unknown time zone 'Nowhere/City'" in err and "\n" not in err
