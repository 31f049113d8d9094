"""tfvars_io: deterministic merge/render, atomic write, previous copy, byte-identical restore."""

import json
import os

import pytest

from analysis import tfvars_io
from analysis.errors import AnalysisError
from analysis.fsutil import atomic_write
from stacks import tfvars as stack_tfvars
from stacks.tfvars import override_path

STACK = "serverless-us-east-1"


@pytest.fixture
def path(tmp_path):
    return override_path(tmp_path / "tfvars", "staging", STACK)


@pytest.fixture
def no_validator(monkeypatch):
    """Unit tests of the IO itself: the stack validator is tested through its hook below."""
    monkeypatch.setattr(tfvars_io, "validate", lambda path, data: None)


def test_merge_sets_vars_and_single_map_keys():
    data = {"serverless_memory_size": {"orders": 3008, "catalog": 3008}, "other": 1}
    out = tfvars_io.merge(data, {"serverless_memory_size.orders": 1024, "serverless_timeout": 30})
    assert out == {"serverless_memory_size": {"orders": 1024, "catalog": 3008}, "other": 1, "serverless_timeout": 30}
    assert data["serverless_memory_size"]["orders"] == 3008  # input untouched


def test_merge_refuses_map_key_on_scalar_and_bad_address():
    with pytest.raises(AnalysisError, match="not a map"):
        tfvars_io.merge({"x": 1}, {"x.k": 2}, source="f.json")
    with pytest.raises(AnalysisError, match="invalid tfvars key address"):
        tfvars_io.merge({}, {"x.": 2})


def test_render_is_sorted_indented_and_newline_terminated():
    text = tfvars_io.render({"b": {"z": 1, "a": 2}, "a": "x"})
    assert text == '{\n  "a": "x",\n  "b": {\n    "a": 2,\n    "z": 1\n  }\n}\n'


def test_corrupt_file_is_one_line_error_naming_the_file(path):
    path.parent.mkdir(parents=True)
    path.write_text('{"serverless_timeout": 3')
    with pytest.raises(AnalysisError) as e:
        tfvars_io.read(path)
    assert str(path) in str(e.value) and "\n" not in str(e.value)
    path.write_text("[1]")
    with pytest.raises(AnalysisError, match="must be a JSON object"):
        tfvars_io.read(path)


def test_apply_keeps_previous_and_restore_is_byte_identical(path, no_validator):
    path.parent.mkdir(parents=True)
    original = b'{"serverless_memory_size": {"catalog": 3008, "orders": 3008},   "x": 1}'  # hand formatted
    path.write_bytes(original)
    w = tfvars_io.apply(path, {"serverless_memory_size.orders": 1024})
    assert w.changed and "-" in w.diff and '"orders": 1024' in w.diff
    assert json.loads(path.read_text())["serverless_memory_size"] == {"catalog": 3008, "orders": 1024}
    assert tfvars_io.previous_path(path).read_bytes() == original
    # the same apply again changes nothing, and the kept copy still is the state before the first apply
    assert not tfvars_io.apply(path, {"serverless_memory_size.orders": 1024}).changed
    assert tfvars_io.previous_path(path).read_bytes() == original
    r = tfvars_io.restore(path)
    assert r.changed and path.read_bytes() == original


def test_absent_file_is_recorded_as_marker_and_restore_deletes_it(path, no_validator):
    tfvars_io.apply(path, {"serverless_timeout": 30})
    assert path.exists() and tfvars_io.previous_path(path).read_bytes() == b""
    dry = tfvars_io.restore(path, dry_run=True)
    assert dry.changed and path.exists()
    tfvars_io.restore(path)
    assert not path.exists()
    assert not tfvars_io.restore(path).changed  # idempotent


def test_restore_without_previous_copy_is_an_error(path):
    with pytest.raises(AnalysisError, match="no previous copy"):
        tfvars_io.restore(path)


def test_same_input_same_bytes(tmp_path, no_validator):
    a, b = tmp_path / "a" / "x.auto.tfvars.json", tmp_path / "b" / "x.auto.tfvars.json"
    tfvars_io.apply(a, {"k2": 1, "k1": {"b": 2, "a": 1}})
    tfvars_io.apply(b, {"k1": {"a": 1, "b": 2}, "k2": 1})
    assert a.read_bytes() == b.read_bytes()


def test_failed_write_leaves_old_file_and_no_temp(path, no_validator, monkeypatch):
    path.parent.mkdir(parents=True)
    path.write_bytes(b'{"serverless_timeout": 900}\n')

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        atomic_write(path, b"{}\n")
    assert path.read_bytes() == b'{"serverless_timeout": 900}\n'
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]


def test_validator_hook_rejects_before_anything_is_written(path, monkeypatch):
    seen = {}

    def validate(tier, data, source, environment="staging"):
        seen.update(tier=tier, source=source, environment=environment)
        if data.get("serverless_timeout", 0) > 900:
            raise stack_tfvars.TfvarsError(source, "serverless_timeout", "must be <= 900")

    monkeypatch.setattr(stack_tfvars, "validate", validate)
    with pytest.raises(AnalysisError, match="serverless_timeout: must be <= 900"):
        tfvars_io.apply(path, {"serverless_timeout": 901})
    assert seen == {"tier": "serverless", "source": str(path), "environment": "staging"}
    assert not path.exists() and not tfvars_io.previous_path(path).exists()
    assert tfvars_io.apply(path, {"serverless_timeout": 60}).changed


def test_real_stack_validator_is_used_when_present(tmp_path):
    path = override_path(tmp_path / "tfvars", "staging", "data-us-east-1")
    with pytest.raises(AnalysisError, match="data_iops"):
        tfvars_io.apply(path, {"data_iops": 10000})  # rejected by the API at 1000 GB (aws-facts.md)
    assert not path.exists()


def test_second_apply_before_commit_keeps_the_committed_state(path, no_validator):
    """In a git work tree, .previous/ holds the committed file however many applies come before
    the commit, so a rollback never restores an intermediate proposal."""
    import subprocess

    repo = path.parents[2]  # the tmp dir holding tfvars/
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    atomic_write(path, b'{\n  "compute_min_size": 3\n}\n')
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "committed"], check=True)
    committed = path.read_bytes()
    tfvars_io.apply(path, {"compute_min_size": 2})
    tfvars_io.apply(path, {"compute_min_size": 1})
    assert tfvars_io.previous_path(path).read_bytes() == committed
    tfvars_io.restore(path)
    assert path.read_bytes() == committed
    # once the change is committed, the next apply keeps that new committed state
    tfvars_io.apply(path, {"compute_min_size": 2})
    subprocess.run([*git, "add", "-A", str(path)], check=True)
    subprocess.run([*git, "commit", "-qm", "applied"], check=True)
    tfvars_io.apply(path, {"compute_min_size": 4})
    assert json.loads(tfvars_io.previous_path(path).read_bytes()) == {"compute_min_size": 2}
