"""Inventory against moto (`mock_aws`): all five kinds, exclusion, tag filter, managed mapping, faults."""

import json

import boto3
import pytest
from botocore.exceptions import ClientError
from conftest import write_stacks
from moto import mock_aws

from analysis import inventory, tfmap
from analysis.inventory import discover, load_inventory, matches, parse_tag_filter, save_inventory
from analysis.sources.aws import Connector

REGION = "us-east-1"


@pytest.fixture
def account(aws_credentials, staging_builder):
    with mock_aws():
        ids = staging_builder(lambda s: boto3.client(s, region_name=REGION), REGION)
        yield ids


def by_id(inv):
    return {r.resource_id: r for r in inv.resources}


def test_discovers_all_five_kinds_with_their_config(account, stacks_dir):
    inv = discover(Connector(), [REGION], sizing_keys=tfmap.load_sizing_keys(stacks_dir))
    res = by_id(inv)
    assert {r.kind for r in inv.resources} == {"rds", "elasticache", "asg", "lambda", "nat"}
    assert inv.unreachable_regions == [] and inv.skipped == []

    primary, replica = res["rightsize-staging-data-primary"], res["rightsize-staging-data-replica"]
    assert primary.config["role"] == "primary" and primary.config["replica_ids"] == ("rightsize-staging-data-replica",)
    assert (
        primary.config["instance_class"],
        primary.config["allocated_storage"],
        primary.config["iops"],
        primary.config["storage_type"],
        primary.config["multi_az"],
    ) == ("db.r6g.2xlarge", 1000, 12000, "gp3", True)
    assert replica.config["role"] == "replica" and replica.config["source_id"] == "rightsize-staging-data-primary"

    cache = res["rightsize-staging-cache"]
    assert cache.config["cluster_mode"] is True
    assert (cache.config["num_shards"], cache.config["replicas_per_shard"], len(cache.config["member_clusters"])) == (
        2,
        1,
        4,
    )
    assert res["legacy-redis"].config["cluster_mode"] is False

    asg = res["rightsize-staging-compute-asg"]
    assert asg.config["instance_type"] == "c5.4xlarge" and asg.config["architecture"] == "x86_64"
    assert asg.config["launch_template_id"] == account["template"] and asg.config["launch_template_version"] == "1"
    # moto writes NLB ARNs as .../loadbalancer/app/...; real ones say net/: the join goes through the target group
    assert asg.config["load_balancer_arns"] == (account["nlb"],)
    assert ":loadbalancer/app/" in account["nlb"] or ":loadbalancer/net/" in account["nlb"]
    assert (asg.config["min_size"], asg.config["max_size"], asg.config["desired_capacity"]) == (2, 6, 3)

    orders = res["rightsize-staging-orders"]
    assert (orders.config["memory_size"], orders.config["timeout"], orders.config["architecture"]) == (
        3008,
        900,
        "arm64",
    )
    assert orders.config["reserved_concurrency"] == 100 and orders.config["alias"] == "live"
    # moto answers 404 to provisioned concurrency: unknown counts as 0, with a note, no crash
    assert orders.config["provisioned_concurrency"] == 0 and "unknown" in orders.config["notes"][0]
    assert any("provisioned concurrency" in m for m in inv.messages)
    assert res["other-team-fn"].config["alias"] is None

    nat = res[account["vpc"]]
    assert nat.kind == "nat" and nat.config["nat_gateway_count"] == 2 and nat.config["az_count"] == 2
    assert (
        nat.config["nat_gateway_ids"] == tuple(account["nats"]) and nat.role == "vpc"
    )  # the VPC is the resource (docs/architecture.md)


def test_critical_path_resources_are_excluded_with_a_reason(account):
    res = by_id(discover(Connector(), [REGION]))
    assert "CriticalPath=true" in res["rightsize-staging-data-replica"].excluded
    assert "CriticalPath=true" in res["rightsize-staging-catalog"].excluded
    assert res["rightsize-staging-data-primary"].excluded is None and res["rightsize-staging-orders"].excluded is None


def test_managed_mapping_joins_stack_and_role_others_unmanaged(account, stacks_dir):
    res = by_id(discover(Connector(), [REGION], sizing_keys=tfmap.load_sizing_keys(stacks_dir)))
    primary = res["rightsize-staging-data-primary"]
    assert primary.stack == f"data-{REGION}" and primary.tfvars_keys["instance_class"] == "data_instance_class"
    assert res["rightsize-staging-orders"].tfvars_keys == {"memory_size": "serverless_memory_size.orders"}
    assert res[account["vpc"]].tfvars_keys == {"nat_gateway_count": "network_nat_gateway_count"}
    assert res["rightsize-staging-cache"].stack == f"cache-{REGION}"
    assert not res["legacy-redis"].managed and res["legacy-redis"].tfvars_keys == {}
    assert not res["other-team-fn"].managed
    # without synthesized stacks everything is unmanaged
    assert not any(r.managed for r in discover(Connector(), [REGION]).resources)


def test_sizing_keys_output_as_json_string_and_bad_contract(tmp_path):
    keys = tfmap.load_sizing_keys(write_stacks(tmp_path / "s", value_as_string=True))
    assert keys[f"data-{REGION}"]["primary"]["iops"] == "data_iops"
    bad = tmp_path / "bad" / "data-us-east-1"
    bad.mkdir(parents=True)
    (bad / "cdk.tf.json").write_text(json.dumps({"output": {"sizing_keys": {"value": {"primary": ["x"]}}}}))
    with pytest.raises(tfmap.StackError, match="data-us-east-1"):
        tfmap.load_sizing_keys(tmp_path / "bad")
    assert tfmap.load_sizing_keys(tmp_path / "missing") == {}


def test_tag_filter_narrows_scope(account):
    inv = discover(Connector(), [REGION], tag_filters=[("Tier", "data"), ("Tier", "cache")])
    assert {r.kind for r in inv.resources} == {"rds", "elasticache"} and "legacy-redis" not in by_id(inv)
    inv = discover(Connector(), [REGION], tag_filters=[("Tier", "serverless"), ("CriticalPath", "false")])
    assert [r.resource_id for r in inv.resources] == ["rightsize-staging-orders"]
    assert parse_tag_filter("Role=primary") == ("Role", "primary")
    with pytest.raises(ValueError, match="Key=Value"):
        parse_tag_filter("Role")
    assert matches({"A": "1"}, []) and not matches({}, [("A", "1")])


def test_access_denied_on_one_service_skips_that_kind_only(account):
    class DenyLambda(Connector):
        def client(self, service, region, **kw):
            c = super().client(service, region, **kw)
            if service == "lambda":

                def deny(**kw):
                    raise ClientError(
                        {
                            "Error": {"Code": "AccessDeniedException", "Message": "not authorized"},
                            "ResponseMetadata": {"HTTPStatusCode": 403},
                        },
                        kw["model"].name,
                    )

                c.meta.events.register("before-call.lambda.*", deny)
            return c

    inv = discover(DenyLambda(), [REGION])
    assert {r.kind for r in inv.resources} == {"rds", "elasticache", "asg", "nat"}
    assert inv.skipped == [(REGION, "lambda")]
    [line] = [m for m in inv.messages if "skipped" in m]
    assert line == f"{REGION}: lambda skipped: access denied (AccessDeniedException: not authorized)"


def test_unreachable_region_is_named_and_others_continue(account):
    class OneRegionDown(Connector):
        def endpoint(self, region):
            return "http://127.0.0.1:9" if region == "eu-west-1" else None  # nothing listens on port 9

    inv = discover(OneRegionDown(), ["eu-west-1", REGION])
    assert inv.unreachable_regions == ["eu-west-1"]
    assert any(m.startswith("eu-west-1: region unreachable") for m in inv.messages)
    assert {r.region for r in inv.resources} == {REGION} and len(inv.resources) == 9


def test_inventory_json_round_trip(account, stacks_dir, tmp_path):
    resources = discover(Connector(), [REGION], sizing_keys=tfmap.load_sizing_keys(stacks_dir)).resources
    path = tmp_path / "m.inventory.json"
    save_inventory(path, resources, window={"start": 1, "end": 2})
    again = load_inventory(path)
    assert [inventory.resource_to_dict(r) for r in again] == [inventory.resource_to_dict(r) for r in resources]
    assert again[0].config == resources[0].config  # tuples come back as tuples
    assert load_inventory(tmp_path / "m.parquet")[0].resource_id == resources[0].resource_id
    first = path.read_bytes()
    save_inventory(path, again, window={"start": 1, "end": 2})
    assert path.read_bytes() == first  # deterministic
