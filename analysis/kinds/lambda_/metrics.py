"""CloudWatch series that size a Lambda function (AWS/Lambda, plus Lambda Insights memory and CPU time)."""

from analysis.model import MetricQuery, Resource

FUNCTION_METRICS = {
    "Invocations": ("Sum",),
    "Errors": ("Sum",),
    "Throttles": ("Sum",),
    "Duration": ("Average", "Maximum", "p50", "p99"),  # Lambda Duration supports percentiles
    "ConcurrentExecutions": ("Maximum",),
}
ALIAS_METRICS = {  # by Resource = "<function>:<alias>"
    "ProvisionedConcurrencyUtilization": ("Maximum",),
    "ProvisionedConcurrentExecutions": ("Maximum",),
    "ProvisionedConcurrencySpilloverInvocations": ("Sum",),
}
INSIGHTS_METRICS = {  # only where Lambda Insights is enabled
    "used_memory_max": ("Maximum",),  # MB
    "cpu_total_time": ("Average",),  # ms of CPU (user + system) per invocation: how CPU-bound it is
    "init_duration": ("Maximum",),  # ms of cold-start initialisation
    "total_memory": ("Maximum",),  # MB configured (what used_memory_max is measured against)
}


def queries(resource: Resource, period: int = 300) -> list[MetricQuery]:
    fn = resource.resource_id
    out = [
        MetricQuery.of("AWS/Lambda", name, {"FunctionName": fn}, stat, period)
        for name, stats in FUNCTION_METRICS.items()
        for stat in stats
    ]
    alias = resource.config.get("alias")
    if alias:
        dims = {"FunctionName": fn, "Resource": f"{fn}:{alias}"}
        out += [
            MetricQuery.of("AWS/Lambda", name, dims, stat, period)
            for name, stats in ALIAS_METRICS.items()
            for stat in stats
        ]
    out += [
        MetricQuery.of("LambdaInsights", name, {"function_name": fn}, stat, period)
        for name, stats in INSIGHTS_METRICS.items()
        for stat in stats
    ]
    return out
