"""Synthetic CloudWatch series of the NAT gateways of a VPC: dimensions bandwidth (Gbps processed,
all gateways), connections (active, all gateways).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from analysis.model import Resource
from analysis.sizing.specs import SpecCatalog
from analysis.synthetic import PERIOD, DemandModel, Synth


def synthetic(resource: Resource, d: Mapping[str, np.ndarray], n: int, specs: SpecCatalog, model: DemandModel) -> Synth:
    g = max(1, len(resource.config.get("nat_gateway_ids", ())))
    zero = np.zeros(n)
    processed = d.get("bandwidth", zero) * 1e9 / 8 * PERIOD / g  # bytes per period per gateway
    table = {
        "BytesInFromSource": 0.3 * processed,
        "BytesOutToDestination": 0.3 * processed,
        "BytesInFromDestination": 0.7 * processed,
        "BytesOutToSource": 0.7 * processed,
        "ActiveConnectionCount": np.round(d.get("connections", zero) / g),
        "ErrorPortAllocation": zero,
        "PacketsDropCount": zero,
    }
    return lambda q: table.get(q.metric_name)
