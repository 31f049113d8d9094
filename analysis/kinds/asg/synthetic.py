"""Synthetic CloudWatch series of an Auto Scaling group and its NLB: dimensions cpu (vCPU, whole
group), network (Gbps, whole group), memory (GiB per instance, only if given: otherwise no
CloudWatch agent); params instances (a fixed count) or target_cpu (an elastic group: a
target-tracking policy at that CPU % runs the instances, between today's min and max size).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.model import MetricQuery, Resource
from analysis.sizing.specs import SpecCatalog
from analysis.synthetic import PERIOD, DemandModel, Synth


def synthetic(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    spec = specs.spec("ec2", resource.config["instance_type"])
    zero = np.zeros(n)
    cfg = resource.config
    if "target_cpu" in model.params:
        per = spec["vcpu"] * model.params["target_cpu"] / 100
        wanted = np.ceil(d.get("cpu", zero) / per)
        count = np.clip(np.r_[wanted[:1], wanted[:-1]], cfg.get("min_size") or 1, cfg.get("max_size") or 1)
    else:
        count = np.full(n, float(model.params.get("instances", cfg.get("desired_capacity") or 1)))
    avg = {
        "CPUUtilization": np.clip(d.get("cpu", zero) / (count * spec["vcpu"]) * 100, 0, 100),
        "NetworkIn": d.get("network", zero) * 0.6 * 1e9 / 8 * PERIOD / count,
        "NetworkOut": d.get("network", zero) * 0.4 * 1e9 / 8 * PERIOD / count,
        "GroupInServiceInstances": count,
    }
    flows = d.get("cpu", zero) / spec["vcpu"] * 200

    def synth(q: MetricQuery):
        if q.metric_name in avg:
            # Average is the group mean; Maximum the hottest instance (10% above the mean).
            base = avg[q.metric_name]
            if q.stat == "Maximum" and q.metric_name != "GroupInServiceInstances":
                return np.clip(base * 1.1, 0, 100) if q.metric_name == "CPUUtilization" else base * 1.1
            return base
        if q.metric_name == "mem_used_percent":
            return d["memory"] / spec["memory_gib"] * 100 if "memory" in d else None
        return {
            "ActiveFlowCount": flows,
            "NewFlowCount": flows * 3,
            "ProcessedBytes": avg["NetworkIn"] * count,
            "TCP_Target_Reset_Count": zero,
            "TCP_ELB_Reset_Count": zero,
        }.get(q.metric_name)

    return synth
