"""Every name both halves agree on, written once (pure: no cdktf, no boto3).

The stacks build resources with these names, the analysis finds them by these names, the load
test and `guard` parse them back: change a pattern here and every side follows. See
docs/architecture.md "Names".
"""

from __future__ import annotations

import importlib.util
import json
import re
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

PROJECT = "rightsize"
MANAGED_BY = "cdktf"  # ManagedBy tag of what the stacks create
ROLLOUT_MANAGED_BY = f"{PROJECT}-rollout"  # ManagedBy tag of a Blue/Green deployment `rollout` creates

DEFAULT_ENVIRONMENT = "staging"
# Environment names that keep full availability: one NAT per AZ, never an off-hours schedule.
PRODUCTION_ENVIRONMENTS = ("production", "prod")
DEFAULT_REGIONS = ("us-east-1", "us-west-2")


class Tier(StrEnum):
    """The five tier stacks, in deploy order (network first; compute and serverless last)."""

    NETWORK = "network"
    DATA = "data"
    CACHE = "cache"
    COMPUTE = "compute"
    SERVERLESS = "serverless"


TIERS: tuple[str, ...] = tuple(t.value for t in Tier)

# The application functions of the serverless tier (short names; also their Role tag).
FUNCTIONS = ("orders", "catalog", "sessions", "ratelimit", "reports")

# What each function connects to: its secret, environment and security group rules follow, and
# the analysis counts the data tier's functions among the database's clients.
FUNCTION_WIRING = {
    "orders": Tier.DATA,
    "catalog": Tier.DATA,
    "reports": Tier.DATA,
    "sessions": Tier.CACHE,
    "ratelimit": Tier.CACHE,
}

# Ports the tiers listen on.
POSTGRES_PORT = 5432
REDIS_PORT = 6379
HTTPS_PORT = 443  # interface endpoints (Secrets Manager, CloudWatch Logs)

# Database and user the data tier creates.
DATABASE_NAME = PROJECT
MASTER_USERNAME = f"{PROJECT}_admin"

TFVARS_SUFFIX = ".auto.tfvars.json"
BLUE_SUFFIX = "-old1"  # what RDS names the old (blue) instance after a Blue/Green switchover

# `<tier>-<region>`: a tier name, a dash, then an AWS region code (e.g. us-east-1, ap-southeast-2).
REGION_RE = r"[a-z]{2}(?:-[a-z]+)+-\d+"
_STACK_RE = re.compile(rf"({'|'.join(TIERS)})-({REGION_RE})")
ENVIRONMENT_RE = r"[a-z][a-z0-9-]{0,15}"


@lru_cache(maxsize=1)
def known_regions() -> frozenset[str]:
    """Region codes of every AWS partition, from botocore's bundled endpoint data (read as a file:
    no network, and no botocore import on the synth path)."""
    spec = importlib.util.find_spec("botocore")
    assert spec is not None and spec.submodule_search_locations, "botocore is a dependency (boto3)"
    data = json.loads(Path(list(spec.submodule_search_locations)[0], "data", "endpoints.json").read_text())
    return frozenset(region for partition in data["partitions"] for region in partition["regions"])


def stack_name(tier: str, region: str) -> str:
    """`<tier>-<region>`, e.g. data-us-east-1."""
    return f"{tier}-{region}"


def parse_stack(name: str) -> tuple[str, str]:
    """`data-us-east-1` -> ("data", "us-east-1"); ValueError for anything else (a path, an
    unknown tier, a malformed region), so a stack name can never escape the tfvars tree."""
    m = _STACK_RE.fullmatch(str(name))
    if not m:
        raise ValueError(f"{name!r} is not a stack name (<tier>-<region>, tier one of {', '.join(TIERS)})")
    return m.group(1), m.group(2)


def is_stack(name: str) -> bool:
    try:
        parse_stack(name)
    except ValueError:
        return False
    return True


def tier_of(stack: str) -> str:
    return parse_stack(stack)[0]


def region_of(stack: str) -> str:
    return parse_stack(stack)[1]


def tfvars_filename(stack: str) -> str:
    """`<stack>.auto.tfvars.json`: the override file Terraform loads automatically."""
    return f"{stack}{TFVARS_SUFFIX}"


def stack_of_tfvars(filename: str) -> str:
    """`data-us-east-1.auto.tfvars.json` -> `data-us-east-1`; ValueError otherwise."""
    if not filename.endswith(TFVARS_SUFFIX):
        raise ValueError(f"{filename}: not a tfvars override file (expected <stack>{TFVARS_SUFFIX})")
    stack = filename[: -len(TFVARS_SUFFIX)]
    parse_stack(stack)
    return stack


def name_prefix(environment: str, tier: str) -> str:
    return f"{PROJECT}-{environment}-{tier}"


def resource_name(environment: str, tier: str, role: str) -> str:
    """`rightsize-<environment>-<tier>-<role>`: the live name of a resource."""
    return f"{name_prefix(environment, tier)}-{role}"


def regional_name(environment: str, tier: str, role: str, region: str) -> str:
    """`rightsize-<environment>-<tier>-<role>-<region>`: IAM names are account-global, the
    region keeps the two regions' roles of one stack apart."""
    return f"{resource_name(environment, tier, role)}-{region}"


def secret_name(environment: str, tier: str, what: str) -> str:
    """`rightsize/<environment>/<tier>/<what>`: a Secrets Manager secret (master, auth)."""
    return f"{PROJECT}/{environment}/{tier}/{what}"


def log_group_name(environment: str, tier: str, what: str) -> str:
    return f"/{PROJECT}/{environment}/{tier}/{what}"


def state_key(environment: str, stack: str) -> str:
    """`<environment>/<stack>.tfstate`: a stack's Terraform state, one per environment."""
    return f"{environment}/{stack}.tfstate"


def alarm_prefix(environment: str, tier: str) -> str:
    """Name (and DescribeAlarms prefix) of a tier's rollback alarms."""
    return f"{name_prefix(environment, tier)}-conn-errors"


def alarm_tier(environment: str, alarm_name: str) -> str | None:
    """The tier of a rollback alarm name, or None when it is not one of ours."""
    for tier in TIERS:
        if alarm_name.startswith(alarm_prefix(environment, tier)):
            return tier
    return None


def common_tags(environment: str, tier: str, stack: str) -> dict[str, str]:
    """Tags on every taggable resource of a stack (also the provider's default_tags)."""
    return {"Project": PROJECT, "Environment": environment, "Tier": tier, "ManagedBy": MANAGED_BY, "Stack": stack}


def owner_tags(environment: str, tier: str, region: str, role: str | None = None) -> dict[str, str]:
    """What another stack looks a resource up by: Project, Environment, Stack (+ Role)."""
    tags = {"Project": PROJECT, "Environment": environment, "Stack": stack_name(tier, region)}
    return {**tags, "Role": role} if role else tags


# Tiers whose running hours a schedule can switch off (cache and NAT cannot be stopped).
SCHEDULED_TIERS = (Tier.DATA.value, Tier.COMPUTE.value, Tier.SERVERLESS.value)


def schedule_variable(tier: str) -> str:
    """`<tier>_schedule`: the variable (and tfvars key) holding a tier's off-hours schedule."""
    return f"{tier}_schedule"


def schedule_action_name(environment: str, tier: str, action: str, key: str) -> str:
    """`rightsize-<env>-<tier>-<action>-<key>`: a scheduled action (action on/off or start/stop,
    key the window index, prefixed by the function for the serverless tier)."""
    return resource_name(environment, tier, f"{action}-{key}")
