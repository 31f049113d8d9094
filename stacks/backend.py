"""Where each stack keeps its Terraform state (pure, no cdktf): chosen in cdktf.json's
`context.backend` or with main.py's flags, never an absolute path.

  local  (default) `<outdir>/../state/<environment>/<stack>.tfstate`, written relative to the
         stack directory (`<outdir>/stacks/<stack>`): one file per environment and stack, next
         to the output directory, on whatever machine runs terraform
  s3     bucket + key `<environment>/<stack>.tfstate` + the bucket's region, encrypted, with the
         native S3 lock file (`use_lockfile`, Terraform >= 1.10): for a team
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from analysis.errors import UsageError

from .naming import known_regions, state_key

STATE_DIR = "state"  # beside the output directory (gitignored)
_BUCKET_RE = r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"  # S3 bucket naming rules


class BackendKind(StrEnum):
    LOCAL = "local"
    S3 = "s3"


@dataclass(frozen=True)
class StateBackend:
    kind: BackendKind | str = BackendKind.LOCAL  # local: no setup, one machine; s3 for a team
    bucket: str | None = None  # s3 only, required: the state bucket (versioning on, created outside the stacks)
    region: str | None = None  # s3 only, required: the bucket's region

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "kind", BackendKind(self.kind))
        except ValueError:
            raise UsageError(f"backend: {self.kind!r} is not one of {', '.join(BackendKind)}") from None
        if self.kind is BackendKind.LOCAL:
            if self.bucket or self.region:
                raise UsageError("backend local: --state-bucket / --state-region are for the s3 backend")
            return
        if not self.bucket or not re.fullmatch(_BUCKET_RE, self.bucket):
            raise UsageError(f"backend s3: --state-bucket must be an S3 bucket name (got {self.bucket!r})")
        if self.region not in known_regions():
            raise UsageError(f"backend s3: --state-region must be an AWS region code (got {self.region!r})")

    def config(self, environment: str, stack: str) -> dict[str, Any]:
        """The stack's `terraform.backend.<kind>` block."""
        key = state_key(environment, stack)
        if self.kind is BackendKind.LOCAL:
            return {"path": f"../../../{STATE_DIR}/{key}"}
        return {"bucket": self.bucket, "key": key, "region": self.region, "encrypt": True, "use_lockfile": True}
