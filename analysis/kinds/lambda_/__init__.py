"""Resource kind lambda: a Lambda function (serverless tier): memory, reserved and provisioned concurrency."""

from analysis.enums import RolloutMethod
from analysis.kinds.lambda_.inventory import discover
from analysis.kinds.lambda_.metrics import queries
from analysis.kinds.lambda_.pricing import price
from analysis.kinds.lambda_.sizing import size
from analysis.kinds.lambda_.synthetic import synthetic
from analysis.registry import Kind
from stacks.naming import Tier

KIND = Kind(
    name="lambda",
    tier=Tier.SERVERLESS,
    discover=discover,
    queries=queries,
    size=size,
    price=price,
    synthetic=synthetic,
    rollout=RolloutMethod.ALIAS_SHIFT,
)
