"""Discover ElastiCache replication groups (cluster mode enabled and disabled)."""

from analysis.inventory import tag_dict
from analysis.model import Resource
from analysis.sources.aws import RegionClients


def shape(group: dict) -> tuple[int, int]:
    """(num_shards, replicas_per_shard) of a replication group description."""
    members = group.get("MemberClusters", [])
    node_groups = group.get("NodeGroups", [])
    shards = max(len(node_groups), 1)
    listed = [len(ng.get("NodeGroupMembers", [])) for ng in node_groups]
    if listed and all(listed):
        return shards, max(listed) - 1
    return shards, max(len(members) // shards - 1, 0)  # members not listed per shard (cluster mode)


def discover(clients: RegionClients) -> list[Resource]:
    ec = clients.client("elasticache")
    out = []
    for page in ec.get_paginator("describe_replication_groups").paginate():
        for group in page["ReplicationGroups"]:
            members = tuple(sorted(group.get("MemberClusters", [])))
            engine = group.get("Engine")
            if not engine and members:  # older API versions omit Engine on the group
                engine = ec.describe_cache_clusters(CacheClusterId=members[0])["CacheClusters"][0].get("Engine")
            num_shards, replicas = shape(group)
            arn = group.get("ARN")
            tags = ec.list_tags_for_resource(ResourceName=arn)["TagList"] if arn else []
            config = {
                "node_type": group.get("CacheNodeType"),
                "engine": engine,
                "cluster_mode": bool(group.get("ClusterEnabled")) or group.get("ClusterMode") == "enabled",
                "num_shards": num_shards,
                "replicas_per_shard": replicas,
                "multi_az": group.get("MultiAZ") == "enabled",
                "member_clusters": members,
            }
            out.append(
                Resource("elasticache", clients.region, group["ReplicationGroupId"], arn, tag_dict(tags), config)
            )
    return out
