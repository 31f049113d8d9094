"""Synthetic CloudWatch series of a Lambda function: dimensions concurrency (executions), memory
(MB used, only if given: otherwise no Lambda Insights); params duration_ms (mean) and cpu_ms
(cpu_total_time per invocation). With cpu_ms both, and the concurrency, describe the function
with all the CPU it can use: at a smaller memory size it runs longer (same arrivals, so more
concurrent executions), as the duration model predicts; cpu_total_time is published only with
Lambda Insights. Without cpu_ms the duration does not depend on memory.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.kinds.lambda_.duration import VCPU_MB, DurationModel
from analysis.model import Resource
from analysis.sizing.specs import SpecCatalog
from analysis.synthetic import PERIOD, DemandModel, Synth


def synthetic(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    cfg = resource.config
    conc = d.get("concurrency", np.zeros(n))
    duration = float(model.params.get("duration_ms", 120.0))
    if "cpu_ms" in model.params:  # the function at its configured memory (analysis/kinds/lambda_/duration.py)
        full = DurationModel(VCPU_MB, duration, float(model.params["cpu_ms"]))
        at_full = DurationModel(full.full_speed_mb, duration, full.cpu_ms)
        slower = at_full.ratio(float(cfg["memory_size"]))
        duration, conc = duration * slower, conc * slower  # same arrivals, each one longer
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
        ("Duration", "p50"): np.full(n, duration * 0.9),
        ("Duration", "Maximum"): np.full(n, duration * 2),
        ("Duration", "p99"): np.full(n, duration * 1.6),
        # unrounded (the model's concurrency): a duration change then scales it exactly, so an
        # applied proposal re-sized on its own metrics is a fixed point
        ("ConcurrentExecutions", "Maximum"): served,
    }
    if pc:  # provisioned-concurrency metrics exist only where it is configured
        table.update(
            {
                ("ProvisionedConcurrentExecutions", "Maximum"): in_pc,
                ("ProvisionedConcurrencyUtilization", "Maximum"): in_pc / pc,
                ("ProvisionedConcurrencySpilloverInvocations", "Sum"): np.round(
                    invocations * np.clip(served - pc, 0, None) / np.maximum(served, 1e-9)
                ),
            }
        )
    if "memory" in d:
        table[("used_memory_max", "Maximum")] = d["memory"]
        table[("total_memory", "Maximum")] = np.full(n, float(cfg["memory_size"]))
        table[("init_duration", "Maximum")] = np.full(n, 400.0)
        if "cpu_ms" in model.params:
            table[("cpu_total_time", "Average")] = np.full(n, float(model.params["cpu_ms"]))
    return lambda q: table.get((q.metric_name, q.stat))
