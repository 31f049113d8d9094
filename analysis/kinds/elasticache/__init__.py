"""Resource kind elasticache: an ElastiCache replication group (cache tier): node type, shards, replicas per shard."""

from analysis.enums import RolloutMethod
from analysis.kinds.elasticache.inventory import discover
from analysis.kinds.elasticache.metrics import queries
from analysis.kinds.elasticache.pricing import price
from analysis.kinds.elasticache.sizing import size
from analysis.kinds.elasticache.synthetic import synthetic
from analysis.registry import Kind
from stacks.naming import Tier

KIND = Kind(
    name="elasticache",
    tier=Tier.CACHE,
    discover=discover,
    queries=queries,
    size=size,
    price=price,
    synthetic=synthetic,
    rollout=RolloutMethod.IN_PLACE,
    rollout_explanation="online vertical scaling / online resharding / replica count change, apply_immediately",
)
