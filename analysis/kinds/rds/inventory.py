"""Discover RDS instances and their read replicas."""

from analysis.inventory import tag_dict
from analysis.model import Resource
from analysis.sources.aws import RegionClients


def _instance_id(ref: str) -> str:
    """A replica's source is an identifier, or an ARN when it lives in another region."""
    return ref.rsplit(":", 1)[-1] if ref.startswith("arn:") else ref


def discover(clients: RegionClients) -> list[Resource]:
    rds = clients.client("rds")
    out = []
    for page in rds.get_paginator("describe_db_instances").paginate():
        for db in page["DBInstances"]:
            tag_list = (
                db["TagList"]
                if "TagList" in db
                else rds.list_tags_for_resource(ResourceName=db["DBInstanceArn"])["TagList"]
            )
            source = db.get("ReadReplicaSourceDBInstanceIdentifier")
            config = {
                "instance_class": db["DBInstanceClass"],
                "engine": db.get("Engine"),
                "multi_az": bool(db.get("MultiAZ")),
                "allocated_storage": db.get("AllocatedStorage"),
                "storage_type": db.get("StorageType"),
                "iops": db.get("Iops"),
                "storage_throughput": db.get("StorageThroughput"),
                "backup_retention_period": db.get("BackupRetentionPeriod"),
                "role": "replica" if source else "primary",
                "source_id": _instance_id(source) if source else None,
                "replica_ids": tuple(sorted(_instance_id(r) for r in db.get("ReadReplicaDBInstanceIdentifiers", []))),
            }
            out.append(
                Resource(
                    "rds",
                    clients.region,
                    db["DBInstanceIdentifier"],
                    db.get("DBInstanceArn"),
                    tag_dict(tag_list),
                    config,
                )
            )
    return out
