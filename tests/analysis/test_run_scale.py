"""`run` on a fleet snapshot: bad metrics quarantine their resource in every report (exit 1 with
--strict, never a traceback), a far-future row never moves the window, the Dask run writes the
same bytes, and a multi-account run groups its reports by account (moto)."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from analysis.cli import main
from analysis.inventory import inventory_path, save_inventory
from analysis.scale.batches import write_by_resource
from tests.analysis.test_scale import SIZING_END, START, corrupt, fleet, series_of

REPORTS = ("report.md", "report.html", "plan-preview.md", "recommendations.json", "recommendations.csv")


def snapshot_of(tmp_path, name, fault=None):
    """A 6-resource snapshot + inventory; `fault` = (metric, how) corrupts the rds primary's series."""
    resources = fleet(copies=1)
    bad = resources[0]

    def series(r):
        return corrupt(series_of(r), *fault) if fault and r is bad else series_of(r)

    path = tmp_path / f"{name}.parquet"
    write_by_resource(path, resources, series, {"window_start": START, "window_end": SIZING_END, "period": 300})
    save_inventory(inventory_path(path), resources)
    return path, bad


def run(path, out, *extra):
    return main(
        ["run", "--target", "aws", "--metrics-snapshot", str(path), "--inventory", str(inventory_path(path))]
        + ["--regions", "us-east-1", "--output", str(out), "--stacks-dir", str(out / "no-stacks"), *extra]
    )


@pytest.mark.parametrize("how", ["negative", "inf", "huge"])
def test_bad_metrics_are_quarantined_in_every_report(tmp_path, capsys, how):
    path, bad = snapshot_of(tmp_path, "bad", ("CPUUtilization", how))
    assert run(path, tmp_path / "r") == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "2 series rejected" in err and "1 resources quarantined" in err
    assert "rejected: us-east-1 AWS/RDS CPUUtilization" in err
    doc = json.loads((tmp_path / "r" / "recommendations.json").read_text())
    rec = next(r for r in doc["recommendations"] if r["resource_id"] == bad.resource_id)
    assert rec["status"] == "quarantined" and rec["changes"] == [] and "quarantined" in rec["reason"]
    assert all(r["status"] != "quarantined" for r in doc["recommendations"] if r is not rec)
    for name in ("report.md", "report.html", "recommendations.csv"):
        text = (tmp_path / "r" / name).read_text()
        assert "quarantined" in text and bad.resource_id in text
    assert run(path, tmp_path / "strict", "--strict") == 1


def test_a_row_dated_2100_never_moves_the_window(tmp_path, capsys):
    clean, _ = snapshot_of(tmp_path, "clean")
    future, _ = snapshot_of(tmp_path, "future", ("ReadIOPS", "future"))
    assert run(clean, tmp_path / "a") == 0 and run(future, tmp_path / "b") == 0
    a = json.loads((tmp_path / "a" / "recommendations.json").read_text())
    b = json.loads((tmp_path / "b" / "recommendations.json").read_text())
    assert (a["window_start"], a["window_end"]) == (b["window_start"], b["window_end"])
    assert "timestamp in the future" in capsys.readouterr().err
    assert [r["status"] for r in b["recommendations"]].count("quarantined") == 1


def test_the_dask_run_writes_the_same_reports_byte_for_byte(tmp_path):
    pytest.importorskip("dask.distributed")
    path, _ = snapshot_of(tmp_path, "fleet", ("CPUUtilization", "negative"))
    assert run(path, tmp_path / "one") == 0
    assert run(path, tmp_path / "dask", "--workers", "2", "--batch-size", "2") == 0
    for name in REPORTS:
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "dask" / name).read_bytes(), name


def test_scale_flags_are_checked(tmp_path, capsys):
    path, _ = snapshot_of(tmp_path, "fleet")
    for extra, needle in [
        (["--batch-size", "0"], "--batch-size must be a whole number >= 1"),
        (["--workers", "x"], "--workers must be a whole number >= 1"),
        (["--accounts", "123"], "--accounts takes 12-digit account ids"),
        (["--accounts", "111111111111"], "--accounts needs --role-name"),
    ]:
        assert run(path, tmp_path / "r", *extra) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and needle in err


def test_a_run_over_the_organization_groups_its_reports_by_account(aws_credentials, tmp_path):
    from analysis.run import RunOptions, Target, execute

    with mock_aws():
        org = boto3.client("organizations", region_name="us-east-1")
        org.create_organization(FeatureSet="ALL")
        members = sorted(
            org.create_account(AccountName=n, Email=f"{n}@example.com")["CreateAccountStatus"]["AccountId"]
            for n in ("prod", "dev")
        )
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        for i, account in enumerate(members):
            creds = boto3.client("sts", region_name="us-east-1").assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/Rightsize", RoleSessionName="setup"
            )["Credentials"]
            session = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name="us-east-1",
            )
            session.client("rds").create_db_instance(
                DBInstanceIdentifier=f"db-{i}",
                DBInstanceClass="db.r6g.large",
                Engine="postgres",
                AllocatedStorage=100,
                MasterUsername="u",
                MasterUserPassword="password-123",
            )
            session.client("cloudwatch").put_metric_data(
                Namespace="AWS/RDS",
                MetricData=[
                    {
                        "MetricName": "CPUUtilization",
                        "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": f"db-{i}"}],
                        "Timestamp": now - timedelta(minutes=5 * k + 10),
                        "Value": 5.0,
                    }
                    for k in range(6)
                ],
            )
        opts = RunOptions(
            target=Target.AWS,
            regions=("us-east-1",),
            days=1,
            output=tmp_path / "r",
            stacks_dir=tmp_path / "none",
            accounts="organization",
            role_name="Rightsize",
        )
        result = execute(opts, progress=lambda _: None)
    assert [(r["account"], r["resource_id"]) for r in result.records] == [(members[0], "db-0"), (members[1], "db-1")]
    doc = json.loads((tmp_path / "r" / "recommendations.json").read_text())
    assert sorted(doc["account_totals"]) == members
    md = (tmp_path / "r" / "report.md").read_text()
    assert "| account |" in md and all(f"| {m} |" in md for m in members)
    assert (tmp_path / "r" / "recommendations.csv").read_text().startswith("account,region,")
