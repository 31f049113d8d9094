"""Synthetic CloudWatch series of an RDS instance: dimensions cpu (vCPU), memory (GiB used),
connections, iops (read+write), throughput (MB/s).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.model import MetricQuery, Resource
from analysis.sizing.specs import SpecCatalog
from analysis.synthetic import DemandModel, Synth


def synthetic(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    spec = specs.spec("rds", resource.config["instance_class"])
    zero = np.zeros(n)
    iops, thr = d.get("iops", zero), d.get("throughput", zero)
    table = {
        ("CPUUtilization", "Maximum"): np.clip(d.get("cpu", zero) / spec["vcpu"] * 100, 0, 100),
        ("FreeableMemory", "Minimum"): np.clip(spec["memory_gib"] - d.get("memory", zero), 0, None) * 2**30,
        ("DatabaseConnections", "Maximum"): np.round(d.get("connections", zero)),
        ("ReadIOPS", "Maximum"): 0.7 * iops,
        ("WriteIOPS", "Maximum"): 0.3 * iops,
        ("ReadThroughput", "Maximum"): 0.7 * thr * 1e6,
        ("WriteThroughput", "Maximum"): 0.3 * thr * 1e6,
        ("EBSIOBalance%", "Minimum"): np.where(iops > spec["ebs_iops"], 60.0, 100.0),
        ("EBSByteBalance%", "Minimum"): np.where(thr > spec["ebs_mbps"], 60.0, 100.0),
        ("ReplicaLag", "Maximum"): np.full(n, 0.5),
    }
    table[("FreeableMemory", "Average")] = table[("FreeableMemory", "Minimum")] * 1.05

    def synth(q: MetricQuery):
        if q.stat == "Average" and (q.metric_name, "Maximum") in table:
            return table[(q.metric_name, "Maximum")] * 0.85
        return table.get((q.metric_name, q.stat))

    return synth
