"""The rollback alarm contract: what the stacks create and what `guard` watches (pure, no cdktf).

One alarm per watched resource, in the resource's region, named
`rightsize-<env>-<tier>-conn-errors` (plus `-<qualifier>` where a tier has several watched
resources: the serverless function short name, the cache shard `0001`, the NAT gateway's AZ),
tagged like the stack (Project, Environment, Tier, ManagedBy, CriticalPath=false, Stack, Role).
Each is a metric-math alarm: the error metrics and the total metrics are MetricStat queries
(Stat Sum, Period 60, ReturnData false) whose ids start with `err` and `tot`, and one expression
`IF(total > 0, 100 * errors / total, 0)` (ReturnData true) is compared with the threshold in
percent. `guard` reads the alarm's state and re-evaluates the raw ratio from the same queries.

The stacks (modules/alarms.py) turn `definition(...)` into `aws_cloudwatch_metric_alarm`
resources, the analysis (analysis/rollout/alarms.py re-exports this module) creates and reads
the same parameters: one source for both sides. See docs/architecture.md "Rollback alarms".
"""

from __future__ import annotations

from dataclasses import dataclass

from .naming import alarm_prefix, common_tags

THRESHOLD_PERCENT = 1.0
PERIOD = 60
STAT = "Sum"
EVALUATION_PERIODS = 5
DATAPOINTS_TO_ALARM = 3
TREAT_MISSING_DATA = "notBreaching"  # no traffic is not an error (NLB publishes nothing without flows)
COMPARISON = "GreaterThanThreshold"
EXPRESSION_ID, EXPRESSION_LABEL = "pct", "connection errors %"
# A metric-math alarm may reference at most 10 metrics (CloudWatch hard limit).
MAX_ALARM_METRICS = 10


@dataclass(frozen=True)
class AlarmSpec:
    tier: str
    namespace: str
    errors: tuple[str, ...]  # metrics summed as failed connections / requests
    total: tuple[str, ...]  # metrics summed as attempts
    dimensions: str  # which dimension binds the alarm to its resource
    qualifier: str | None  # what the name suffix is when the tier has several alarms
    measures: str  # one line for operators

    @property
    def max_members(self) -> int:
        """Most resources one alarm can sum (the cache: nodes per shard) within MAX_ALARM_METRICS."""
        return MAX_ALARM_METRICS // (len(self.errors) + len(self.total))


SPECS: dict[str, AlarmSpec] = {
    s.tier: s
    for s in (
        AlarmSpec(
            "compute",
            "AWS/NetworkELB",
            ("TCP_Target_Reset_Count", "TCP_ELB_Reset_Count"),
            ("NewFlowCount",),
            "LoadBalancer=net/<name>/<id>",
            None,
            "TCP resets (target + load balancer) per new flow through the compute NLB",
        ),
        AlarmSpec(
            "serverless",
            "AWS/Lambda",
            ("Errors", "Throttles"),
            ("Invocations", "Throttles"),
            "FunctionName=<function>, Resource=<function>:<alias>",
            "function short name",
            "failed + throttled invocations per attempted invocation of the live alias",
        ),
        AlarmSpec(
            "cache",
            "AWS/ElastiCache",
            ("AuthenticationFailures",),
            ("NewConnections",),
            "CacheClusterId=<group>-<shard>-<node> (every node of the shard), CacheNodeId=0001",
            "shard number (0001..)",
            "failed AUTH per new connection on the shard's nodes (ElastiCache publishes no "
            "refused-connection count: maxclients rejections are invisible)",
        ),
        AlarmSpec(
            "network",
            "AWS/NATGateway",
            ("ErrorPortAllocation",),
            ("ConnectionAttemptCount",),
            "NatGatewayId=<id>",
            "availability zone",
            "failed source-port allocations per outbound connection attempt through the NAT gateway",
        ),
    )
}

# Tiers without a connection-error metric and whose failures show up at their clients instead.
NO_METRIC = {
    "data": "RDS publishes no connection-error metric for PostgreSQL (only DatabaseConnections); "
    "failed database connections surface as errors of its clients, so a data change is "
    "judged by the compute and serverless alarms",
}


def alarm_name(environment: str, tier: str, qualifier: str | None = None) -> str:
    base = alarm_prefix(environment, tier)
    return f"{base}-{qualifier}" if qualifier else base


def expression(errors: list[str], total: list[str]) -> str:
    """The metric-math expression over query ids (errors `err*`, total `tot*`)."""
    e = " + ".join(f"FILL({i}, 0)" for i in errors)
    t = " + ".join(f"FILL({i}, 0)" for i in total)
    return f"IF(({t}) > 0, 100 * ({e}) / ({t}), 0)"


def tags(environment: str, tier: str, stack: str, role: str) -> dict[str, str]:
    """An alarm's tags: the stack's, with the watched resource's Role; never CriticalPath."""
    tags = common_tags(environment, tier, stack)
    stack_tag = tags.pop("Stack")  # after CriticalPath, where the deployed alarms have it
    return {**tags, "CriticalPath": "false", "Stack": stack_tag, "Role": role}


def definition(
    environment: str,
    tier: str,
    stack: str,
    role: str,
    dimensions: dict[str, str] | list[dict[str, str]],
    qualifier: str | None = None,
    threshold: float = THRESHOLD_PERCENT,
) -> dict:
    """The alarm as PutMetricAlarm parameters: what a stack's aws_cloudwatch_metric_alarm must equal.

    `dimensions` binds the queries to the watched resource; a list (the cache shard's nodes) repeats
    every err/tot query per member, with ids `err<i>n<j>` / `tot<i>n<j>`.
    """
    spec = SPECS[tier]
    members = [dimensions] if isinstance(dimensions, dict) else list(dimensions)

    def stat(qid: str, metric: str, dims: dict[str, str]) -> dict:
        return {
            "Id": qid,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {
                    "Namespace": spec.namespace,
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in sorted(dims.items())],
                },
                "Period": PERIOD,
                "Stat": STAT,
            },
        }

    def queries(kind: str, metrics: tuple[str, ...]) -> list[dict]:
        return [
            stat(f"{kind}{i}" + (f"n{j}" if len(members) > 1 else ""), m, dims)
            for i, m in enumerate(metrics)
            for j, dims in enumerate(members, 1)
        ]

    errors, total = queries("err", spec.errors), queries("tot", spec.total)
    pct = {
        "Id": EXPRESSION_ID,
        "Label": EXPRESSION_LABEL,
        "ReturnData": True,
        "Expression": expression([q["Id"] for q in errors], [q["Id"] for q in total]),
    }
    return {
        "AlarmName": alarm_name(environment, tier, qualifier),
        "AlarmDescription": spec.measures,
        "Metrics": [*errors, *total, pct],
        "Threshold": threshold,
        "ComparisonOperator": COMPARISON,
        "EvaluationPeriods": EVALUATION_PERIODS,
        "DatapointsToAlarm": DATAPOINTS_TO_ALARM,
        "TreatMissingData": TREAT_MISSING_DATA,
        "Tags": [{"Key": k, "Value": v} for k, v in tags(environment, tier, stack, role).items()],
    }
