"""Plan preview against real synthesized stacks: count / for_each changes create or destroy (with
the alarms and routes that follow), ForceNew arguments replace, the rest updates in place."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.report.plan import FORCE_NEW, Action, StackPlan, load_stack, plan_stack, preview

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"


@pytest.fixture(scope="module")
def stacks(tmp_path_factory) -> Path:
    """us-east-1 synthesized with the committed tfvars (NAT 3, shards 6, one replica, ...)."""
    work = tmp_path_factory.mktemp("plan")
    shutil.copytree(ROOT / "tfvars", work / "tfvars")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "main.py"),
            "--regions",
            REGION,
            "--outdir",
            str(work / "out"),
            "--tfvars",
            str(work / "tfvars"),
        ],
        check=True,
        capture_output=True,
    )
    return work / "out" / "stacks"


def actions(stacks: Path, stack: str, keys: dict) -> dict[tuple[str, Action], int]:
    loaded = load_stack(stacks, stack)
    assert loaded is not None
    return {(p.address, p.action): p.instances for p in plan_stack(loaded.doc, loaded.variables, keys)}


def summary(stacks: Path, stack: str, keys: dict) -> str:
    loaded = load_stack(stacks, stack)
    assert loaded is not None
    return StackPlan(stack, resources=tuple(plan_stack(loaded.doc, loaded.variables, keys))).summary


def test_nat_consolidation_destroys_gateways_eips_alarms_and_moves_routes(stacks):
    keys = {"network_nat_gateway_count": 1}
    assert actions(stacks, "network-us-east-1", keys) == {
        ("aws_cloudwatch_metric_alarm.conn_errors", Action.DESTROY): 2,
        ("aws_eip.nat_eip", Action.DESTROY): 2,
        ("aws_nat_gateway.nat", Action.DESTROY): 2,
        ("aws_route.private_default", Action.UPDATE): 2,  # AZ 1 keeps its own gateway's route
    }
    assert summary(stacks, "network-us-east-1", keys) == "Plan: 0 to add, 2 to change, 6 to destroy."


def test_more_nat_gateways_create_them_with_their_alarms(stacks):
    got = actions(stacks, "network-us-east-1", {"network_nat_gateway_count": 3})
    assert got == {}  # already 3: nothing to do
    loaded = load_stack(stacks, "network-us-east-1")
    assert loaded is not None
    fewer = {**loaded.variables, "network_nat_gateway_count": 1}
    plans = {
        (p.address, p.action): p.instances for p in plan_stack(loaded.doc, fewer, {"network_nat_gateway_count": 3})
    }
    assert plans[("aws_nat_gateway.nat", Action.CREATE)] == 2
    assert plans[("aws_cloudwatch_metric_alarm.conn_errors", Action.CREATE)] == 2


def test_removing_the_read_replica_destroys_it(stacks):
    keys = {"data_replica_count": 0, "data_replica_instance_class": "db.r6g.large"}
    # the replica's pre-created PostgreSQL log group is counted with it
    assert actions(stacks, "data-us-east-1", keys) == {
        ("aws_db_instance.replica", Action.DESTROY): 1,
        ("aws_cloudwatch_log_group.replica_logs", Action.DESTROY): 1,
    }
    assert summary(stacks, "data-us-east-1", keys) == "Plan: 0 to add, 0 to change, 2 to destroy."


def test_fewer_shards_destroy_their_alarms_and_reshard_in_place(stacks):
    keys = {"cache_num_shards": 1}
    assert actions(stacks, "cache-us-east-1", keys) == {
        ("aws_cloudwatch_metric_alarm.conn_errors", Action.DESTROY): 5,
        ("aws_elasticache_replication_group.cluster", Action.UPDATE): 1,
    }


def test_each_variable_row_names_the_arguments_it_sets(stacks):
    loaded = load_stack(stacks, "cache-us-east-1")
    assert loaded is not None
    keys = {"cache_node_type": "cache.m6g.large", "cache_num_shards": 4}
    (cluster,) = [p for p in plan_stack(loaded.doc, loaded.variables, keys) if p.action is Action.UPDATE]
    assert cluster.why == "node_type, num_node_groups"
    assert cluster.why_for("cache_node_type") == "node_type"
    assert cluster.why_for("cache_num_shards") == "num_node_groups"


def test_lambda_memory_updates_the_function_and_moves_its_alias(stacks):
    keys = {"serverless_memory_size.orders": 512, "serverless_provisioned_concurrency.orders": 0}
    assert actions(stacks, "serverless-us-east-1", keys) == {
        ("aws_lambda_alias.orders_live", Action.UPDATE): 1,
        ("aws_lambda_function.orders", Action.UPDATE): 1,
        ("aws_lambda_provisioned_concurrency_config.orders_provisioned", Action.DESTROY): 1,
    }


def test_instance_type_gives_a_new_launch_template_version_the_asg_follows(stacks):
    assert actions(stacks, "compute-us-east-1", {"compute_instance_type": "c6i.large"}) == {
        ("aws_autoscaling_group.asg", Action.UPDATE): 1,
        ("aws_launch_template.launch_template", Action.UPDATE): 1,
    }


def test_a_force_new_argument_replaces_the_resource():
    assert "engine" in FORCE_NEW["aws_db_instance"] and "instance_class" not in FORCE_NEW["aws_db_instance"]
    doc = {
        "variable": {"data_engine": {"default": "postgres"}},
        "resource": {
            "aws_db_instance": {"primary": {"engine": "${var.data_engine}", "instance_class": "db.t4g.micro"}}
        },
    }
    plans = plan_stack(doc, {"data_engine": "postgres"}, {"data_engine": "mysql"})
    assert [(p.address, p.action, p.why) for p in plans] == [
        ("aws_db_instance.primary", Action.REPLACE, "engine forces replacement")
    ]
    assert StackPlan("data-us-east-1", resources=tuple(plans)).summary == "Plan: 1 to add, 0 to change, 1 to destroy."


def test_preview_joins_records_to_their_stack_plan(stacks, tmp_path):
    def rec(stack, key, now, new, kind="nat"):
        return {
            "stack": stack,
            "status": "emitted",
            "rollout": "replacement",
            "resource_id": "r",
            "kind": kind,
            "changes": [{"tfvars_key": key, "current": now, "proposed": new}],
        }

    plan = preview([rec("network-us-east-1", "network_nat_gateway_count", 3, 1)], stacks)
    sp = plan["network-us-east-1"]
    assert sp.counts == {"add": 0, "change": 2, "destroy": 6}
    assert sp.changes[0].addresses == (
        "aws_cloudwatch_metric_alarm.conn_errors",
        "aws_eip.nat_eip",
        "aws_nat_gateway.nat",
        "aws_route.private_default",
    )
    blue_green = {
        **rec("data-us-east-1", "data_instance_class", "db.r6g.2xlarge", "db.r6g.large", "rds"),
        "rollout": "blue-green",
    }
    data = preview([blue_green, rec("data-us-east-1", "data_replica_count", 1, 0, "rds")], stacks)["data-us-east-1"]
    assert [(c.key, c.addresses) for c in data.changes] == [
        ("data_instance_class", ()),  # written by `rollout` after the switchover: nothing left to plan
        ("data_replica_count", ("aws_cloudwatch_log_group.replica_logs", "aws_db_instance.replica")),
    ]
    assert data.summary == "Plan: 0 to add, 0 to change, 2 to destroy."
    missing = preview([rec("network-us-east-1", "network_nat_gateway_count", 3, 1)], tmp_path)
    assert not missing["network-us-east-1"].synthesized and missing["network-us-east-1"].resources == ()
