"""Rollback alarms: the synthesized aws_cloudwatch_metric_alarm resources, read back as PutMetricAlarm
parameters, equal what the guard side (analysis.rollout.alarms.definition) expects, so the two sides
cannot drift. One synth per session (conftest); the us-west-2 run overrides shard/node/NAT counts."""

from __future__ import annotations

import re
import subprocess
import sys

import boto3
import pytest
from botocore.validate import validate_parameters

from analysis.rollout import alarms  # the guard's view (analysis never imports cdktf)
from stacks import FUNCTIONS, TIERS, alarms_contract

from .conftest import ENVIRONMENT, REGIONS, ROOT

pytestmark = pytest.mark.synth
RTYPE = "aws_cloudwatch_metric_alarm"
# Every argument a rollback alarm sets: no actions (guard polls), nothing the contract does not define.
ARGUMENTS = {
    "alarm_name",
    "alarm_description",
    "metric_query",
    "threshold",
    "comparison_operator",
    "evaluation_periods",
    "datapoints_to_alarm",
    "treat_missing_data",
    "tags",
}


# --------------------------------------------------------------------------- reading the synth back
def api_query(block: dict) -> dict:
    """A synthesized metric_query block as a PutMetricAlarm MetricDataQuery."""
    if "expression" in block:
        assert set(block) == {"id", "expression", "label", "return_data"}, block
        return {
            "Id": block["id"],
            "Label": block["label"],
            "ReturnData": block["return_data"],
            "Expression": block["expression"],
        }
    m = block["metric"]
    assert set(block) == {"id", "metric", "return_data"} and set(m) == {
        "namespace",
        "metric_name",
        "dimensions",
        "period",
        "stat",
    }, block
    return {
        "Id": block["id"],
        "ReturnData": block["return_data"],
        "MetricStat": {
            "Metric": {
                "Namespace": m["namespace"],
                "MetricName": m["metric_name"],
                "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(m["dimensions"].items())],
            },
            "Period": m["period"],
            "Stat": m["stat"],
        },
    }


def api_alarm(res: dict, blocks: list[dict]) -> dict:
    return {
        "AlarmName": res["alarm_name"],
        "AlarmDescription": res["alarm_description"],
        "Metrics": [api_query(b) for b in blocks],
        "Threshold": res["threshold"],
        "ComparisonOperator": res["comparison_operator"],
        "EvaluationPeriods": res["evaluation_periods"],
        "DatapointsToAlarm": res["datapoints_to_alarm"],
        "TreatMissingData": res["treat_missing_data"],
        "Tags": [{"Key": k, "Value": v} for k, v in res["tags"].items()],
    }


def normal(params: dict) -> dict:
    """Order-free form: Terraform keeps metric_query blocks as a set and tags as a map."""
    return {
        **params,
        "Metrics": sorted(params["Metrics"], key=lambda q: q["Id"]),
        "Tags": {t["Key"]: t["Value"] for t in params["Tags"]},
    }


def arguments(res: dict, *meta: str) -> None:
    assert set(res) - {"//"} == ARGUMENTS | set(meta), sorted(set(res) ^ (ARGUMENTS | set(meta)))


def default(synth, stack: str, var: str):
    return synth.variable(stack, var)["default"]


def synthesized(synth, tier: str, region: str) -> dict[str, dict]:
    """alarm name (Terraform expressions left as they are) -> PutMetricAlarm parameters, expanding the
    cache's per-shard for_each and its dynamic per-node queries for the stack's variable values."""
    stack = f"{tier}-{region}"
    found = synth.resources(stack, RTYPE)
    if tier != "cache":
        out = {}
        for _rid, res in found.items():
            arguments(res, *({"count"} if tier == "network" else set()))
            out[res["alarm_name"]] = api_alarm(res, res["metric_query"])
        return out
    assert list(found) == ["conn_errors"]
    res = found["conn_errors"]
    arguments(res, "for_each", "dynamic", "lifecycle")
    # the expressions this expansion interprets, verbatim
    nodes = "tostring(var.cache_replicas_per_shard + 1)"
    assert res["for_each"] == '${toset([for i in range(var.cache_num_shards) : format("%04d", i + 1)])}'
    dynamic = res["dynamic"]["metric_query"]
    assert dynamic["for_each"] == f"${{local.conn_errors_queries[{nodes}]}}"
    dims = "metric_query.value.metric.dimensions"
    assert dynamic["content"] == {
        "id": "${metric_query.value.id}",
        "return_data": "${metric_query.value.return_data}",
        "metric": {
            **{f: f"${{metric_query.value.metric.{f}}}" for f in ("namespace", "metric_name", "period", "stat")},
            "dimensions": f'${{zipmap(keys({dims}), [for v in values({dims}) : replace(v, "{{key}}", each.key)])}}',
        },
    }
    [pct] = res["metric_query"]
    assert pct["expression"] == f"${{local.conn_errors_expression[{nodes}]}}"
    locals_ = synth.stack(stack)["locals"]
    n = default(synth, stack, "cache_replicas_per_shard") + 1
    out = {}
    for i in range(default(synth, stack, "cache_num_shards")):
        shard = f"{i + 1:04d}"
        blocks = [
            {
                **q,
                "metric": {
                    **q["metric"],
                    "dimensions": {k: v.replace("{key}", shard) for k, v in q["metric"]["dimensions"].items()},
                },
            }
            for q in locals_["conn_errors_queries"][str(n)]
        ]
        blocks.append({**pct, "expression": locals_["conn_errors_expression"][str(n)]})
        named = {**res, "alarm_name": res["alarm_name"].replace("${each.key}", shard)}
        out[named["alarm_name"]] = api_alarm(named, blocks)
    return out


def expected(synth, tier: str, region: str) -> list[dict]:
    """What the guard side expects of this stack, from analysis.rollout.alarms.definition."""
    stack = f"{tier}-{region}"

    def d(role, dimensions, qualifier=None):
        return alarms.definition(ENVIRONMENT, tier, stack, role, dimensions, qualifier)

    if tier == "compute":
        return [d("nlb", {"LoadBalancer": "${aws_lb.nlb.arn_suffix}"})]
    if tier == "serverless":
        return [
            d(
                fn,
                {
                    "FunctionName": f"${{aws_lambda_function.{fn}.function_name}}",
                    "Resource": f"${{aws_lambda_function.{fn}.function_name}}:${{aws_lambda_alias.{fn}_live.name}}",
                },
                fn,
            )
            for fn in FUNCTIONS
        ]
    if tier == "network":  # one per NAT gateway (count), named by the AZ of its public subnet
        return [
            d(
                "nat",
                {"NatGatewayId": "${aws_nat_gateway.nat[count.index].id}"},
                "${aws_subnet.public[count.index].availability_zone}",
            )
        ]
    if tier == "cache":
        group = "${aws_elasticache_replication_group.cluster.id}"
        nodes = default(synth, stack, "cache_replicas_per_shard") + 1
        return [
            d(
                "cluster",
                [
                    {"CacheClusterId": f"{group}-{shard:04d}-{node:03d}", "CacheNodeId": "0001"}
                    for node in range(1, nodes + 1)
                ],
                f"{shard:04d}",
            )
            for shard in range(1, default(synth, stack, "cache_num_shards") + 1)
        ]
    return []


# --------------------------------------------------------------------------- tests
@pytest.mark.parametrize("tier", TIERS)
@pytest.mark.parametrize("region", REGIONS)
def test_stack_alarms_equal_the_guard_contract(synth, tier, region):
    got = synthesized(synth, tier, region)
    want = {a["AlarmName"]: a for a in expected(synth, tier, region)}
    assert sorted(got) == sorted(want)
    for name in want:
        assert normal(got[name]) == normal(want[name]), name
    for name, params in got.items():
        assert name.startswith(alarms.alarm_prefix(ENVIRONMENT, tier))
        stats = [q for q in params["Metrics"] if "MetricStat" in q]
        assert len(stats) <= alarms.MAX_ALARM_METRICS
        assert {q["Id"][:3] for q in stats} == {"err", "tot"} and params["Metrics"][-1]["Id"] == "pct"


def test_every_tier_has_alarms_or_a_documented_reason(synth):
    for tier in TIERS:
        has = bool(synth.resources(f"{tier}-us-east-1", RTYPE))
        assert has == (tier in alarms.SPECS) and has != (tier in alarms.NO_METRIC), tier
    assert "PostgreSQL" in alarms.NO_METRIC["data"]


def test_counts_follow_the_variables(synth):
    east = "cache-us-east-1"
    assert len(synthesized(synth, "cache", "us-east-1")) == 6  # 6 shards x 3 nodes (defaults)
    assert len(synthesized(synth, "cache", "us-west-2")) == 3  # override: 3 shards x 2 nodes
    [west_alarm, *_] = synthesized(synth, "cache", "us-west-2").values()
    assert [q["Id"] for q in west_alarm["Metrics"]] == ["err0n1", "err0n2", "tot0n1", "tot0n2", "pct"]
    # the count of NAT alarms is the NAT gateway count; NAT i lives in public subnet i (its AZ names the alarm)
    for region in REGIONS:
        s = f"network-{region}"
        nat = synth.resource(s, "aws_nat_gateway", "nat")
        assert synth.resource(s, RTYPE, "conn_errors")["count"] == nat["count"] == "${var.network_nat_gateway_count}"
        assert nat["subnet_id"] == "${aws_subnet.public[count.index].id}"
    assert default(synth, "network-us-west-2", "network_nat_gateway_count") == 2
    # every node count the variables allow up to the CloudWatch limit is synthesized; beyond it the plan fails
    spec = alarms.SPECS["cache"]
    locals_ = synth.stack(east)["locals"]
    assert sorted(locals_["conn_errors_queries"], key=int) == [str(n) for n in range(1, spec.max_members + 1)]
    assert spec.max_members * (len(spec.errors) + len(spec.total)) <= alarms.MAX_ALARM_METRICS
    [pre] = synth.resource(east, RTYPE, "conn_errors")["lifecycle"]["precondition"]
    assert pre["condition"] == f"${{var.cache_replicas_per_shard + 1 <= {spec.max_members}}}"
    assert "cache_replicas_per_shard must be <= 4" in pre["error_message"]


TOKEN = re.compile(r"\$\{[^{}]*\}")


@pytest.mark.parametrize("tier", sorted(alarms.SPECS))
def test_synthesized_alarms_are_valid_put_metric_alarm_input(synth, tier):
    """With the Terraform references replaced by sample values, botocore accepts every alarm as
    PutMetricAlarm input (types, nesting, required members)."""
    shape = (
        boto3.client("cloudwatch", region_name="us-east-1")
        .meta.service_model.operation_model("PutMetricAlarm")
        .input_shape
    )
    for params in synthesized(synth, tier, "us-east-1").values():
        concrete = sample_values(params)
        validate_parameters(concrete, shape)
        assert "${" not in repr(concrete)


def sample_values(value):
    if isinstance(value, str):
        return TOKEN.sub("x", value)
    if isinstance(value, dict):
        return {k: sample_values(v) for k, v in value.items()}
    if isinstance(value, list):
        return [sample_values(v) for v in value]
    return value


def test_one_contract_and_it_is_pure():
    """analysis.rollout.alarms re-exports the stacks' contract (one source), and neither imports cdktf."""
    assert alarms.definition is alarms_contract.definition and alarms.SPECS is alarms_contract.SPECS
    code = (
        "import sys; import stacks.alarms_contract, analysis.rollout.alarms; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'constructs', 'jsii', 'modules')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
