"""Collection streams a batch at a time to disk, resumes after a crash, and spans accounts
(AWS Organizations + STS AssumeRole, on moto)."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from analysis.collect import collect, parts_dir
from analysis.errors import AnalysisError, UsageError
from analysis.scale import accounts
from analysis.sources.aws import Connector
from analysis.sources.snapshot import INDEX_KEY, SnapshotSource, SnapshotWriter

REGION = "us-east-1"


def make_db(rds, name):
    rds.create_db_instance(
        DBInstanceIdentifier=name,
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        AllocatedStorage=20,
        MasterUsername="u",
        MasterUserPassword="password-123",
    )


def put_cpu(cw, name, now, n=6):
    cw.put_metric_data(
        Namespace="AWS/RDS",
        MetricData=[
            {
                "MetricName": "CPUUtilization",
                "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": name}],
                "Timestamp": now - timedelta(hours=1, minutes=5 * i),
                "Value": float(10 + i),
            }
            for i in range(n)
        ],
    )


@pytest.fixture
def databases(aws_credentials):
    with mock_aws():
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        rds, cw = boto3.client("rds", region_name=REGION), boto3.client("cloudwatch", region_name=REGION)
        for name in ("db-a", "db-b", "db-c"):
            make_db(rds, name)
            put_cpu(cw, name, now)
        yield now.timestamp()


def test_a_crash_loses_one_batch_and_resume_finishes_the_same_snapshot(databases, tmp_path, monkeypatch):
    now = databases
    clean = collect(
        Connector(), [REGION], 3, stacks_dir=tmp_path / "none", output=tmp_path / "clean.parquet", now=now, batch_size=1
    )
    assert not parts_dir(tmp_path / "clean.parquet").exists()  # the parts are joined, then removed
    meta = pq.read_metadata(tmp_path / "clean.parquet").metadata
    keys = [k for k, _, _ in json.loads(meta[INDEX_KEY.encode()])]
    assert keys == [f"{REGION}/rds/db-{x}" for x in "abc"]

    out = tmp_path / "crash.parquet"
    real_write, calls = SnapshotWriter.write, []

    def crash_on_second_batch(self, groups):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies mid-collection
        return real_write(self, groups)

    monkeypatch.setattr(SnapshotWriter, "write", crash_on_second_batch)
    with pytest.raises(KeyboardInterrupt):
        collect(Connector(), [REGION], 3, stacks_dir=tmp_path / "none", output=out, now=now, batch_size=1)
    monkeypatch.setattr(SnapshotWriter, "write", real_write)
    assert not out.exists() and len(list(parts_dir(out).rglob("part-*.parquet"))) == 1  # one batch kept

    later = now + 600  # resuming keeps the window the parts were collected for
    resumed = collect(
        Connector(), [REGION], 3, stacks_dir=tmp_path / "none", output=out, now=later, batch_size=1, resume=True
    )
    assert "resumed: 1 resources already collected" in resumed.messages[0]
    assert (resumed.start, resumed.end) == (clean.start, clean.end)
    assert out.read_bytes() == (tmp_path / "clean.parquet").read_bytes()
    assert resumed.coverage == clean.coverage


def test_without_resume_old_parts_are_discarded(databases, tmp_path):
    out = tmp_path / "m.parquet"
    stale = parts_dir(out) / "region=us-east-1" / "part-000000.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_text("garbage from an older run")
    res = collect(Connector(), [REGION], 3, stacks_dir=tmp_path / "none", output=out, now=databases)
    assert len(res.resources) == 3 and SnapshotSource(out).time_range()[0] is not None


def test_accounts_flag_values():
    assert accounts.parse_accounts("organization") == "organization"
    assert accounts.parse_accounts("111111111111, 222222222222,111111111111") == ["111111111111", "222222222222"]
    for bad in ("", "123", "111111111111,abc"):
        with pytest.raises(UsageError):
            accounts.parse_accounts(bad)


def test_every_account_of_the_organization_is_collected_through_its_role(aws_credentials, tmp_path):
    with mock_aws():
        org = boto3.client("organizations", region_name=REGION)
        org.create_organization(FeatureSet="ALL")
        members = [
            org.create_account(AccountName=n, Email=f"{n}@example.com")["CreateAccountStatus"]["AccountId"]
            for n in ("prod", "dev")
        ]
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        for i, account in enumerate(members):  # one database per member account, created as that account
            creds = boto3.client("sts", region_name=REGION).assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/Rightsize", RoleSessionName="setup"
            )["Credentials"]
            session = boto3.Session(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
                region_name=REGION,
            )
            make_db(session.client("rds"), f"db-{i}")
            put_cpu(session.client("cloudwatch"), f"db-{i}", now)
        base = Connector()
        listed = accounts.resolve(base, "organization")
        assert set(members) <= set(listed) and listed == sorted(listed)
        targets = accounts.connectors(base, members, "Rightsize", REGION)
        out = tmp_path / "org.parquet"
        res = collect(
            base, [REGION], 3, stacks_dir=tmp_path / "none", output=out, now=now.timestamp(), accounts=targets
        )
    got = sorted((r.account, r.resource_id) for r in res.resources)
    assert got == sorted([(members[0], "db-0"), (members[1], "db-1")])
    table = pq.read_table(out)
    assert "account" in table.column_names and set(table["account"].to_pylist()) == set(members)
    src = SnapshotSource(out)
    for account, rid in got:
        assert src.indexed(f"{account}/{REGION}/rds/{rid}")
    inv = json.loads(out.with_name("org.inventory.json").read_text())
    assert sorted(r["account"] for r in inv["resources"]) == sorted(members)


def test_listing_accounts_outside_an_organization_is_one_line(aws_credentials):
    with mock_aws():
        with pytest.raises(AnalysisError, match="organization"):
            accounts.resolve(Connector(), "organization")


def test_collection_on_a_local_cluster_writes_the_same_snapshot(databases, tmp_path):
    pytest.importorskip("dask.distributed")
    from analysis.scale.cluster import cluster_client

    args = dict(stacks_dir=tmp_path / "none", now=databases, batch_size=2)
    one = collect(Connector(), [REGION, "us-west-2"], 3, output=tmp_path / "one.parquet", **args)
    with cluster_client(workers=2, processes=False) as client:
        many = collect(Connector(), [REGION, "us-west-2"], 3, output=tmp_path / "dask.parquet", client=client, **args)
    assert (tmp_path / "one.parquet").read_bytes() == (tmp_path / "dask.parquet").read_bytes()
    assert many.coverage == one.coverage and many.usage.as_dict() == one.usage.as_dict()


def test_collect_flags_resume_and_batch_size(databases, tmp_path, capsys):
    from analysis.cli import main

    out = tmp_path / "m.parquet"
    args = ["collect", "--regions", REGION, "--days", "3", "--output", str(out), "--stacks-dir", str(tmp_path)]
    assert main([*args, "--batch-size", "1"]) == 0
    keys = [k for k, _, _ in json.loads(pq.read_metadata(out).metadata[INDEX_KEY.encode()])]
    assert main([*args, "--batch-size", "1", "--resume"]) == 0  # nothing on disk to resume: a fresh run
    assert [k for k, _, _ in json.loads(pq.read_metadata(out).metadata[INDEX_KEY.encode()])] == keys
    assert "wrote" in capsys.readouterr().out and not parts_dir(out).exists()
    assert main([*args, "--batch-size", "0"]) == 2
    assert "--batch-size must be a whole number >= 1" in capsys.readouterr().err
