"""iam/collector-policy.json lists exactly the actions a collection calls (recorded against moto)."""

import json
from pathlib import Path

import boto3
from moto import mock_aws

from analysis.collect import collect
from analysis.sources.aws import Connector

POLICY = Path(__file__).parents[2] / "iam" / "collector-policy.json"
IAM_PREFIX = {"elbv2": "elasticloadbalancing"}  # botocore service name -> IAM prefix where they differ
# called only when a response lacks a field (RDS TagList, ElastiCache Engine): never with moto's answers
CONDITIONAL = {"rds:ListTagsForResource", "elasticache:DescribeCacheClusters"}


class Recording(Connector):
    def __init__(self):
        super().__init__()
        self.actions = set()

    def client(self, service, region, **kw):
        c = super().client(service, region, **kw)
        prefix = IAM_PREFIX.get(service, service)
        c.meta.events.register(
            "before-call.*.*", lambda model, **_: self.actions.add(f"{prefix}:{model.name}"), unique_id="iam-record"
        )
        return c


def test_policy_is_read_only_and_exactly_what_collect_calls(aws_credentials, staging_builder, tmp_path):
    doc = json.loads(POLICY.read_text())
    allowed = {a for st in doc["Statement"] if st["Effect"] == "Allow" for a in st["Action"]}
    assert all(a.split(":")[1].startswith(("Describe", "List", "Get")) for a in allowed)
    conn = Recording()
    with mock_aws():
        staging_builder(lambda s: boto3.client(s, region_name="us-east-1"), "us-east-1")
        result = collect(conn, ["us-east-1"], 45, stacks_dir=tmp_path, output=tmp_path / "m.parquet")
    assert result.anything and len(result.resources) == 9
    assert conn.actions <= allowed, f"calls missing from the policy: {sorted(conn.actions - allowed)}"
    assert allowed - conn.actions == CONDITIONAL, f"policy allows more than needed: {sorted(allowed - conn.actions)}"
