"""Many AWS accounts: list them through AWS Organizations, reach each through STS AssumeRole.

    targets = connectors(base, resolve(base, "organization"), role_name="RightsizeReadOnly")

Each target is (account id, Connector with that account's temporary credentials); the role
must trust the caller's account and carry iam/collector-policy.json.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from analysis.errors import AnalysisError, UsageError

ORGANIZATION = "organization"  # --accounts value: every ACTIVE account of the caller's organization
ACCOUNT_ID = re.compile(r"^\d{12}$")
SESSION_NAME = "rightsize"
ORGANIZATIONS_REGION = "us-east-1"  # the Organizations API has one endpoint


def parse_accounts(text: str) -> list[str] | str:
    """`--accounts 111111111111,222222222222` or `--accounts organization`."""
    if text.strip() == ORGANIZATION:
        return ORGANIZATION
    ids = list(dict.fromkeys(a.strip() for a in text.split(",") if a.strip()))
    bad = [a for a in ids if not ACCOUNT_ID.match(a)]
    if not ids or bad:
        raise UsageError(
            f"--accounts takes 12-digit account ids separated by commas, or {ORGANIZATION!r}; got {text!r}"
        )
    return ids


def organization_accounts(connector: Any) -> list[str]:
    """Ids of the ACTIVE accounts of the caller's organization, sorted."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        pages = connector.client("organizations", ORGANIZATIONS_REGION).get_paginator("list_accounts").paginate()
        accounts = [a for page in pages for a in page["Accounts"]]
    except (ClientError, BotoCoreError) as e:
        raise AnalysisError(f"--accounts {ORGANIZATION}: cannot list the organization's accounts ({e})") from None
    active = sorted(a["Id"] for a in accounts if a.get("Status", "ACTIVE") == "ACTIVE")
    if not active:
        raise AnalysisError(f"--accounts {ORGANIZATION}: the organization lists no ACTIVE account")
    return active


def resolve(connector: Any, accounts: Sequence[str] | str) -> list[str]:
    return organization_accounts(connector) if isinstance(accounts, str) else list(accounts)


def assume(connector: Any, account: str, role_name: str, region: str) -> Any:
    """A Connector acting in `account` through `role_name` (same profile, endpoint and retries)."""
    from botocore.exceptions import BotoCoreError, ClientError

    sts = connector.client("sts", region)
    try:
        partition = sts.get_caller_identity()["Arn"].split(":")[1]
        creds = sts.assume_role(
            RoleArn=f"arn:{partition}:iam::{account}:role/{role_name}", RoleSessionName=SESSION_NAME
        )["Credentials"]
    except (ClientError, BotoCoreError) as e:
        raise AnalysisError(f"account {account}: cannot assume role {role_name} ({e})") from None
    return replace(
        connector,
        credentials={
            "aws_access_key_id": creds["AccessKeyId"],
            "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"],
        },
        _lock=threading.Lock(),
        _clients={},
        _sessions={},
    )


def connectors(connector: Any, accounts: Sequence[str], role_name: str, region: str) -> list[tuple[str, Any]]:
    """(account id, its Connector) for each account, in the order given."""
    return [(a, assume(connector, a, role_name, region)) for a in accounts]


class PerAccount:
    """Metrics of several accounts: each account's resources are read through its own source
    (`for_account`), e.g. CloudWatch with that account's assumed role."""

    def __init__(self, sources: dict[str, Any]):
        self.sources = sources

    def for_account(self, account: str) -> Any:
        try:
            return self.sources[account]
        except KeyError:
            raise AnalysisError(f"no metrics source for account {account or '(default)'}") from None
