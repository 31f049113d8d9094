"""`python -m analysis guard` against moto CloudWatch: breach -> byte-identical rollback (exit 3), healthy -> 0."""

import datetime as dt
import json
from pathlib import Path

import boto3
import pytest

from analysis import tfvars_io
from analysis.cli import main
from analysis.errors import EXIT_ROLLED_BACK
from analysis.fsutil import atomic_write
from analysis.rollout import alarms
from analysis.rollout.guard import Guard, targets

NLB = "net/rightsize-staging-nlb/0123456789abcdef"
COMPUTE = "tfvars/staging/compute-us-east-1.auto.tfvars.json"
ORIGINAL = b'{\n    "compute_min_size": 2\n}\n'  # hand formatted: the restore must give these exact bytes


@pytest.fixture
def cw(mocked_aws):
    return boto3.client("cloudwatch", region_name="us-east-1")


@pytest.fixture
def compute_alarm(cw):
    spec = alarms.definition("staging", "compute", "compute-us-east-1", "asg", {"LoadBalancer": NLB})
    cw.put_metric_alarm(**spec)
    return spec["AlarmName"]


@pytest.fixture
def applied(project_root):
    """compute-us-east-1 tfvars changed by an apply (previous copy kept)."""
    path = project_root / COMPUTE
    path.write_bytes(ORIGINAL)
    assert tfvars_io.apply(path, {"compute_instance_type": "c6i.2xlarge"}).changed
    return path


def traffic(cw, flows, resets, name="TCP_Target_Reset_Count"):
    now = dt.datetime.now(dt.UTC)
    dims = [{"Name": "LoadBalancer", "Value": NLB}]
    cw.put_metric_data(
        Namespace="AWS/NetworkELB",
        MetricData=[
            {"MetricName": "NewFlowCount", "Dimensions": dims, "Value": flows, "Timestamp": now},
            {"MetricName": name, "Dimensions": dims, "Value": resets, "Timestamp": now},
        ],
    )


def guard(*extra):
    return main(["guard", "--window", "0", *extra])


def test_alarm_contract_names_and_math():
    spec = alarms.definition(
        "staging",
        "serverless",
        "serverless-us-east-1",
        "orders",
        {"FunctionName": "rightsize-staging-orders", "Resource": "rightsize-staging-orders:live"},
        qualifier="orders",
    )
    assert spec["AlarmName"] == "rightsize-staging-serverless-conn-errors-orders"
    assert spec["AlarmName"].startswith(alarms.alarm_prefix("staging", "serverless"))
    ids = {q["Id"]: q.get("MetricStat", {}).get("Metric", {}).get("MetricName") for q in spec["Metrics"]}
    assert ids == {"err0": "Errors", "err1": "Throttles", "tot0": "Invocations", "tot1": "Throttles", "pct": None}
    assert (
        spec["Metrics"][-1]["Expression"]
        == "IF((FILL(tot0, 0) + FILL(tot1, 0)) > 0, 100 * (FILL(err0, 0) + FILL(err1, 0)) / (FILL(tot0, 0) + FILL(tot1, 0)), 0)"
    )
    assert (spec["Threshold"], spec["ComparisonOperator"]) == (1.0, "GreaterThanThreshold")
    assert {"Key": "Stack", "Value": "serverless-us-east-1"} in spec["Tags"]
    assert "data" not in alarms.SPECS and "data" in alarms.NO_METRIC


def test_breaching_alarm_restores_previous_tfvars_byte_identical(applied, cw, compute_alarm, capsys):
    traffic(cw, 1000, 2)
    cw.set_alarm_state(AlarmName=compute_alarm, StateValue="ALARM", StateReason="3 of 5 datapoints > 1.0")
    assert guard() == EXIT_ROLLED_BACK
    out = capsys.readouterr().out
    assert applied.read_bytes() == ORIGINAL
    assert f"BREACH us-east-1 {compute_alarm}: alarm is ALARM: 3 of 5 datapoints > 1.0" in out
    assert '-  "compute_instance_type": "c6i.2xlarge"' in out  # what was reverted
    assert "redeploy (exit 3)" in out


def test_healthy_alarm_keeps_the_change(applied, cw, compute_alarm, capsys):
    traffic(cw, 1000, 5)  # 0.5%
    changed = applied.read_bytes()
    assert guard() == 0
    out = capsys.readouterr().out
    assert "errors 5 / total 1000 = 0.50%" in out and "no breach" in out
    assert applied.read_bytes() == changed


def test_raw_metrics_breach_before_the_alarm_fires(applied, cw, compute_alarm, capsys):
    traffic(cw, 1000, 20, name="TCP_ELB_Reset_Count")  # 2%, alarm still OK
    assert guard() == EXIT_ROLLED_BACK
    assert "raw errors 20 / total 1000 = 2.00% > 1%" in capsys.readouterr().out
    assert applied.read_bytes() == ORIGINAL


def test_threshold_and_min_total_are_configurable(applied, cw, compute_alarm):
    traffic(cw, 1000, 20)
    assert guard("--threshold", "5") == 0
    assert guard("--min-total", "5000") == 0
    assert guard("--threshold", "1.5") == EXIT_ROLLED_BACK


def test_dry_run_reports_but_changes_nothing(applied, cw, compute_alarm, capsys):
    cw.set_alarm_state(AlarmName=compute_alarm, StateValue="ALARM", StateReason="breach")
    changed = applied.read_bytes()
    assert guard("--dry-run") == 0
    out = capsys.readouterr().out
    assert "would restore" in out and "nothing changed" in out
    assert applied.read_bytes() == changed


def test_no_alarms_is_an_error_not_a_pass(applied, mocked_aws, capsys):
    assert guard() == 1
    assert "no rollback alarms named rightsize-staging-compute-conn-errors*" in capsys.readouterr().err


def test_nothing_to_guard_and_bad_flags_are_usage_errors(project_root, capsys):
    assert guard() == 2
    assert "nothing to guard" in capsys.readouterr().err
    assert main(["guard", "--stack", "compute-us-east-1", "--window", "99999"]) == 2
    assert main(["guard", "--stack", "compute-us-east-1", "--window", "60", "--interval", "0"]) == 2
    assert main(["guard", "--stack", "bogus", "--window", "0"]) == 2


def test_critical_path_keys_are_never_restored(project_root, cw, make_recommendation, write_recommendations, capsys):
    fn = alarms.definition(
        "staging",
        "serverless",
        "serverless-us-east-1",
        "orders",
        {"FunctionName": "rightsize-staging-orders"},
        qualifier="orders",
    )
    cw.put_metric_alarm(**fn)
    cw.set_alarm_state(AlarmName=fn["AlarmName"], StateValue="ALARM", StateReason="breach")
    write_recommendations(
        [
            make_recommendation(
                "lambda",
                "rightsize-staging-serverless-catalog",
                "serverless-us-east-1",
                [("memory_size", "serverless_memory_size.catalog", 3008, 1024)],
                status="excluded",
            )
        ]
    )
    path = project_root / "tfvars" / "staging" / "serverless-us-east-1.auto.tfvars.json"
    atomic_write(tfvars_io.previous_path(path), b'{"serverless_memory_size": {"catalog": 3008}}\n')
    path.write_bytes(b'{"serverless_memory_size": {"catalog": 2048}}\n')  # changed by hand since
    assert guard() == 1  # a human must decide
    captured = capsys.readouterr()
    assert "NOT restoring" in captured.out and "would change CriticalPath" in captured.err
    assert path.read_bytes() == b'{"serverless_memory_size": {"catalog": 2048}}\n'


def test_watch_window_checks_until_a_breach(applied, cw, compute_alarm):
    now = [0.0]
    checks = []

    def sleep(seconds):
        now[0] += seconds
        if now[0] >= 120:  # trouble two minutes after the change
            cw.set_alarm_state(AlarmName=compute_alarm, StateValue="ALARM", StateReason="late breach")

    g = Guard(
        "staging",
        targets(applied.parents[1], "staging"),
        lambda s, r: boto3.client(s, region_name=r),
        log=checks.append,
        sleep=sleep,
        clock=lambda: now[0],
    )
    breaches = g.watch(window=600, interval=60)
    assert [b.reason for b in breaches] == ["alarm is ALARM: late breach"] and now[0] == 120
    now[0], healthy = (
        0.0,
        Guard(
            "staging",
            g.targets,
            g.client,
            sleep=lambda s: now.__setitem__(0, now[0] + s),
            clock=lambda: now[0],
            log=checks.append,
        ),
    )
    cw.set_alarm_state(AlarmName=compute_alarm, StateValue="OK", StateReason="fine")
    assert healthy.watch(window=300, interval=60) == [] and now[0] == 300


def test_blue_green_then_guard_rolls_back_and_reports_the_database_path(
    project_root, rds_primary, cw, compute_alarm, make_recommendation, write_recommendations, capsys
):
    rds = rds_primary()
    data = project_root / "tfvars" / "staging" / "data-us-east-1.auto.tfvars.json"
    before = b'{"data_replica_count": 1}\n'
    data.write_bytes(before)
    write_recommendations(
        [
            make_recommendation(
                "rds",
                "rightsize-staging-data-primary",
                "data-us-east-1",
                [("instance_class", "data_instance_class", "db.r6g.2xlarge", "db.r6g.large")],
                rollout="blue-green",
            )
        ]
    )
    assert main(["rollout", "--poll-interval", "0"]) == 0
    assert json.loads(data.read_text())["data_instance_class"] == "db.r6g.large"
    state = json.loads(
        (project_root / "reports/staging/rollout/us-east-1/rightsize-staging-data-primary.json").read_text()
    )
    capsys.readouterr()
    traffic(cw, 1000, 50)  # the app's connections fail after the switchover: 5% resets
    assert main(["guard", "--stack", "data-us-east-1", "--window", "0"]) == EXIT_ROLLED_BACK
    out = capsys.readouterr().out
    assert data.read_bytes() == before
    assert "rightsize-staging-data-primary-old1 (db.r6g.2xlarge)" in out
    assert f"pre-change snapshot {state['snapshot_id']}" in out
    assert rds.describe_db_snapshots(DBSnapshotIdentifier=state["snapshot_id"])["DBSnapshots"]


def test_cache_alarm_sums_every_node_of_the_shard(project_root, cw, capsys):
    nodes = [{"CacheClusterId": f"rightsize-staging-cache-0001-00{n}", "CacheNodeId": "0001"} for n in (1, 2, 3)]
    spec = alarms.definition("staging", "cache", "cache-us-east-1", "cluster", nodes, qualifier="0001")
    assert [q["Id"] for q in spec["Metrics"]] == ["err0n1", "err0n2", "err0n3", "tot0n1", "tot0n2", "tot0n3", "pct"]
    cw.put_metric_alarm(**spec)
    path = project_root / "tfvars" / "staging" / "cache-us-east-1.auto.tfvars.json"
    tfvars_io.apply(path, {"cache_node_type": "cache.r6g.xlarge"})
    now = dt.datetime.now(dt.UTC)

    def put(metric, node, value):
        cw.put_metric_data(
            Namespace="AWS/ElastiCache",
            MetricData=[
                {
                    "MetricName": metric,
                    "Value": value,
                    "Timestamp": now,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in node.items()],
                }
            ],
        )

    for node in nodes:
        put("NewConnections", node, 400)
    put("AuthenticationFailures", nodes[1], 10)
    assert guard() == 0
    assert "errors 10 / total 1200 = 0.83%" in capsys.readouterr().out
    put("AuthenticationFailures", nodes[2], 10)
    assert guard() == EXIT_ROLLED_BACK
    assert not path.exists()  # did not exist before the apply: the rollback deletes it


@pytest.mark.parametrize("command", ["guard", "rollout"])
def test_older_flag_spellings_mean_the_shared_ones(command):
    from analysis.args import output_dir, tfvars_root
    from analysis.cli import build_parser

    def parsed(*argv):
        args = build_parser().parse_args([command, *argv])
        return args.environment, args.regions, tfvars_root(args), output_dir(args)

    assert parsed("--env", "prod", "--region", "us-west-2", "--root", "x") == parsed(
        "--environment", "prod", "--regions", "us-west-2", "--tfvars-root", "x/tfvars", "--output", "x/reports/prod"
    )
    assert parsed() == ("staging", None, Path("tfvars"), Path("reports/staging"))
