"""CloudWatch series that size an RDS instance (AWS/RDS, per DBInstanceIdentifier)."""

from analysis.model import MetricQuery, Resource

# metric -> statistics. Percentiles are computed in the tool from the 5-minute series.
METRICS = {
    "CPUUtilization": ("Average", "Maximum"),
    "FreeableMemory": ("Average", "Minimum"),
    "DatabaseConnections": ("Average", "Maximum"),
    "ReadIOPS": ("Average", "Maximum"),
    "WriteIOPS": ("Average", "Maximum"),
    "ReadThroughput": ("Average", "Maximum"),
    "WriteThroughput": ("Average", "Maximum"),
    "EBSIOBalance%": ("Minimum",),
    "EBSByteBalance%": ("Minimum",),
}
REPLICA_METRICS = {"ReplicaLag": ("Maximum",)}


def queries(resource: Resource, period: int = 300) -> list[MetricQuery]:
    metrics = dict(METRICS)
    if resource.config.get("role") == "replica":
        metrics.update(REPLICA_METRICS)
    dims = {"DBInstanceIdentifier": resource.resource_id}
    return [MetricQuery.of("AWS/RDS", name, dims, stat, period) for name, stats in metrics.items() for stat in stats]
