"""A customer-managed KMS key per stack and KMS-encrypted CloudWatch log groups."""

from __future__ import annotations

from . import aws
from .expr import json_string, num, tf


class StackKey:
    """One CMK (rotation on) per stack. The account root may administer and use it, so IAM
    policies govern access (services such as RDS use it on behalf of the caller); CloudWatch
    Logs may use it for this account's log groups in this region; with `autoscaling_role`, the
    EC2 Auto Scaling service-linked role may use it for the volumes it launches."""

    def __init__(self, stack, tagger, *, region: str, autoscaling_role: str | None = None):
        aws.DataAwsCallerIdentity(stack, "caller")
        aws.DataAwsPartition(stack, "partition")
        account = tf("data.aws_caller_identity.caller.account_id")
        partition = tf("data.aws_partition.partition.partition")
        statements = [
            {
                "Sid": "AccountAdmin",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "CloudWatchLogs",
                "Effect": "Allow",
                "Principal": {"Service": f"logs.{region}.amazonaws.com"},
                "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
                "Resource": "*",
                "Condition": {
                    "ArnLike": {"kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{region}:{account}:*"}
                },
            },
        ]
        if autoscaling_role:
            statements += autoscaling_statements(autoscaling_role)
        self.key = aws.KmsKey(
            stack,
            "kms",
            description=f"{tagger.name_prefix}: encryption at rest",
            enable_key_rotation=True,
            deletion_window_in_days=7,
            policy=json_string({"Version": "2012-10-17", "Statement": statements}),
            tags=tagger("kms"),
        )
        aws.KmsAlias(stack, "kms_alias", name=f"alias/{tagger.name_prefix}", target_key_id=self.key.key_id)
        self.arn = self.key.arn


def autoscaling_statements(role_arn: str) -> list[dict]:
    """The two key-policy statements the EC2 Auto Scaling user guide requires for its service-
    linked role to launch instances with volumes encrypted by this key ("Required AWS KMS key
    policy for use with encrypted volumes")."""
    return [
        {
            "Sid": "AutoScalingUse",
            "Effect": "Allow",
            "Principal": {"AWS": role_arn},
            "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
            "Resource": "*",
        },
        {
            "Sid": "AutoScalingAttach",
            "Effect": "Allow",
            "Principal": {"AWS": role_arn},
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"Bool": {"kms:GrantIsForAWSResource": True}},
        },
    ]


def log_group(stack, id_: str, *, name: str, key: StackKey, retention_var: str, tags: dict) -> aws.CloudwatchLogGroup:
    """A log group with retention from a variable and KMS encryption."""
    return aws.CloudwatchLogGroup(
        stack, id_, name=name, retention_in_days=num(f"var.{retention_var}"), kms_key_id=key.arn, tags=tags
    )
