"""Props dataclasses and tfvars validation: pure, fast, and free of cdktf."""

from __future__ import annotations

import dataclasses
import inspect
import json
import subprocess
import sys

import pytest

from stacks import FUNCTIONS, TIERS
from stacks.props import PROPS, environment_defaults
from stacks.tfvars import TfvarsError, build_props, load_overrides, props_class, validate

from .conftest import ROOT, run_main


def test_pure_modules_never_import_cdktf():
    code = (
        "import sys; import stacks, stacks.props, stacks.rules, stacks.tfvars, stacks.bench, stacks.doc, stacks.backend; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('cdktf', 'constructs', 'jsii', 'cdktf_cdktf_provider_aws')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


@pytest.mark.parametrize("tier", TIERS)
def test_props_fields_are_the_tier_variables(tier):
    cls = props_class(tier)
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    source = inspect.getsource(cls)
    for f in dataclasses.fields(cls):
        assert f.name.startswith(f"{tier}_"), f.name
        assert f.metadata["description"] and f.metadata["tf_type"]
        # each default is documented on the line above its field
        lines = source.splitlines()
        idx = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{f.name}:"))
        assert lines[idx - 1].strip().startswith("#"), f"{f.name}: document the default in a comment line"
    assert f"{tier}_critical_path" in {f.name for f in dataclasses.fields(cls)}
    # sizing_keys point at real variables (map keys at function short names)
    names = {f.name for f in dataclasses.fields(cls)}
    for role, fields in cls.sizing_keys.items():
        assert role in cls.roles
        for key in fields.values():
            var, _, map_key = key.partition(".")
            assert var in names
            assert not map_key or map_key in FUNCTIONS
    assert build_props(tier, "staging").problems() == []  # the defaults are valid


def test_staging_baseline_defaults():
    data = build_props("data", "staging")
    assert (data.data_instance_class, data.data_allocated_storage, data.data_iops) == ("db.r6g.2xlarge", 1000, 12000)
    assert data.data_multi_az and data.data_replica_count == 1 and data.data_backup_retention_period > 0
    assert not data.data_deletion_protection and data.data_skip_final_snapshot
    cache = build_props("cache", "staging")
    assert (cache.cache_node_type, cache.cache_num_shards, cache.cache_replicas_per_shard) == (
        "cache.r6g.2xlarge",
        6,
        2,
    )
    assert build_props("compute", "staging").compute_instance_type == "c5.4xlarge"
    sls = build_props("serverless", "staging")
    assert sls.serverless_memory_size == {f: 3008 for f in FUNCTIONS}
    assert sls.serverless_provisioned_concurrency == {f: 50 for f in FUNCTIONS}
    net = build_props("network", "staging")
    assert (net.network_az_count, net.network_nat_gateway_count) == (3, 3)


def test_deletion_protection_is_per_environment():
    assert environment_defaults("staging", "data") == {}
    prod = build_props("data", "prod")
    assert prod.data_deletion_protection and not prod.data_skip_final_snapshot


@pytest.mark.parametrize(
    "tier, data, key, rule",
    [
        ("data", {"data_colour": "blue"}, "data_colour", "not a variable of the data stack"),
        ("data", {"network_az_count": 3}, "network_az_count", "not a variable of the data stack"),
        ("data", {"data_iops": "12000"}, "data_iops", "expected number, got string"),
        ("data", {"data_multi_az": "yes"}, "data_multi_az", "expected bool"),
        ("data", {"data_replica_count": 1.5}, "data_replica_count", "whole number"),
        ("data", {"data_instance_class": None}, "data_instance_class", "must not be null"),
        ("data", {"data_iops": 10000}, "data_iops", "12000..64000"),
        ("data", {"data_allocated_storage": 200}, "data_iops", "cannot set IOPS"),
        ("data", {"data_allocated_storage": 10}, "data_allocated_storage", "20..65536"),
        ("data", {"data_instance_class": "r6g.large"}, "data_instance_class", "must match"),
        ("data", {"data_storage_throughput": 5000}, "data_storage_throughput", "500..4000"),
        ("data", {"data_backup_retention_period": 0}, "data_backup_retention_period", "1..35"),
        ("data", {"data_critical_path": ["writer"]}, "data_critical_path", "unknown role"),
        ("cache", {"cache_replicas_per_shard": 0}, "cache_replicas_per_shard", "Multi-AZ needs at least 1"),
        ("cache", {"cache_replicas_per_shard": 5}, "cache_replicas_per_shard", "0..4"),
        ("network", {"network_nat_gateway_count": 4}, "network_nat_gateway_count", "1..az_count"),
        (
            "compute",
            {"compute_desired_capacity": 20, "compute_target_cpu_utilization": None},
            "compute_desired_capacity",
            "min <= desired <= max",
        ),
        # with the scaling policy on, desired is the policy's; min <= max still holds
        ("compute", {"compute_min_size": 20}, "compute_desired_capacity", "min <= desired <= max"),
        ("compute", {"compute_target_cpu_utilization": 0}, "compute_target_cpu_utilization", "1..100"),
        ("compute", {"compute_architecture": "sparc"}, "compute_architecture", "one of"),
        (
            "serverless",
            {"serverless_provisioned_concurrency": {"orders": 150}},
            "serverless_provisioned_concurrency.orders",
            "must be <= reserved concurrency (100)",
        ),
        ("serverless", {"serverless_memory_size": {"billing": 512}}, "serverless_memory_size", "unknown function"),
        ("serverless", {"serverless_memory_size": {"orders": 64}}, "serverless_memory_size", "128..10240"),
        ("serverless", {"serverless_timeout": {"orders": 901}}, "serverless_timeout", "1..900"),
        (
            "serverless",
            {"serverless_memory_size": {"orders": "big"}},
            "serverless_memory_size",
            "expected a whole number",
        ),
        (
            "serverless",
            {"serverless_reserved_concurrency": {"orders": 500, "catalog": 400}},
            "serverless_reserved_concurrency",
            "100 must stay unreserved",
        ),
    ],
)
def test_invalid_override_is_one_line_naming_file_key_rule(tier, data, key, rule):
    source = f"tfvars/staging/{tier}-us-east-1.auto.tfvars.json"
    with pytest.raises(TfvarsError) as err:
        validate(tier, data, source=source)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{source}: {key}: "), message
    assert rule in message, message


def test_valid_overrides_are_normalised():
    assert validate("data", {"data_iops": 16000.0, "data_allocated_storage": 2000}) == {
        "data_iops": 16000,
        "data_allocated_storage": 2000,
    }
    assert validate("data", {"data_allocated_storage": 200, "data_iops": None, "data_storage_throughput": None})
    assert validate("serverless", {"serverless_memory_size": {"orders": 1024}}) == {
        "serverless_memory_size": {"orders": 1024}
    }


def test_load_overrides_reads_files(tmp_path):
    path = tmp_path / "data-us-east-1.auto.tfvars.json"
    assert load_overrides(path, "data") == {}  # no file, no overrides
    path.write_text("{not json")
    with pytest.raises(TfvarsError, match=r"data-us-east-1.auto.tfvars.json: invalid JSON at line 1"):
        load_overrides(path, "data")
    path.write_text(json.dumps({"data_instance_class": "db.r6g.xlarge"}))
    assert load_overrides(path, "data") == {"data_instance_class": "db.r6g.xlarge"}
    path.write_text("[1]")
    with pytest.raises(TfvarsError, match="expected a JSON object"):
        load_overrides(path, "data")


def test_synth_fails_with_one_line_for_a_bad_file(tmp_path):
    bad = tmp_path / "staging" / "data-us-west-2.auto.tfvars.json"
    bad.parent.mkdir()
    bad.write_text(json.dumps({"data_iops": 10000}))
    proc = run_main("--tfvars", str(tmp_path), "--outdir", str(tmp_path / "out"))
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {bad}: data_iops: gp3 at >= 400 GiB needs IOPS 12000..64000"), lines[0]
    assert not (tmp_path / "out" / "stacks").exists()


def test_props_registry_covers_every_tier():
    assert set(PROPS) == set(TIERS)


def test_a_limit_is_written_once():
    """The range of a knob gives the Python check, the Terraform validation and the description."""
    from stacks.props import knob

    meta = knob(7, "Backup retention in days ({range}).", between=(1, 35), what="Backup retention").metadata
    assert meta["description"] == "Backup retention in days (1..35)."
    assert meta["check"](1) is None and meta["check"](35) is None
    assert "1..35" in meta["check"](36) and meta["check"](0)
    assert meta["tf_rules"] == (
        ("{var} >= 1 && {var} <= 35 && floor({var}) == {var}", "Backup retention must be a whole number 1..35."),
    )
    per_fn = knob({"orders": 1}, "x", tf_type="map(number)", between=(0, None), what="N", per_function=True).metadata
    assert (
        per_fn["check"]({"orders": -1}) and per_fn["check"]({"billing": 1}) and per_fn["check"]({"orders": 5}) is None
    )
    assert per_fn["tf_rules"][1][0] == "alltrue([for k, v in {var} : v >= 0 && floor(v) == v])"
    with pytest.raises(TypeError):
        knob(1, "x", between=(0, 1), one_of=(0, 1))


def test_hcl_rules_use_the_rules_constants():
    """A limit stacks/rules.py defines reaches the Terraform validation from there."""
    from stacks import rules
    from stacks.props import CacheProps, DataProps

    def conditions(cls, name):
        return " ".join(c for c, _ in next(f for f in cls.fields() if f.name == name).metadata["tf_rules"])

    assert f"<= {rules.CACHE_MAX_REPLICAS} &&" in conditions(CacheProps, "cache_replicas_per_shard")
    assert f"<= {rules.RDS_MAX_REPLICAS} &&" in conditions(DataProps, "data_replica_count")
    assert f"<= {rules.GP3_IOPS_MAX}" in conditions(DataProps, "data_iops")


def test_readme_variable_table_is_current():
    from stacks import doc

    current = doc.README.read_text()
    assert current == doc.render(current), f"README.md variable table is stale: run {doc.COMMAND}"
