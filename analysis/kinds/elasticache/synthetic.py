"""Synthetic CloudWatch series of an ElastiCache replication group, per member node: dimensions
memory (GiB of data, whole group), engine_cpu (% of one engine core, summed over shards), network
(Gbps, whole group), connections.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.kinds.elasticache.sizing import shards
from analysis.model import MetricQuery, Resource
from analysis.sizing import rules
from analysis.sizing.specs import SpecCatalog
from analysis.synthetic import DemandModel, Synth


def synthetic(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    spec = specs.spec("elasticache", resource.config["node_type"])
    groups = shards(resource)
    s = max(1, len(groups))
    zero = np.zeros(n)
    usable = rules.cache_usable_gib(spec["memory_gib"]) * 2**30

    def synth(q: MetricQuery):
        member = dict(q.dimensions).get("CacheClusterId", "")
        primary = member.endswith("-001") or member.count("-") < 2  # first node of a shard is its primary
        share = 1.0 if primary else 0.05  # replicas only apply replication
        mem = d.get("memory", zero) * 2**30 / s
        net_bytes_min = d.get("network", zero) * 1e9 / 8 * 60 / s / 2  # per direction, per minute
        values = {
            "EngineCPUUtilization": d.get("engine_cpu", zero) / s * share,
            "CPUUtilization": d.get("engine_cpu", zero) / s * share / spec["vcpu"],
            "DatabaseMemoryUsagePercentage": mem / usable * 100,
            "BytesUsedForCache": mem,
            "CurrConnections": np.round(d.get("connections", zero) / s * (1.0 if primary else 0.2)),
            "NetworkBytesIn": net_bytes_min * (1.0 if primary else 0.5),
            "NetworkBytesOut": net_bytes_min * (1.0 if primary else 0.5),
            "Evictions": zero,
            "ReplicationLag": np.full(n, 0.0 if primary else 0.01),
        }.get(q.metric_name)
        return None if values is None else values * (0.85 if q.stat == "Average" else 1.0)

    return synth
