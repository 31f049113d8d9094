"""Resource kind asg: an Auto Scaling group (compute tier): instance type and group sizes."""

from analysis.enums import RolloutMethod
from analysis.kinds.asg.inventory import discover
from analysis.kinds.asg.metrics import queries
from analysis.kinds.asg.pricing import price
from analysis.kinds.asg.sizing import size
from analysis.kinds.asg.synthetic import synthetic
from analysis.registry import Kind
from stacks.naming import Tier

KIND = Kind(
    name="asg",
    tier=Tier.COMPUTE,
    discover=discover,
    queries=queries,
    size=size,
    price=price,
    synthetic=synthetic,
    rollout=RolloutMethod.ROLLING_INSTANCE_REFRESH,
)
