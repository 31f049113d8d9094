"""`python -m analysis rollout` against moto: RDS Blue/Green end to end, resume, bad input."""

import json

import boto3
import pytest

from analysis import tfvars_io
from analysis.cli import main
from analysis.rollout import bluegreen
from analysis.rollout.bluegreen import BlueGreenRollout, Settings, State
from analysis.rollout.plan import Plan

PRIMARY, REPLICA = "rightsize-staging-data-primary", "rightsize-staging-data-replica"
DATA_TFVARS = "tfvars/staging/data-us-east-1.auto.tfvars.json"
FAST = ["--poll-interval", "0", "--wait-timeout", "5"]


@pytest.fixture
def db_recommendation(make_recommendation, write_recommendations):
    rec = make_recommendation(
        "rds",
        PRIMARY,
        "data-us-east-1",
        [
            ("instance_class", "data_instance_class", "db.r6g.2xlarge", "db.r6g.large"),
            ("iops", "data_iops", 16000, 12000),
            ("storage_throughput", "data_storage_throughput", 1000, 500),
        ],
        rollout="blue-green",
    )
    write_recommendations([rec])
    return rec


def instances(rds):
    return {i["DBInstanceIdentifier"]: i for i in rds.describe_db_instances()["DBInstances"]}


def deployments(rds):
    return rds.describe_blue_green_deployments()["BlueGreenDeployments"]


def state_file(root):
    return root / "reports" / "staging" / "rollout" / "us-east-1" / f"{PRIMARY}.json"


def test_blue_green_full_path(project_root, rds_primary, db_recommendation, capsys):
    rds = rds_primary()
    data_file = project_root / DATA_TFVARS
    data_file.write_bytes(b'{"data_replica_count": 1}\n')
    assert main(["rollout", *FAST]) == 0
    out = capsys.readouterr().out
    for step in (
        "CreateDBSnapshot",
        "CreateBlueGreenDeployment",
        "SwitchoverBlueGreenDeployment",
        "post-check ok",
        "DeleteBlueGreenDeployment",
        "done",
    ):
        assert step in out
    live = instances(rds)
    assert set(live) == {PRIMARY, f"{PRIMARY}-old1", REPLICA}  # no green left behind, blue kept
    new = live[PRIMARY]
    assert (new["DBInstanceClass"], new["Iops"], new["StorageThroughput"]) == ("db.r6g.large", 12000, 500)
    assert live[f"{PRIMARY}-old1"]["DBInstanceClass"] == "db.r6g.2xlarge"
    assert deployments(rds) == []
    state = json.loads(state_file(project_root).read_text())
    assert state["phase"] == "completed" and state["source_class"] == "db.r6g.2xlarge"
    snaps = rds.describe_db_snapshots(DBSnapshotIdentifier=state["snapshot_id"])["DBSnapshots"]
    assert snaps[0]["DBInstanceIdentifier"] == PRIMARY
    # tfvars updated so the next plan is a no-op; other keys kept; previous kept for guard
    assert json.loads(data_file.read_text()) == {
        "data_instance_class": "db.r6g.large",
        "data_iops": 12000,
        "data_replica_count": 1,
        "data_storage_throughput": 500,
    }
    assert tfvars_io.previous_path(data_file).read_bytes() == b'{"data_replica_count": 1}\n'
    # rerun: nothing to do, no second deployment
    assert main(["rollout", *FAST]) == 0
    assert "already at target" in capsys.readouterr().out
    assert deployments(rds) == [] and set(instances(rds)) == {PRIMARY, f"{PRIMARY}-old1", REPLICA}


def _interrupt_once(monkeypatch, method):
    real = getattr(BlueGreenRollout, method)
    calls = {"n": 0}

    def flaky(self, *a, **kw):
        calls["n"] += 1
        if calls["n"] == 1:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(BlueGreenRollout, method, flaky)


def _count_creates(monkeypatch):
    created = []
    real = BlueGreenRollout.create
    monkeypatch.setattr(BlueGreenRollout, "create", lambda self, inst: created.append(1) or real(self, inst))
    return created


@pytest.mark.parametrize("lose_state", [False, True], ids=["state-file", "found-by-source-arn"])
def test_interrupted_after_create_resumes_the_same_deployment(
    project_root, rds_primary, db_recommendation, monkeypatch, capsys, lose_state
):
    rds = rds_primary()
    created = _count_creates(monkeypatch)
    _interrupt_once(monkeypatch, "drive")
    assert main(["rollout", *FAST]) == 130  # interrupted right after CreateBlueGreenDeployment
    [dep] = deployments(rds)
    assert dep["Status"] == "AVAILABLE" and instances(rds)[PRIMARY]["DBInstanceClass"] == "db.r6g.2xlarge"
    assert not (project_root / DATA_TFVARS).exists()
    if lose_state:
        state_file(project_root).unlink()
    capsys.readouterr()
    assert main(["rollout", *FAST]) == 0
    out = capsys.readouterr().out
    assert f"resuming deployment {dep['BlueGreenDeploymentIdentifier']}" in out
    assert len(created) == 1  # never a second deployment
    assert deployments(rds) == []
    assert set(instances(rds)) == {PRIMARY, f"{PRIMARY}-old1", REPLICA}
    assert instances(rds)[PRIMARY]["DBInstanceClass"] == "db.r6g.large"
    assert json.loads((project_root / DATA_TFVARS).read_text())["data_instance_class"] == "db.r6g.large"


def test_interrupted_after_switchover_finishes_without_switching_again(
    project_root, rds_primary, db_recommendation, monkeypatch, capsys
):
    rds = rds_primary()
    _interrupt_once(monkeypatch, "post_check")
    assert main(["rollout", *FAST]) == 130
    [dep] = deployments(rds)
    assert dep["Status"] == "SWITCHOVER_COMPLETED"
    assert json.loads(state_file(project_root).read_text())["phase"] == "switched"
    capsys.readouterr()
    assert main(["rollout", *FAST]) == 0
    out = capsys.readouterr().out
    assert "SWITCHOVER_COMPLETED" in out and f"rollout {PRIMARY}: SwitchoverBlueGreenDeployment" not in out
    assert "post-check ok" in out and deployments(rds) == []
    assert set(instances(rds)) == {PRIMARY, f"{PRIMARY}-old1", REPLICA}


def test_foreign_deployment_is_not_adopted(project_root, rds_primary, db_recommendation, capsys):
    rds = rds_primary()
    arn = instances(rds)[PRIMARY]["DBInstanceArn"]
    rds.create_blue_green_deployment(
        BlueGreenDeploymentName="someone-else", Source=arn, TargetDBInstanceClass="db.r6g.xlarge"
    )
    assert main(["rollout", *FAST]) == 1
    assert "not started by this tool" in capsys.readouterr().err
    assert len(deployments(rds)) == 1 and not (project_root / DATA_TFVARS).exists()


def _nothing_changed(rds, root):
    assert deployments(rds) == []
    assert rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    assert instances(rds)[PRIMARY]["DBInstanceClass"] == "db.r6g.2xlarge"
    assert not (root / DATA_TFVARS).exists() and not (root / "tfvars" / "staging" / ".previous").exists()


def test_missing_backups_is_a_clear_error_and_changes_nothing(project_root, rds_primary, db_recommendation, capsys):
    rds = rds_primary(backup_retention=0, replica=False)
    assert main(["rollout", *FAST]) == 1
    err = capsys.readouterr().err.strip()
    assert "BackupRetentionPeriod=0" in err and "\n" not in err
    _nothing_changed(rds, project_root)


def test_critical_path_tag_on_the_live_instance_blocks_rollout(project_root, rds_primary, db_recommendation, capsys):
    rds = rds_primary(critical=True)
    assert main(["rollout", *FAST]) == 1
    assert "CriticalPath=true" in capsys.readouterr().err
    _nothing_changed(rds, project_root)


def test_live_settings_differing_from_the_recommendation_stop_the_rollout(
    project_root, rds_primary, db_recommendation, capsys
):
    rds = rds_primary(instance_class="db.r6g.4xlarge")
    assert main(["rollout", *FAST]) == 1
    assert "re-run the analysis" in capsys.readouterr().err
    assert deployments(rds) == [] and rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []


def test_storage_shrink_is_refused_before_any_aws_call(
    project_root, make_recommendation, write_recommendations, capsys
):
    write_recommendations(
        [
            make_recommendation(
                "rds",
                PRIMARY,
                "data-us-east-1",
                [("allocated_storage", "data_allocated_storage", 1000, 800)],
                rollout="blue-green",
            )
        ]
    )
    for extra in ([], ["--dry-run"]):
        assert main(["rollout", "--endpoint-url", "http://127.0.0.1:9", *extra]) == 1
        err = capsys.readouterr().err
        assert "shrink" in err and "can never be reduced" in err
    assert not (project_root / "tfvars" / "staging" / "data-us-east-1.auto.tfvars.json").exists()


def test_unknown_resource_is_a_usage_error(project_root, db_recommendation, capsys):
    assert main(["rollout", "--resource", "rightsize-staging-data-nope", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert "unknown resource 'rightsize-staging-data-nope'" in err and PRIMARY in err


def test_missing_or_corrupt_recommendations(project_root, capsys):
    assert main(["rollout", "--dry-run"]) == 1
    assert "run `make analyze` first" in capsys.readouterr().err
    (project_root / "reports" / "staging" / "recommendations.json").write_text("{oops")
    assert main(["rollout", "--dry-run"]) == 1
    assert "corrupt recommendations JSON" in capsys.readouterr().err


def test_dry_run_prints_every_change_with_its_method(project_root, make_recommendation, write_recommendations, capsys):
    r = make_recommendation
    write_recommendations(
        [
            r(
                "rds",
                PRIMARY,
                "data-us-east-1",
                [("instance_class", "data_instance_class", "db.r6g.2xlarge", "db.r6g.large")],
                rollout="blue-green",
            ),
            r(
                "rds",
                REPLICA,
                "data-us-east-1",
                [("instance_class", "data_replica_instance_class", "db.r6g.2xlarge", "db.r6g.xlarge")],
            ),
            r(
                "asg",
                "rightsize-staging-compute-asg",
                "compute-us-east-1",
                [("instance_type", "compute_instance_type", "c5.4xlarge", "c6i.2xlarge")],
                rollout="rolling-instance-refresh",
            ),
            r(
                "lambda",
                "rightsize-staging-serverless-orders",
                "serverless-us-east-1",
                [("memory_size", "serverless_memory_size.orders", 3008, 1024)],
                rollout="alias-shift",
            ),
            r(
                "elasticache",
                "rightsize-staging-cache-cluster",
                "cache-us-east-1",
                [("node_type", "cache_node_type", "cache.r6g.2xlarge", "cache.r6g.xlarge")],
            ),
            r(
                "lambda",
                "rightsize-staging-serverless-reports",
                "serverless-us-east-1",
                [("memory_size", "serverless_memory_size.reports", 3008, 1024)],
                status="excluded",
            ),
            r("asg", "legacy-asg", None, [("instance_type", None, "m5.xlarge", "m6i.large")]),
        ]
    )
    assert main(["rollout", "--dry-run", "--endpoint-url", "http://127.0.0.1:9"]) == 0
    out = capsys.readouterr().out
    assert "5 change(s), 2 skipped (dry run: nothing changed)" in out
    assert "method: blue-green" in out and "TargetDBInstanceClass=db.r6g.large" in out
    assert "method: rolling-instance-refresh" in out and "instance refresh" in out
    assert "method: alias-shift" in out and "alias shifts" in out
    assert out.count("method: in-place") == 2 and "online vertical scaling" in out
    assert "rightsize-staging-serverless-reports: skipped: excluded (CriticalPath=true)" in out
    assert "legacy-asg: skipped: unmanaged" in out
    assert "guard --environment staging --stack compute-us-east-1" in out
    assert not list((project_root / "tfvars" / "staging").iterdir())


def test_excluded_resource_cannot_be_picked(project_root, make_recommendation, write_recommendations, capsys):
    write_recommendations(
        [
            make_recommendation(
                "lambda",
                "rightsize-staging-serverless-reports",
                "serverless-us-east-1",
                [("memory_size", "serverless_memory_size.reports", 3008, 1024)],
                status="excluded",
            )
        ]
    )
    assert main(["rollout", "--resource", "rightsize-staging-serverless-reports"]) == 2
    assert "CriticalPath" in capsys.readouterr().err
    assert not list((project_root / "tfvars" / "staging").iterdir())


def test_non_database_change_writes_tfvars_and_says_how_it_ships(
    project_root, make_recommendation, write_recommendations, capsys
):
    write_recommendations(
        [
            make_recommendation(
                "asg",
                "rightsize-staging-compute-asg",
                "compute-us-east-1",
                [("instance_type", "compute_instance_type", "c5.4xlarge", "c6i.2xlarge")],
                rollout="rolling-instance-refresh",
            )
        ]
    )
    assert main(["rollout", "--endpoint-url", "http://127.0.0.1:9"]) == 0
    out = capsys.readouterr().out
    path = project_root / "tfvars" / "staging" / "compute-us-east-1.auto.tfvars.json"
    assert json.loads(path.read_text()) == {"compute_instance_type": "c6i.2xlarge"}
    assert tfvars_io.previous_path(path).read_bytes() == b""  # absent before: a rollback deletes it
    assert "cdktf deploy compute-us-east-1" in out


def test_replica_lag_gate(mocked_aws):
    import datetime as dt

    cw = boto3.client("cloudwatch", region_name="us-east-1")
    now = dt.datetime.now(dt.UTC)

    def lag(db, value):
        cw.put_metric_data(
            Namespace="AWS/RDS",
            MetricData=[
                {
                    "MetricName": "ReplicaLag",
                    "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": db}],
                    "Value": value,
                    "Timestamp": now,
                }
            ],
        )

    plan = Plan(
        {
            "resource_id": PRIMARY,
            "region": "us-east-1",
            "stack": "data-us-east-1",
            "kind": "rds",
            "tfvars_file": DATA_TFVARS,
            "changes": [],
        },
        "blue-green",
        (),
    )
    lines = []
    ticks = iter(range(1000))
    r = BlueGreenRollout(
        plan,
        rds=None,
        cloudwatch=cw,
        state=State(None),
        tfvars=None,
        settings=Settings(poll_interval=0, lag_timeout=3, max_replica_lag=10),
        log=lines.append,
        sleep=lambda s: None,
        clock=lambda: next(ticks),
    )
    r.state.save = lambda **kw: None
    lag("green-low", 2.0)
    r.wait_replica_lag("green-low")
    assert "ReplicaLag 2 s <= 10 s" in lines[-1]
    lag("green-high", 120.0)
    with pytest.raises(bluegreen.AnalysisError, match="ReplicaLag 120 s stayed above 10 s"):
        r.wait_replica_lag("green-high")
    r.wait_replica_lag("green-none")  # no datapoints: trust the switchover guardrails
    assert "relying on the switchover guardrails" in lines[-1]
    r.s.require_replica_lag = True
    with pytest.raises(bluegreen.AnalysisError, match="no ReplicaLag datapoints"):
        r.wait_replica_lag("green-none")


def test_cli_rollout_and_guard_through_an_endpoint_url(
    project_root, aws_credentials, make_recommendation, write_recommendations
):
    """The real command in a child process, against the moto server: every client honours --endpoint-url."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from analysis.sim.motoserver import running

    repo = Path(__file__).resolve().parents[2]
    write_recommendations(
        [
            make_recommendation(
                "rds",
                PRIMARY,
                "data-us-east-1",
                [("instance_class", "data_instance_class", "db.r6g.2xlarge", "db.r6g.large")],
                rollout="blue-green",
            )
        ]
    )
    env = {**os.environ, "PYTHONPATH": str(repo)}
    with running() as url:
        rds = boto3.client("rds", region_name="us-east-1", endpoint_url=url)
        rds.create_db_instance(
            DBInstanceIdentifier=PRIMARY,
            DBInstanceClass="db.r6g.2xlarge",
            Engine="postgres",
            AllocatedStorage=1000,
            StorageType="gp3",
            Iops=12000,
            MasterUsername="app",
            MasterUserPassword="not-a-real-secret-1",
            BackupRetentionPeriod=7,
        )
        rds.create_db_instance_read_replica(DBInstanceIdentifier=REPLICA, SourceDBInstanceIdentifier=PRIMARY)
        done = subprocess.run(
            [sys.executable, "-m", "analysis", "rollout", "--endpoint-url", url, "--poll-interval", "0"],
            cwd=project_root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert instances(rds)[PRIMARY]["DBInstanceClass"] == "db.r6g.large"
        cw = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=url)
        from analysis.rollout import alarms

        cw.put_metric_alarm(
            **alarms.definition(
                "staging", "compute", "compute-us-east-1", "asg", {"LoadBalancer": "net/rightsize-staging-nlb/1"}
            )
        )
        cw.set_alarm_state(AlarmName="rightsize-staging-compute-conn-errors", StateValue="ALARM", StateReason="test")
        guarded = subprocess.run(
            [sys.executable, "-m", "analysis", "guard", "--window", "0"],
            cwd=project_root,
            env={**env, "AWS_ENDPOINT_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert guarded.returncode == 3, guarded.stderr
        assert not (project_root / DATA_TFVARS).exists()  # created by the rollout, deleted by the rollback


def test_plan_follows_the_method_the_sizing_decided(make_recommendation):
    from analysis.errors import AnalysisError
    from analysis.rollout.plan import plan_record

    nat = make_recommendation(
        "nat",
        "vpc-1",
        "network-us-east-1",
        [("nat_gateway_count", "network_nat_gateway_count", 3, 1)],
        rollout="replacement",
    )
    plan = plan_record(nat, "staging", 900)
    assert plan.method == "replacement" and "destroyed and created" in plan.steps[1]
    with pytest.raises(AnalysisError, match="unknown rollout method"):
        plan_record({**nat, "rollout": "teleport"}, "staging", 900)
