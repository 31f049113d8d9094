"""Synthetic CloudWatch series of a Lambda function: dimensions concurrency (executions), memory
(MB used, only if given: otherwise no Lambda Insights); param duration_ms.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.model import Resource
from analysis.sizing.specs import SpecCatalog
from analysis.synthetic import PERIOD, DemandModel, Synth


def synthetic(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    cfg = resource.config
    conc = d.get("concurrency", np.zeros(n))
    duration = float(model.params.get("duration_ms", 120.0))
    pc = float(cfg.get("provisioned_concurrency") or 0)
    reserved = cfg.get("reserved_concurrency")
    served = np.minimum(conc, reserved) if reserved is not None and reserved >= 0 else conc
    invocations = np.round(0.7 * served * PERIOD / (duration / 1000))
    in_pc = np.minimum(served, pc)
    table = {
        ("Invocations", "Sum"): invocations,
        ("Errors", "Sum"): np.zeros(n),
        ("Throttles", "Sum"): np.round((conc - served) * PERIOD / (duration / 1000)),
        ("Duration", "Average"): np.full(n, duration),
        ("Duration", "Maximum"): np.full(n, duration * 2),
        ("Duration", "p99"): np.full(n, duration * 1.6),
        ("ConcurrentExecutions", "Maximum"): np.round(served),
    }
    if pc:  # provisioned-concurrency metrics exist only where it is configured
        table.update(
            {
                ("ProvisionedConcurrentExecutions", "Maximum"): np.round(in_pc),
                ("ProvisionedConcurrencyUtilization", "Maximum"): in_pc / pc,
                ("ProvisionedConcurrencySpilloverInvocations", "Sum"): np.round(
                    invocations * np.clip(served - pc, 0, None) / np.maximum(served, 1e-9)
                ),
            }
        )
    if "memory" in d:
        table[("used_memory_max", "Maximum")] = d["memory"]
    return lambda q: table.get((q.metric_name, q.stat))
