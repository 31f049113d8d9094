"""IAM/KMS policies as `aws_iam_policy_document` data sources.

Written in the usual IAM JSON shape ({"Version", "Statement": [{"Effect", "Action", ...}]}),
synthesized as structured blocks: valid in both the JSON and the HCL synth, and fully
readable by checkov (a jsonencode() string is not, and cdktf's HCL renderer does not escape
quotes inside plain strings)."""

from __future__ import annotations

from typing import Any

from . import aws


def _listed(value) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _statement(s: dict) -> dict:
    out: dict = {"effect": s.get("Effect", "Allow")}
    if "Sid" in s:
        out["sid"] = s["Sid"]
    out["actions"] = _listed(s["Action"])
    if "Resource" in s:
        out["resources"] = _listed(s["Resource"])
    if "Principal" in s:
        out["principals"] = [{"type": kind, "identifiers": _listed(ids)} for kind, ids in s["Principal"].items()]
    if "Condition" in s:
        out["condition"] = [
            {"test": test, "variable": var, "values": _listed(values)}
            for test, pairs in s["Condition"].items()
            for var, values in pairs.items()
        ]
    return out


def policy(scope, id_: str, document: dict) -> str:
    """The policy's JSON (a token) from a data source named `id_`."""
    doc = aws.DataAwsIamPolicyDocument(scope, id_, statement=[_statement(s) for s in document["Statement"]])
    return doc.json


def assume_role(scope, id_: str, service: str) -> str:
    """Trust policy for one AWS service principal."""
    return policy(
        scope, id_, {"Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}
    )


def service_role(scope, prefix: str, service: str, *, name: str, tags: dict, **meta: Any) -> aws.IamRole:
    """A role `<prefix>_role` that `service` may assume (its trust policy is `<prefix>_trust`);
    `meta`: Terraform meta-arguments such as `count`."""
    return aws.IamRole(
        scope,
        f"{prefix}_role",
        name=name,
        assume_role_policy=assume_role(scope, f"{prefix}_trust", service),
        tags=tags,
        **meta,
    )
