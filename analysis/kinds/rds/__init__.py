"""Resource kind rds: an RDS PostgreSQL instance (data tier): class, gp3 IOPS and throughput, read replicas."""

from analysis.enums import RolloutMethod
from analysis.kinds.rds.inventory import discover
from analysis.kinds.rds.metrics import queries
from analysis.kinds.rds.pricing import price
from analysis.kinds.rds.sizing import size
from analysis.kinds.rds.synthetic import synthetic
from analysis.registry import Kind
from stacks.naming import Tier

KIND = Kind(
    name="rds",
    tier=Tier.DATA,
    discover=discover,
    queries=queries,
    size=size,
    price=price,
    synthetic=synthetic,
    rollout=RolloutMethod.BLUE_GREEN,
    rollout_explanation="read replica modified with apply_immediately; the primary is untouched",
)
