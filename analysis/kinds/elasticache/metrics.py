"""CloudWatch series that size an ElastiCache replication group (AWS/ElastiCache, per node).

Host-level metrics are published per node (CacheClusterId = `<group>-<shard>-<node>`,
CacheNodeId = `0001`) every 60 s; the 5-minute Maximum is the hottest minute of the period.
"""

from analysis.model import MetricQuery, Resource

METRICS = {
    "EngineCPUUtilization": ("Average", "Maximum"),
    "CPUUtilization": ("Maximum",),
    "DatabaseMemoryUsagePercentage": ("Maximum",),
    "BytesUsedForCache": ("Maximum",),
    "CurrConnections": ("Maximum",),
    "NetworkBytesIn": ("Maximum",),
    "NetworkBytesOut": ("Maximum",),
    "Evictions": ("Sum",),
    "ReplicationLag": ("Maximum",),
}


def queries(resource: Resource, period: int = 300) -> list[MetricQuery]:
    return [
        MetricQuery.of("AWS/ElastiCache", name, {"CacheClusterId": member, "CacheNodeId": "0001"}, stat, period)
        for member in resource.config.get("member_clusters", ())
        for name, stats in METRICS.items()
        for stat in stats
    ]
