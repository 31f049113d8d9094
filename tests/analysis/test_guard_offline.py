"""The rollback loop offline: apply -> synth -> guard against the simulated account (its rollback
alarms come from the same contract as the stacks') -> restore -> synth gives back the very same
stacks, byte for byte, with no stale override copy left for Terraform to load."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis import tfvars_io
from analysis.cli import main
from analysis.errors import EXIT_OK, EXIT_ROLLED_BACK
from analysis.sim import account as sim_account

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
COMPUTE = "compute-us-east-1"  # no override before the apply: the rollback deletes the file
SERVERLESS = "serverless-us-east-1"  # has an override before: the rollback restores its bytes


def synth(project: Path) -> Path:
    out = project / "cdktf.out"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--regions",
            REGION,
            "--outdir",
            str(out),
            "--tfvars",
            str(project / "tfvars"),
        ],
        check=True,
        capture_output=True,
    )
    return out / "stacks"


def tree(stacks: Path) -> dict[str, bytes]:
    return {p.relative_to(stacks).as_posix(): p.read_bytes() for p in sorted(stacks.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the committed tfvars, synthesized for one region."""
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "tfvars", project / "tfvars")
    return project


@pytest.fixture(scope="module")
def before(project):
    return tree(synth(project))


@pytest.fixture(scope="module")
def applied(project, before):
    """compute (new file) and serverless (existing file) changed by an apply, then synthesized."""
    env = project / "tfvars" / "staging"
    assert not (env / f"{COMPUTE}.auto.tfvars.json").exists()
    assert (env / f"{SERVERLESS}.auto.tfvars.json").exists()
    tfvars_io.apply(env / f"{COMPUTE}.auto.tfvars.json", {"compute_instance_type": "c6i.large"})
    tfvars_io.apply(env / f"{SERVERLESS}.auto.tfvars.json", {"serverless_memory_size.orders": 512})
    after = tree(synth(project))
    assert after != before
    assert f"{COMPUTE}/{COMPUTE}.auto.tfvars.json" in after
    return project


def guard(project: Path, *extra: str) -> int:
    return main(
        [
            "guard",
            "--target",
            "sim",
            "--window",
            "0",
            "--regions",
            REGION,
            "--tfvars-root",
            str(project / "tfvars"),
            "--output",
            str(project / "reports"),
            "--stacks-dir",
            str(project / "cdktf.out" / "stacks"),
            *extra,
        ]
    )


def test_simulated_account_has_every_rollback_alarm_of_the_contract(applied):
    with sim_account.running(applied / "cdktf.out" / "stacks", [REGION]) as (connector, _, _):
        cw = connector.client("cloudwatch", REGION)
        found = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix="rightsize-staging-")["MetricAlarms"]}
        nlb = connector.client("elbv2", REGION).describe_load_balancers()["LoadBalancers"][0]["LoadBalancerArn"]
    names = sorted(found)
    assert "rightsize-staging-compute-conn-errors" in names
    assert [n for n in names if "-serverless-" in n] == [
        f"rightsize-staging-serverless-conn-errors-{f}"
        for f in ("catalog", "orders", "ratelimit", "reports", "sessions")
    ]
    assert any(n.startswith("rightsize-staging-cache-conn-errors-0001") for n in names)
    assert any(n.startswith(f"rightsize-staging-network-conn-errors-{REGION}") for n in names)
    compute = found["rightsize-staging-compute-conn-errors"]
    dims = compute["Metrics"][0]["MetricStat"]["Metric"]["Dimensions"]
    assert dims == [{"Name": "LoadBalancer", "Value": nlb.split(":loadbalancer/", 1)[1]}]
    assert compute["Threshold"] == 1 and compute["DatapointsToAlarm"] == 3


def test_dry_run_offline_without_and_with_a_breach(applied, capsys):
    env = applied / "tfvars" / "staging"
    files = {p: p.read_bytes() for p in env.glob("*.json")}
    assert guard(applied, "--dry-run") == EXIT_OK
    assert "no breach" in capsys.readouterr().out
    assert guard(applied, "--dry-run", "--simulate-breach") == EXIT_OK
    out = capsys.readouterr().out
    assert "BREACH" in out and "would restore 2 file(s)" in out
    assert {p: p.read_bytes() for p in env.glob("*.json")} == files


def test_breach_rolls_back_and_synth_gives_back_the_same_stacks(applied, before, capsys):
    assert guard(applied, "--simulate-breach") == EXIT_ROLLED_BACK
    assert "rolled back 2 file(s)" in capsys.readouterr().out
    assert not (applied / "tfvars" / "staging" / f"{COMPUTE}.auto.tfvars.json").exists()
    assert tree(synth(applied)) == before  # the stale compute copy is gone, serverless is the old bytes


def test_simulate_breach_needs_the_simulated_account(applied, capsys):
    assert main(["guard", "--simulate-breach", "--stack", COMPUTE, "--tfvars-root", str(applied / "tfvars")]) == 2
    assert "--simulate-breach needs --target sim" in capsys.readouterr().err
