"""One synth per pytest session: `main.py` into a temp dir, with a temp tfvars root that
overrides some us-west-2 stacks (us-east-1 keeps every default). Tests read the JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENVIRONMENT = "staging"
REGIONS = ("us-east-1", "us-west-2")

# What the override run changes (us-west-2 only).
OVERRIDES = {
    "data-us-west-2": {
        "data_instance_class": "db.r6g.xlarge",
        "data_replica_count": 0,
        "data_critical_path": ["primary"],
    },
    "compute-us-west-2": {"compute_instance_type": "c6i.2xlarge", "compute_desired_capacity": 4},
    "serverless-us-west-2": {
        "serverless_memory_size": {"orders": 1024},
        "serverless_provisioned_concurrency": {"reports": 0},
    },
    # fewer shards, nodes and NAT gateways: the rollback alarms follow the variables
    "cache-us-west-2": {"cache_num_shards": 3, "cache_replicas_per_shard": 1},
    "network-us-west-2": {"network_nat_gateway_count": 2},
}


def run_main(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
    return subprocess.run(
        [sys.executable, str(ROOT / "main.py"), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


class Synth:
    def __init__(self, outdir: Path, tfvars_root: Path):
        self.outdir, self.tfvars_root = outdir, tfvars_root
        self._cache: dict[str, dict] = {}

    def stack(self, name: str) -> dict:
        if name not in self._cache:
            self._cache[name] = json.loads((self.outdir / "stacks" / name / "cdk.tf.json").read_text())
        return self._cache[name]

    def resources(self, name: str, rtype: str) -> dict:
        return self.stack(name).get("resource", {}).get(rtype, {})

    def resource(self, name: str, rtype: str, rid: str) -> dict:
        return self.resources(name, rtype)[rid]

    def variable(self, name: str, var: str) -> dict:
        return self.stack(name)["variable"][var]


@pytest.fixture(scope="session")
def synth(tmp_path_factory) -> Synth:
    base = tmp_path_factory.mktemp("synth")
    tfvars_root = base / "tfvars"
    (tfvars_root / ENVIRONMENT).mkdir(parents=True)
    for stack, values in OVERRIDES.items():
        (tfvars_root / ENVIRONMENT / f"{stack}.auto.tfvars.json").write_text(json.dumps(values, indent=2))
    outdir = base / "cdktf.out"
    proc = run_main(
        "--environment",
        ENVIRONMENT,
        "--regions",
        ",".join(REGIONS),
        "--outdir",
        str(outdir),
        "--tfvars",
        str(tfvars_root),
    )
    assert proc.returncode == 0, proc.stderr
    return Synth(outdir, tfvars_root)


def _synth_one(tmp_path_factory, name: str, *args: str) -> Synth:
    """A one-region synth with no overrides (other environments, other backends)."""
    base = tmp_path_factory.mktemp(name)
    (base / "tfvars").mkdir()
    outdir = base / "cdktf.out"
    proc = run_main("--regions", REGIONS[0], "--outdir", str(outdir), "--tfvars", str(base / "tfvars"), *args)
    assert proc.returncode == 0, proc.stderr
    return Synth(outdir, base / "tfvars")


@pytest.fixture(scope="session")
def synth_production(tmp_path_factory) -> Synth:
    """production, local backend: production defaults (deletion protection, maintenance window)."""
    return _synth_one(tmp_path_factory, "production", "--environment", "production")


@pytest.fixture(scope="session")
def synth_s3(tmp_path_factory) -> Synth:
    """dev with the S3 backend."""
    return _synth_one(
        tmp_path_factory,
        "s3",
        "--environment",
        "dev",
        "--backend",
        "s3",
        "--state-bucket",
        "rightsize-tfstate",
        "--state-region",
        "eu-west-1",
    )
