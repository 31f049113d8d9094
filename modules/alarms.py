"""Rollback alarms: the PutMetricAlarm parameters of stacks/alarms_contract.py as
`aws_cloudwatch_metric_alarm` resources (docs/architecture.md "Rollback alarms").

The contract builds every alarm; this module only translates parameter names, so what
`cdktf deploy` creates is what `guard` (analysis/rollout/alarms.py, the same contract) reads.
No alarm actions: `guard` polls the alarms' states, nothing subscribes to them.
"""

from __future__ import annotations

from collections.abc import Callable

from cdktf import TerraformLocal, TerraformResourceLifecycle

from stacks import alarms_contract as contract

from . import aws
from .expr import tf

# Stands for the alarm's key (each.key) in dimension values kept in a local, where each.key
# does not exist; the dynamic block puts the key back.
KEY = "{key}"
DIMS = "metric_query.value.metric.dimensions"


def metric_query(query: dict) -> dict:
    """One PutMetricAlarm MetricDataQuery as a `metric_query` block."""
    if "MetricStat" not in query:
        return {
            "id": query["Id"],
            "expression": query["Expression"],
            "label": query["Label"],
            "return_data": query["ReturnData"],
        }
    stat, metric = query["MetricStat"], query["MetricStat"]["Metric"]
    return {
        "id": query["Id"],
        "return_data": query["ReturnData"],
        "metric": {
            "namespace": metric["Namespace"],
            "metric_name": metric["MetricName"],
            "dimensions": {d["Name"]: d["Value"] for d in metric["Dimensions"]},
            "period": stat["Period"],
            "stat": stat["Stat"],
        },
    }


def _block(query: dict):
    """A metric_query block as its jsii struct (plain dicts inside lists reach jsii unconverted)."""
    return aws.submodule("cloudwatch_metric_alarm").CloudwatchMetricAlarmMetricQuery(**query)


def alarm_args(definition: dict) -> dict:
    """PutMetricAlarm parameters -> aws_cloudwatch_metric_alarm arguments."""
    return dict(
        alarm_name=definition["AlarmName"],
        alarm_description=definition["AlarmDescription"],
        metric_query=[_block(metric_query(q)) for q in definition["Metrics"]],
        threshold=definition["Threshold"],
        comparison_operator=definition["ComparisonOperator"],
        evaluation_periods=definition["EvaluationPeriods"],
        datapoints_to_alarm=definition["DatapointsToAlarm"],
        treat_missing_data=definition["TreatMissingData"],
        tags={t["Key"]: t["Value"] for t in definition["Tags"]},
    )


def _definition(stack, role: str, dimensions, qualifier: str | None = None) -> dict:
    return contract.definition(stack.environment, stack.tier, stack.stack_name, role, dimensions, qualifier)


def rollback_alarm(
    stack, id_: str, *, role: str, dimensions: dict[str, str], qualifier: str | None = None, **meta
) -> aws.CloudwatchMetricAlarm:
    """One alarm over one resource (`meta`: count, depends_on, ...)."""
    return aws.CloudwatchMetricAlarm(stack, id_, **alarm_args(_definition(stack, role, dimensions, qualifier)), **meta)


def keyed_members_alarm(
    stack, id_: str, *, role: str, keys: str, members: str, member: Callable[[str, int], dict[str, str]], too_many: str
) -> aws.CloudwatchMetricAlarm:
    """One alarm per key of the Terraform set `keys` (its qualifier), each summing the resources
    `member(key, j)` for j = 1..`members` (a Terraform number expression, e.g. a variable).

    The contract's queries for every possible member count are synthesized into locals and the
    alarm picks its count's list through a dynamic `metric_query` block; a count beyond what one
    alarm can read (CloudWatch: 10 metrics, `max_members`) fails the plan with `too_many`.
    """
    spec = contract.SPECS[stack.tier]
    by_count = {
        n: _definition(stack, role, [member(KEY, j) for j in range(1, n + 1)], tf("each.key"))
        for n in range(1, spec.max_members + 1)
    }
    stats = {str(n): [metric_query(q) for q in d["Metrics"] if "MetricStat" in q] for n, d in by_count.items()}
    expressions = {str(n): metric_query(d["Metrics"][-1])["expression"] for n, d in by_count.items()}
    TerraformLocal(stack, f"{id_}_queries", stats)
    TerraformLocal(stack, f"{id_}_expression", expressions)
    args = alarm_args(by_count[1])
    pct = metric_query(by_count[1]["Metrics"][-1])
    args["metric_query"] = [_block({**pct, "expression": tf(f"local.{id_}_expression[tostring({members})]")})]
    alarm = aws.CloudwatchMetricAlarm(
        stack,
        id_,
        **args,
        lifecycle=TerraformResourceLifecycle(
            precondition=[{"condition": tf(f"{members} <= {spec.max_members}"), "errorMessage": too_many}]
        ),
    )
    alarm.add_override("for_each", tf(keys))
    alarm.add_override(
        "dynamic.metric_query",
        {
            "for_each": tf(f"local.{id_}_queries[tostring({members})]"),
            "content": {
                "id": tf("metric_query.value.id"),
                "return_data": tf("metric_query.value.return_data"),
                "metric": {
                    **{f: tf(f"metric_query.value.metric.{f}") for f in ("namespace", "metric_name", "period", "stat")},
                    "dimensions": tf(
                        f"zipmap(keys({DIMS}), [for v in values({DIMS}) : replace(v, \"{KEY}\", each.key)])"
                    ),
                },
            },
        },
    )
    return alarm
