"""Assertions on the synthesized Terraform JSON (one synth per session, see conftest)."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from stacks import FUNCTIONS, TIERS
from stacks.props import PROPS

from .conftest import ENVIRONMENT, OVERRIDES, REGIONS

pytestmark = pytest.mark.synth
EAST, WEST = "us-east-1", "us-west-2"
UNTAGGABLE = {  # resource types without a `tags` argument
    "aws_route",
    "aws_route_table_association",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_kms_alias",
    "aws_secretsmanager_secret_version",
    "aws_lambda_alias",
    "aws_autoscaling_group",
    "aws_autoscaling_policy",
    "aws_lambda_provisioned_concurrency_config",
    "aws_default_security_group_rule",
    "aws_autoscaling_schedule",
    "aws_appautoscaling_scheduled_action",
    "aws_scheduler_schedule",
}


def test_ten_stacks(synth):
    names = sorted(p.name for p in (synth.outdir / "stacks").iterdir())
    assert names == sorted(f"{t}-{r}" for t in TIERS for r in REGIONS)


@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("region", REGIONS)
def test_every_stack_has_the_contract(synth, tier, region):
    name = f"{tier}-{region}"
    stack = synth.stack(name)
    # variables are exactly the props fields, each with description and type
    fields = {f.name for f in dataclasses.fields(PROPS[tier])}
    assert set(stack["variable"]) == fields
    for var in stack["variable"].values():
        assert var["description"] and var["type"]
    # sizing_keys output
    assert stack["output"]["sizing_keys"]["value"] == {r: dict(f) for r, f in PROPS[tier].sizing_keys.items()}
    # provider region and default tags
    provider = stack["provider"]["aws"][0]
    assert provider["region"] == region
    assert provider["default_tags"][0]["tags"] == {
        "Project": "rightsize",
        "Environment": ENVIRONMENT,
        "Tier": tier,
        "ManagedBy": "cdktf",
        "Stack": name,
    }
    # every taggable resource carries the full tag contract
    for rtype, resources in stack["resource"].items():
        for rid, res in resources.items():
            if rtype in UNTAGGABLE:
                continue
            tags = res.get("tags")
            assert tags, f"{name}: {rtype}.{rid} has no tags"
            assert {"Project", "Environment", "Tier", "ManagedBy", "CriticalPath", "Stack", "Role"} <= set(tags), (
                rtype,
                rid,
            )
            assert tags["Stack"] == name and tags["Tier"] == tier and tags["Environment"] == ENVIRONMENT
            if rtype == "aws_cloudwatch_metric_alarm":  # an alarm is never on the critical path (alarm contract)
                assert tags["CriticalPath"] == "false", rid
                continue
            assert re.fullmatch(
                rf'\$\{{contains\(var\.{tier}_critical_path, "{tags["Role"]}"\) \? "true" : "false"\}}',
                tags["CriticalPath"],
            )
    # no secret in any output
    for out_name, out in stack["output"].items():
        assert "password" not in json.dumps(out.get("value")).lower(), out_name


OUTPUTS = {
    "network": {"network_vpc_id", "network_private_subnet_ids", "network_public_subnet_ids", "network_nat_gateway_ids"},
    "data": {
        "data_writer_endpoint",
        "data_reader_endpoint",
        "data_port",
        "data_database_name",
        "data_username",
        "data_secret_arn",
    },
    "cache": {"cache_configuration_endpoint", "cache_port", "cache_auth_secret_arn"},
    "compute": {"compute_nlb_dns_name", "compute_app_port", "compute_asg_name"},
    "serverless": {"serverless_function_names", "serverless_function_aliases"},
}


@pytest.mark.parametrize("tier", TIERS)
def test_output_names(synth, tier):
    assert set(synth.stack(f"{tier}-{EAST}")["output"]) == OUTPUTS[tier] | {"sizing_keys"}


def role_of(synth, stack, rtype, rid):
    return synth.resource(stack, rtype, rid)["tags"]["Role"]


# --------------------------------------------------------------------------- network
def test_network(synth):
    s = f"network-{EAST}"
    assert synth.variable(s, "network_az_count")["default"] == 3
    assert synth.variable(s, "network_nat_gateway_count")["default"] == 3
    vpc = synth.resource(s, "aws_vpc", "vpc")
    assert vpc["tags"]["Role"] == "vpc" and vpc["enable_dns_hostnames"] is True
    nat = synth.resource(s, "aws_nat_gateway", "nat")
    assert nat["count"] == "${var.network_nat_gateway_count}" and nat["tags"]["Role"] == "nat"
    for sid in ("public", "private"):
        subnet = synth.resource(s, "aws_subnet", sid)
        assert subnet["count"] == "${var.network_az_count}" and subnet["map_public_ip_on_launch"] is False
    # gateway endpoints on every private route table
    endpoints = synth.resources(s, "aws_vpc_endpoint")
    for svc in ("s3", "dynamodb"):
        ep = endpoints[f"{svc}_endpoint"]
        assert ep["vpc_endpoint_type"] == "Gateway" and ep["service_name"] == f"com.amazonaws.{EAST}.{svc}"
        assert ep["route_table_ids"] == "${aws_route_table.private_rt[*].id}"
    assert endpoints["secretsmanager_endpoint"]["private_dns_enabled"] is True
    route = synth.resource(s, "aws_route", "private_default")
    assert "aws_nat_gateway.nat[count.index % var.network_nat_gateway_count]" in route["nat_gateway_id"]
    flow = synth.resource(s, "aws_flow_log", "flow_log")
    assert flow["traffic_type"] == "ALL" and "aws_cloudwatch_log_group.flow_log_group" in flow["log_destination"]
    group = synth.resource(s, "aws_cloudwatch_log_group", "flow_log_group")
    assert (
        group["kms_key_id"] == "${aws_kms_key.kms.arn}"
        and "network_flow_log_retention_days" in group["retention_in_days"]
    )
    assert synth.resource(s, "aws_kms_key", "kms")["enable_key_rotation"] is True
    assert "ingress" not in synth.resource(s, "aws_default_security_group", "default_sg")  # deny all


# --------------------------------------------------------------------------- data
def test_data_primary_and_replica(synth):
    s = f"data-{EAST}"
    v = {name: synth.variable(s, name).get("default") for name in synth.stack(s)["variable"]}
    assert v["data_instance_class"] == "db.r6g.2xlarge" and v["data_allocated_storage"] == 1000
    assert v["data_iops"] == 12000 and v["data_storage_throughput"] == 500 and v["data_multi_az"] is True
    assert v["data_replica_count"] == 1 and v["data_backup_retention_period"] == 7
    assert v["data_deletion_protection"] is False and v["data_skip_final_snapshot"] is True
    conditions = " ".join(val["condition"] for val in synth.variable(s, "data_iops")["validation"])
    assert "12000" in conditions and "64000" in conditions and "data_allocated_storage >= 400" in conditions
    primary = synth.resource(s, "aws_db_instance", "primary")
    assert primary["instance_class"] == "${var.data_instance_class}"
    assert primary["multi_az"] == "${var.data_multi_az}" and primary["storage_type"] == "gp3"
    assert primary["iops"] == "${var.data_iops}" and primary["allocated_storage"] == "${var.data_allocated_storage}"
    assert primary["storage_encrypted"] is True and primary["kms_key_id"] == "${aws_kms_key.kms.arn}"
    assert primary["publicly_accessible"] is False and primary["tags"]["Role"] == "primary"
    assert primary["identifier"] == "rightsize-staging-data-primary"
    assert primary["deletion_protection"] == "${var.data_deletion_protection}"
    # the password only reaches write-only arguments, from an ephemeral resource
    assert "password" not in primary
    assert primary["password_wo"] == "${ephemeral.aws_secretsmanager_random_password.master.random_password}"
    assert "aws_secretsmanager_random_password" in synth.stack(s)["ephemeral"]
    version = synth.resource(s, "aws_secretsmanager_secret_version", "master_secret_version")
    assert "secret_string" not in version and "ephemeral." in version["secret_string_wo"]
    password_vars = {k: v for k, v in synth.stack(s)["variable"].items() if "password" in k}
    assert password_vars == {"data_password_version": password_vars["data_password_version"]}
    assert password_vars["data_password_version"]["type"] == "number"  # a version, never a password
    replica = synth.resource(s, "aws_db_instance", "replica")
    assert replica["count"] == "${var.data_replica_count}" and replica["tags"]["Role"] == "replica"
    assert replica["replicate_source_db"] == "${aws_db_instance.primary.identifier}"
    assert replica["instance_class"] == "${var.data_replica_instance_class}"
    # from the sorted subnet AZs, never from the primary's current AZ (a failover moves it)
    assert "aws_db_instance.primary" not in replica["availability_zone"]
    assert "data.aws_subnet.private_subnet" in replica["availability_zone"]
    params = synth.resource(s, "aws_db_parameter_group", "params")["parameter"]
    assert {"name": "rds.force_ssl", "value": "1"} in params
    sg = synth.resource(s, "aws_security_group", "db_sg")
    assert "ingress" not in sg and "egress" not in sg  # rules come from the client stacks, 5432 only


# --------------------------------------------------------------------------- cache
def test_cache_cluster(synth):
    s = f"cache-{EAST}"
    v = {name: synth.variable(s, name)["default"] for name in synth.stack(s)["variable"]}
    assert (v["cache_node_type"], v["cache_num_shards"], v["cache_replicas_per_shard"], v["cache_multi_az"]) == (
        "cache.r6g.2xlarge",
        6,
        2,
        True,
    )
    assert any(
        "cache_multi_az" in val["condition"] for val in synth.variable(s, "cache_replicas_per_shard")["validation"]
    )
    rg = synth.resource(s, "aws_elasticache_replication_group", "cluster")
    assert rg["cluster_mode"] == "enabled" and rg["automatic_failover_enabled"] is True
    assert rg["num_node_groups"] == "${var.cache_num_shards}"
    assert rg["replicas_per_node_group"] == "${var.cache_replicas_per_shard}"
    assert rg["multi_az_enabled"] == "${var.cache_multi_az}"
    assert rg["transit_encryption_enabled"] is True and rg["at_rest_encryption_enabled"] == "true"
    assert rg["kms_key_id"] == "${aws_kms_key.kms.arn}"
    assert rg["auth_token"] == "${aws_secretsmanager_secret_version.auth_secret_version.secret_string}"
    assert rg["tags"]["Role"] == "cluster" and rg["port"] == 6379
    assert synth.resource(s, "aws_secretsmanager_secret", "auth_secret")["kms_key_id"] == "${aws_kms_key.kms.arn}"


# --------------------------------------------------------------------------- compute
def rules_of(synth, stack):
    ingress = synth.resources(stack, "aws_vpc_security_group_ingress_rule")
    egress = synth.resources(stack, "aws_vpc_security_group_egress_rule")
    return ingress, egress


def test_compute_asg_and_launch_template(synth):
    s = f"compute-{EAST}"
    assert synth.variable(s, "compute_instance_type")["default"] == "c5.4xlarge"
    lt = synth.resource(s, "aws_launch_template", "launch_template")
    assert lt["instance_type"] == "${var.compute_instance_type}"
    assert lt["metadata_options"]["http_tokens"] == "required"  # IMDSv2
    assert lt["network_interfaces"][0]["associate_public_ip_address"] == "false"
    ebs = lt["block_device_mappings"][0]["ebs"]
    assert ebs["encrypted"] == "true" and ebs["kms_key_id"] == "${aws_kms_key.kms.arn}"
    assert lt["tags"]["Role"] == "asg"
    asg = synth.resource(s, "aws_autoscaling_group", "asg")
    assert asg["launch_template"]["version"] == "${aws_launch_template.launch_template.latest_version}"
    assert asg["instance_refresh"]["strategy"] == "Rolling"
    assert asg["min_size"] == "${var.compute_min_size}"
    # the target-tracking policy owns desired capacity while it is on (null: Terraform leaves it alone)
    assert asg["desired_capacity"] == (
        "${var.compute_target_cpu_utilization == null ? var.compute_desired_capacity : null}"
    )
    policy = synth.resource(s, "aws_autoscaling_policy", "cpu_target")
    assert policy["count"] == "${var.compute_target_cpu_utilization == null ? 0 : 1}"
    assert policy["policy_type"] == "TargetTrackingScaling"
    tracking = policy["target_tracking_configuration"]
    assert tracking["predefined_metric_specification"]["predefined_metric_type"] == "ASGAverageCPUUtilization"
    assert tracking["target_value"] == "${var.compute_target_cpu_utilization}"
    assert synth.variable(s, "compute_target_cpu_utilization")["default"] == 50
    tags = {t["key"]: t["value"] for t in asg["tag"]}
    assert tags["Role"] == "asg" and tags["Stack"] == s and tags["Project"] == "rightsize"
    nlb = synth.resource(s, "aws_lb", "nlb")
    assert nlb["load_balancer_type"] == "network" and nlb["tags"]["Role"] == "nlb"


def test_security_groups_least_privilege(synth):
    for s, groups in ((f"compute-{EAST}", ("app_sg", "nlb_sg")), (f"serverless-{EAST}", ("lambda_sg",))):
        ingress, egress = rules_of(synth, s)
        open_to_world = [rid for rid, r in {**ingress, **egress}.items() if r.get("cidr_ipv4") == "0.0.0.0/0"]
        assert open_to_world == (["nlb_listener_in"] if s.startswith("compute") else []), open_to_world
        for rid, rule in {**ingress, **egress}.items():
            assert rule["ip_protocol"] == "tcp" and rule["from_port"] == rule["to_port"], rid
        for g in groups:
            sg = synth.resource(s, "aws_security_group", g)
            assert "ingress" not in sg and "egress" not in sg  # no inline allow-all
    ingress, egress = rules_of(synth, f"compute-{EAST}")
    assert ingress["nlb_listener_in"]["from_port"] == "${var.compute_app_port}"
    assert ingress["app_from_nlb"]["referenced_security_group_id"] == "${aws_security_group.nlb_sg.id}"
    assert egress["nlb_to_app"]["from_port"] == "${var.compute_app_port}"
    assert {r["from_port"] for k, r in egress.items() if k.startswith("app_to")} == {5432, 6379, 443}
    assert ingress["db_from_app"]["from_port"] == 5432 and ingress["cache_from_app"]["from_port"] == 6379
    ingress, egress = rules_of(synth, f"serverless-{EAST}")
    assert {r["from_port"] for r in egress.values()} == {5432, 6379, 443}
    assert {r["from_port"] for r in ingress.values()} == {5432, 6379}


# --------------------------------------------------------------------------- serverless
def test_serverless_functions(synth):
    s = f"serverless-{EAST}"
    assert synth.variable(s, "serverless_memory_size")["default"] == {f: 3008 for f in FUNCTIONS}
    assert synth.variable(s, "serverless_timeout")["default"] == {f: 900 for f in FUNCTIONS}
    assert synth.variable(s, "serverless_reserved_concurrency")["default"] == {f: 100 for f in FUNCTIONS}
    assert synth.variable(s, "serverless_provisioned_concurrency")["default"] == {f: 50 for f in FUNCTIONS}
    stack_dir = synth.outdir / "stacks" / s
    for fn in FUNCTIONS:
        f = synth.resource(s, "aws_lambda_function", fn)
        assert f["function_name"] == f"rightsize-staging-serverless-{fn}" and f["tags"]["Role"] == fn
        assert f["memory_size"] == f'${{local.memory_size["{fn}"]}}' and f["publish"] is True
        assert f["reserved_concurrent_executions"] == f'${{local.reserved_concurrency["{fn}"]}}'
        assert f["handler"] == f"{fn}.handler.handler" and f["vpc_config"]["security_group_ids"]
        assert f["kms_key_arn"] == "${aws_kms_key.kms.arn}" and f["tracing_config"]["mode"] == "Active"
        assert (stack_dir / f["filename"]).is_file()  # the packaged code
        alias = synth.resource(s, "aws_lambda_alias", f"{fn}_live")
        assert alias["name"] == "live" and alias["function_version"] == f"${{aws_lambda_function.{fn}.version}}"
        pc = synth.resource(s, "aws_lambda_provisioned_concurrency_config", f"{fn}_provisioned")
        assert pc["qualifier"] == f"${{aws_lambda_alias.{fn}_live.name}}"
        assert pc["provisioned_concurrent_executions"] == f'${{local.provisioned_concurrency["{fn}"]}}'
        assert "local.reserved_concurrency" in pc["lifecycle"]["precondition"][0]["condition"]
    local = synth.stack(s)["locals"]["memory_size"]
    assert "var.serverless_memory_size" in local and "merge(" in local


def test_function_code_is_packaged(synth):
    import zipfile

    s = f"serverless-{EAST}"
    f = synth.resource(s, "aws_lambda_function", "orders")
    names = zipfile.ZipFile(synth.outdir / "stacks" / s / f["filename"]).namelist()
    assert {f"{fn}/handler.py" for fn in FUNCTIONS} | {"lib/pg.py", "lib/resp.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n]


# --------------------------------------------------------------------------- overrides
def test_overrides_change_what_is_synthesized(synth):
    for stack, values in OVERRIDES.items():
        copied = synth.outdir / "stacks" / stack / f"{stack}.auto.tfvars.json"
        assert json.loads(copied.read_text()) == values  # beside the stack: terraform loads it
        for key, value in values.items():
            assert synth.variable(stack, key)["default"] == value
        east = stack.replace(WEST, EAST)
        assert not (synth.outdir / "stacks" / east / f"{east}.auto.tfvars.json").exists()
    assert synth.variable(f"data-{EAST}", "data_instance_class")["default"] == "db.r6g.2xlarge"
    assert synth.variable(f"data-{WEST}", "data_instance_class")["default"] == "db.r6g.xlarge"
    assert synth.variable(f"compute-{WEST}", "compute_instance_type")["default"] == "c6i.2xlarge"
    # a partial map keeps the other functions' defaults through the merge in locals
    assert synth.variable(f"serverless-{WEST}", "serverless_memory_size")["default"] == {"orders": 1024}


def test_stack_dependencies_recorded(synth):
    manifest = json.loads((synth.outdir / "manifest.json").read_text())
    deps = manifest["stacks"][f"compute-{EAST}"]["dependencies"]
    assert set(deps) == {f"network-{EAST}", f"data-{EAST}", f"cache-{EAST}"}
