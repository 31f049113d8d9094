"""The rollback alarm contract, as the guard side sees it.

The contract itself (names, metrics, expression, threshold, tags: `definition(...)` returns the
exact PutMetricAlarm parameters) lives in stacks/alarms_contract.py, a pure module the stacks
synthesize their `aws_cloudwatch_metric_alarm` resources from; it is re-exported here so the
two sides cannot drift. What stays here is guard policy: which tiers' alarms judge a change.
See docs/architecture.md "Rollback alarms".
"""

from __future__ import annotations

from stacks.alarms_contract import (  # noqa: F401  (re-exported: the guard's view of the contract)
    COMPARISON,
    DATAPOINTS_TO_ALARM,
    EVALUATION_PERIODS,
    MAX_ALARM_METRICS,
    NO_METRIC,
    PERIOD,
    SPECS,
    THRESHOLD_PERCENT,
    TREAT_MISSING_DATA,
    AlarmSpec,
    alarm_name,
    alarm_prefix,
    definition,
    expression,
)

# Which alarms judge a change to a stack of each tier: its own (if any) and its clients'.
WATCHED_TIERS: dict[str, tuple[str, ...]] = {
    "network": ("network", "compute", "serverless"),
    "data": ("compute", "serverless"),
    "cache": ("cache", "compute", "serverless"),
    "compute": ("compute",),
    "serverless": ("serverless",),
}
