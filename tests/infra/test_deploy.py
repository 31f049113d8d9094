"""Infrastructure that deploys: one test per defect a `terraform plan` / `apply` would hit
(checked on the synthesized JSON), state per environment, and the backend choice."""

from __future__ import annotations

import json
import re

import pytest

from stacks import rules
from stacks.alarms_contract import MAX_ALARM_METRICS, SPECS
from stacks.naming import TIERS, stack_name

from .conftest import ENVIRONMENT, REGIONS, ROOT, run_main

EAST = REGIONS[0]
pytestmark = pytest.mark.synth


def _statements(synth, stack: str) -> list[dict]:
    return json.loads(synth.resource(stack, "aws_kms_key", "kms")["policy"])["Statement"]


def test_asg_service_linked_role_may_use_the_volume_key(synth):
    """1. The EC2 Auto Scaling guide's two key-policy statements for AWSServiceRoleForAutoScaling."""
    s = f"compute-{EAST}"
    role = synth.stack(s)["data"]["aws_iam_role"]["autoscaling_service_role"]
    assert role["name"] == "AWSServiceRoleForAutoScaling"
    arn = "${data.aws_iam_role.autoscaling_service_role.arn}"
    by_sid = {st.get("Sid"): st for st in _statements(synth, s)}
    use, attach = by_sid["AutoScalingUse"], by_sid["AutoScalingAttach"]
    assert use["Principal"] == {"AWS": arn} and attach["Principal"] == {"AWS": arn}
    assert set(use["Action"]) == {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
    }
    assert attach["Action"] == "kms:CreateGrant"
    assert attach["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": True}}
    ebs = synth.resource(s, "aws_launch_template", "launch_template")["block_device_mappings"][0]["ebs"]
    assert ebs["kms_key_id"] == "${aws_kms_key.kms.arn}"  # the key the statements are on
    # only compute launches instances
    assert "AutoScalingUse" not in {st.get("Sid") for st in _statements(synth, f"data-{EAST}")}


def test_replica_az_survives_a_failover(synth):
    """2. The replica's AZ (forces a new replica) comes from the sorted subnet AZs."""
    az = synth.resource(f"data-{EAST}", "aws_db_instance", "replica")["availability_zone"]
    assert "aws_db_instance.primary" not in az
    assert az == (
        "${element(sort(distinct([for s in data.aws_subnet.private_subnet : s.availability_zone])), count.index + 1)}"
    )


def test_same_region_replica_inherits_encryption(synth):
    """3. kms_key_id on an encrypted same-region replica is InvalidParameterCombination."""
    primary = synth.resource(f"data-{EAST}", "aws_db_instance", "primary")
    replica = synth.resource(f"data-{EAST}", "aws_db_instance", "replica")
    assert primary["storage_encrypted"] is True and primary["kms_key_id"] == "${aws_kms_key.kms.arn}"
    assert "kms_key_id" not in replica and "storage_encrypted" not in replica


@pytest.mark.parametrize("name", [stack_name(t, r) for r in REGIONS for t in TIERS])
def test_every_stack_requires_terraform_1_11(synth, name):
    """4. Write-only arguments need 1.11: older Terraform stops with its own message."""
    assert synth.stack(name)["terraform"]["required_version"] == ">= 1.11"


def test_apply_immediately_is_per_environment(synth, synth_production):
    """5. On in staging, off in production, and a plan warning says when changes wait."""
    for tier, resource, rtype in (
        ("data", "primary", "aws_db_instance"),
        ("cache", "cluster", "aws_elasticache_replication_group"),
    ):
        var = f"{tier}_apply_immediately"
        assert synth.resource(f"{tier}-{EAST}", rtype, resource)["apply_immediately"] == f"${{var.{var}}}"
        assert synth.variable(f"{tier}-{EAST}", var)["default"] is True
        assert synth_production.variable(f"{tier}-{EAST}", var)["default"] is False
        (assertion,) = synth_production.stack(f"{tier}-{EAST}")["check"]["apply_immediately"]["assert"]
        assert assertion["condition"] == f"${{var.{var}}}" and "maintenance window" in assertion["error_message"]
    assert synth.resource(f"data-{EAST}", "aws_db_instance", "replica")["apply_immediately"] == (
        "${var.data_apply_immediately}"
    )


def test_state_is_per_environment_and_relative(synth, synth_production):
    """6. Local default: a relative path per environment; two environments never share state."""
    paths = {}
    for env, s in ((ENVIRONMENT, synth), ("production", synth_production)):
        backend = s.stack(f"data-{EAST}")["terraform"]["backend"]
        assert list(backend) == ["local"]
        paths[env] = backend["local"]["path"]
        assert paths[env] == f"../../../state/{env}/data-{EAST}.tfstate"
    assert paths[ENVIRONMENT] != paths["production"]
    for s in (synth, synth_production):
        for stack_dir in (s.outdir / "stacks").iterdir():
            text = (stack_dir / "cdk.tf.json").read_text()
            assert str(ROOT) not in text and str(s.outdir) not in text, f"{stack_dir.name}: absolute path"


def test_s3_backend_with_native_lock_file(synth_s3):
    backend = synth_s3.stack(f"network-{EAST}")["terraform"]["backend"]
    assert backend == {
        "s3": {
            "bucket": "rightsize-tfstate",
            "key": f"dev/network-{EAST}.tfstate",
            "region": "eu-west-1",
            "encrypt": True,
            "use_lockfile": True,
        }
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["--backend", "s3"], "--state-bucket must be an S3 bucket name"),
        (["--backend", "s3", "--state-bucket", "b-1", "--state-region", "mars"], "--state-region must be"),
        (["--state-bucket", "b-1"], "are for the s3 backend"),
    ],
)
def test_bad_backend_flags_fail_in_one_line(args, message):
    proc = run_main("--regions", EAST, *args)
    assert proc.returncode == 2 and message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_ranges_that_pass_validation_pass_the_plan(synth):
    """7. Replicas per shard stop where the shard alarm's 10 metrics do; the AZ count is checked
    against the region's AZs at plan time."""
    most = rules.CACHE_MAX_REPLICAS
    assert (most + 1) * (len(SPECS["cache"].errors) + len(SPECS["cache"].total)) <= MAX_ALARM_METRICS
    conditions = [v["condition"] for v in synth.variable(f"cache-{EAST}", "cache_replicas_per_shard")["validation"]]
    assert f"${{var.cache_replicas_per_shard >= 0 && var.cache_replicas_per_shard <= {most} && " in conditions[0]
    azs = synth.stack(f"network-{EAST}")["data"]["aws_availability_zones"]["azs"]
    (post,) = azs["lifecycle"]["postcondition"]
    assert post["condition"] == "${length(self.names) >= var.network_az_count}"
    assert "network_az_count" in post["error_message"] and EAST in post["error_message"]


def test_every_exported_log_group_exists_first(synth):
    """8. RDS would create the upgrade log group and each replica's groups itself (no KMS, no retention)."""
    s = f"data-{EAST}"
    primary = synth.resource(s, "aws_db_instance", "primary")
    replica = synth.resource(s, "aws_db_instance", "replica")
    exports = primary["enabled_cloudwatch_logs_exports"]
    assert set(exports) == {"postgresql", "upgrade"} and replica["enabled_cloudwatch_logs_exports"] == exports
    groups = synth.resources(s, "aws_cloudwatch_log_group")
    for name, owner in (("primary_logs", primary), ("replica_logs", replica)):
        group = groups[name]
        assert group["name"] == "${each.value}" and group["kms_key_id"] == "${aws_kms_key.kms.arn}"
        assert group["retention_in_days"] == "${var.data_log_retention_days}"
        assert f"aws_cloudwatch_log_group.{name}" in owner["depends_on"]
        assert f"[for e in [{', '.join(json.dumps(e) for e in exports)}] :" in group["for_each"]
    assert '"/aws/rds/instance/rightsize-staging-data-primary/${e}"' in groups["primary_logs"]["for_each"]
    assert "range(var.data_replica_count)" in groups["replica_logs"]["for_each"]
    assert '"/aws/rds/instance/rightsize-staging-data-replica-${i + 1}/${e}"' in groups["replica_logs"]["for_each"]


def test_flow_log_role_has_the_documented_minimum(synth):
    """9. The VPC flow logs guide's minimum, on the flow log group only."""
    doc = synth.stack(f"network-{EAST}")["data"]["aws_iam_policy_document"]["flow_log_permissions"]
    (statement,) = doc["statement"]
    assert set(statement["actions"]) == {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:DescribeLogGroups",
        "logs:DescribeLogStreams",
    }
    arn = "${aws_cloudwatch_log_group.flow_log_group.arn}"
    assert statement["resources"] == [arn, f"{arn}:*"]


def test_reserved_concurrency_checked_against_the_real_quota(synth):
    """10. The precondition reads the account's Lambda concurrency quota, not a default of 1000."""
    s = f"serverless-{EAST}"
    quota = synth.stack(s)["data"]["aws_servicequotas_service_quota"]["lambda_concurrency"]
    assert quota["service_code"] == "lambda" and quota["quota_code"] == "L-B99A9384"
    (pre,) = synth.resource(s, "aws_lambda_function", "orders")["lifecycle"]["precondition"]
    assert "data.aws_servicequotas_service_quota.lambda_concurrency.value - 100" in pre["condition"]
    assert "quota" in pre["error_message"]


def test_no_unused_lookups_and_iam_before_use(synth):
    """11. Lookups only where used; functions and the primary wait for their IAM; the instance
    role has no permission its security group cannot reach."""
    for tier in ("data", "cache", "serverless"):
        data = synth.stack(f"{tier}-{EAST}")["data"]
        assert "public_subnets" not in data.get("aws_subnets", {}), tier
        if tier != "serverless":
            assert "endpoints_sg" not in data.get("aws_security_group", {}), tier
    assert "public_subnets" in synth.stack(f"compute-{EAST}")["data"]["aws_subnets"]
    fn = synth.resource(f"serverless-{EAST}", "aws_lambda_function", "orders")
    assert "aws_iam_role_policy.orders_policy" in fn["depends_on"]
    primary = synth.resource(f"data-{EAST}", "aws_db_instance", "primary")
    assert "aws_iam_role_policy_attachment.monitoring_policy" in primary["depends_on"]
    doc = synth.stack(f"compute-{EAST}")["data"]["aws_iam_policy_document"]["instance_permissions"]
    actions = {a for st in doc["statement"] for a in st["actions"]}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents"}  # no cloudwatch:PutMetricData
    # what remains (the app's log group) is reachable: a CloudWatch Logs endpoint on 443
    endpoint = synth.resource(f"network-{EAST}", "aws_vpc_endpoint", "logs_endpoint")
    assert endpoint["service_name"] == f"com.amazonaws.{EAST}.logs" and endpoint["private_dns_enabled"] is True


def test_rollout_preview_says_when_a_change_waits_for_the_window(tmp_path):
    """5. The rollout plan preview notes the maintenance window where apply_immediately is off."""
    from analysis.rollout.plan import plan_record

    def cache_change(environment: str) -> dict:
        return {
            "region": EAST,
            "kind": "elasticache",
            "resource_id": f"rightsize-{environment}-cache-cluster",
            "stack": f"cache-{EAST}",
            "tfvars_file": str(tmp_path / environment / f"cache-{EAST}.auto.tfvars.json"),
            "status": "emitted",
            "rollout": "in-place",
            "changes": [
                {"field": "node_type", "tfvars_key": "cache_node_type", "current": "a", "proposed": "b"},
            ],
        }

    production = plan_record(cache_change("production"), "production", 900)
    assert any("cache_apply_immediately is false" in s and "sun:05:00-sun:06:00" in s for s in production.steps)
    staging = plan_record(cache_change("staging"), "staging", 900)
    assert not any("maintenance window" in s for s in staging.steps)
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / f"cache-{EAST}.auto.tfvars.json").write_text('{"cache_apply_immediately": false}')
    assert any("maintenance window" in s for s in plan_record(cache_change("staging"), "staging", 900).steps)


def _files(stack_dir) -> dict[str, object]:
    """A stack folder's files: JSON parsed, archives by name only (zip timestamps differ)."""
    out: dict[str, object] = {}
    for path in sorted(p for p in stack_dir.rglob("*") if p.is_file()):
        rel = str(path.relative_to(stack_dir))
        out[rel] = json.loads(path.read_text()) if path.suffix == ".json" else None
    return out


def test_synth_owns_the_override_copies(tmp_path):
    """A deleted tfvars override disappears from the stack folder on the next synth (terraform
    would still load a stale *.auto.tfvars.json), and the folder equals a fresh synth's."""
    stack = f"compute-{EAST}"
    tfvars = tmp_path / "tfvars"
    (tfvars / "staging").mkdir(parents=True)
    override = tfvars / "staging" / f"{stack}.auto.tfvars.json"
    override.write_text('{"compute_desired_capacity": 4}')

    def synth_into(outdir):
        proc = run_main("--regions", EAST, "--outdir", str(outdir), "--tfvars", str(tfvars))
        assert proc.returncode == 0, proc.stderr
        return outdir / "stacks" / stack

    out = tmp_path / "out"
    assert (synth_into(out) / override.name).exists()
    override.unlink()
    reused = synth_into(out)
    assert not (reused / override.name).exists()
    assert _files(reused) == _files(synth_into(tmp_path / "fresh"))


@pytest.mark.parametrize(
    "args, message",
    [
        (["--regions", "mars-1"], "--regions: unknown AWS region code(s) mars-1"),
        (["--regions", "us-east-1,us-east-7"], "unknown AWS region code(s) us-east-7"),
        (["--environment", "Prod!"], "--environment 'Prod!' must match"),
    ],
)
def test_bad_names_fail_in_one_line(args, message):
    proc = run_main(*args)
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_hcl_synth_keeps_the_raw_blocks(tmp_path):
    """The HCL synth (checkov reads it) carries required_version and the check blocks as valid
    HCL; cdktf's renderer would mangle an override of the terraform block."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "SYNTH_HCL_OUTPUT": "true", "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}

    def main(*args: str) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(ROOT / "main.py"), "--regions", EAST, "--tfvars", str(tmp_path), *args]
        return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    proc = main("--outdir", str(tmp_path / "hcl"))
    assert proc.returncode == 0, proc.stderr
    for tier in TIERS:
        text = (tmp_path / "hcl" / "stacks" / stack_name(tier, EAST) / "cdk.tf").read_text()
        assert 'terraform {\n  required_version = ">= 1.11"\n}' in text, tier
        assert not re.search(r"^\s*\d+ = ", text, flags=re.M), f"{tier}: a mangled override"
    data = (tmp_path / "hcl" / "stacks" / f"data-{EAST}" / "cdk.tf").read_text()
    assert 'check "apply_immediately" {\n  assert {\n    condition = var.data_apply_immediately' in data
    s3 = main("--backend", "s3", "--state-bucket", "b-1", "--state-region", EAST)
    assert s3.returncode == 2 and "local backend only" in s3.stderr


def test_function_roles_are_scoped_without_the_managed_vpc_policy(synth):
    """Each function writes only its own log group; the ENI permissions VPC access needs are
    scoped to the private subnets, the functions' group and this region's interfaces."""
    s = f"serverless-{EAST}"
    assert not synth.resources(s, "aws_iam_role_policy_attachment")  # no AWSLambdaVPCAccessExecutionRole
    doc = synth.stack(s)["data"]["aws_iam_policy_document"]["orders_permissions"]
    by_sid = {st["sid"]: st for st in doc["statement"]}
    assert by_sid["OwnLogs"]["resources"] == ["${aws_cloudwatch_log_group.orders_logs.arn}:*"]
    assert not [a for st in doc["statement"] for a in st["actions"] if a == "logs:CreateLogGroup"]
    create = by_sid["VpcInterfacesCreate"]
    assert create["actions"] == ["ec2:CreateNetworkInterface"]
    for part in ("network-interface/%s", "security-group/%s", "aws_security_group.lambda_sg.id", "subnet/%s"):
        assert part in create["resources"]
    assert "data.aws_subnets.private_subnets.ids" in create["resources"]
    manage = by_sid["VpcInterfacesManage"]
    assert len(manage["resources"]) == 1 and f":ec2:{EAST}:%s:network-interface/%s" in manage["resources"][0]
    assert by_sid["VpcDescribe"]["resources"] == ["*"]  # Describe* cannot be scoped
    assert set(by_sid["VpcDescribe"]["actions"]) == {"ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"}
