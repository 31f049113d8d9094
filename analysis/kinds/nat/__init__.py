"""Resource kind nat: the NAT gateways of a VPC (network tier): how many."""

from analysis.enums import RolloutMethod
from analysis.kinds.nat.inventory import discover
from analysis.kinds.nat.metrics import queries
from analysis.kinds.nat.pricing import price
from analysis.kinds.nat.sizing import size
from analysis.kinds.nat.synthetic import synthetic
from analysis.registry import Kind
from stacks.naming import Tier

KIND = Kind(
    name="nat",
    tier=Tier.NETWORK,
    discover=discover,
    queries=queries,
    size=size,
    price=price,
    synthetic=synthetic,
    rollout=RolloutMethod.REPLACEMENT,
    rollout_explanation="NAT gateways removed or added; the private route tables move to the remaining ones",
)
