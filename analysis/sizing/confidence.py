"""Confidence in [0, 1] and risk of a recommendation (formula documented in README "Sizing").

    confidence = C x S x V x M
    C  coverage    = samples present / samples the requested window should hold (worst dimension)
    S  samples     = n / (n + n_day)  with n the fewest samples of any dimension, n_day one day's worth
    V  variability = 1 / (1 + cv)     cv = std / mean of the binding dimension's demand
    M  margin      = 0.5 + 0.5 x min(1, slack / 0.5),  slack = 1 - p100 / capacity of the binding
                     dimension on the proposed size (0 when demand reaches the limit)

The binding dimension is the one whose p100 uses the largest share of its proposed capacity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from analysis.sizing.policy import Window
from analysis.sizing.stats import Demand


def utilisation(demands: Sequence[Demand], capacity: Mapping[str, float | None]) -> dict[str, float]:
    """p100 / proposed capacity per dimension that has both."""
    out = {}
    for d in demands:
        cap = capacity.get(d.name)
        if d.p100 is not None and cap:
            out[d.name] = d.p100 / cap
    return out


def confidence(demands: Sequence[Demand], capacity: Mapping[str, float | None], window: Window) -> tuple[float, dict]:
    if not demands or any(d.n == 0 for d in demands):
        return 0.0, {"coverage": 0.0, "samples": 0.0, "variability": 0.0, "margin": 0.0, "binding": None}
    c = min(d.coverage(window) for d in demands)
    fewest = min(demands, key=lambda d: d.n)
    s = fewest.n / (fewest.n + 86400 / fewest.period)
    used = utilisation(demands, capacity)
    binding = max(used, key=lambda k: (used[k], k)) if used else demands[0].name
    bd = next(d for d in demands if d.name == binding)
    v = 1.0 / (1.0 + bd.cv)
    slack = max(0.0, 1.0 - used.get(binding, 1.0))
    m = 0.5 + 0.5 * min(1.0, slack / 0.5)
    value = max(0.0, min(1.0, c * s * v * m))
    return value, {
        "coverage": round(c, 4),
        "samples": round(s, 4),
        "variability": round(v, 4),
        "margin": round(m, 4),
        "binding": binding,
    }
