"""What the run tells a reviewer around the reports: new tfvars files to add and the next
commands after --apply, default paths from the repository root, `make install` when the
virtualenv is missing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from analysis.args import ROOT, output_dir, project_root, stacks_dir, tfvars_root
from analysis.cli import build_parser
from analysis.commands.run import summary
from analysis.run import RunOptions, RunResult, untracked


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def applied_repo(tmp_path: Path) -> tuple[Path, Path]:
    """A git work tree with one tracked tfvars file and one new (untracked) one."""
    env = tmp_path / "tfvars" / "staging"
    env.mkdir(parents=True)
    tracked, new = env / "data-us-east-1.auto.tfvars.json", env / "cache-us-east-1.auto.tfvars.json"
    tracked.write_text("{}\n")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init")
    tracked.write_text('{"data_instance_class": "db.r6g.large"}\n')
    new.write_text('{"cache_num_shards": 1}\n')
    return tracked, new


def test_untracked_names_only_the_new_tfvars_files(tmp_path):
    tracked, new = applied_repo(tmp_path)
    assert untracked([tracked, new]) == [new]
    outside = tmp_path.parent / f"{tmp_path.name}-plain"
    outside.mkdir()
    assert untracked([outside / "x.json"]) is None  # not a git work tree: nothing to say


def test_after_apply_the_run_says_what_to_add_and_what_to_run_next(tmp_path, monkeypatch):
    tracked, new = applied_repo(tmp_path)
    monkeypatch.chdir(tmp_path)
    result = RunResult([], [], [], {}, [], "", applied=[tracked, new])
    text = summary(result, RunOptions(apply=True, output=tmp_path / "reports" / "staging"))
    lines = text.splitlines()
    assert (
        "applied: tfvars/staging/data-us-east-1.auto.tfvars.json, tfvars/staging/cache-us-east-1.auto.tfvars.json"
        in lines
    )
    assert "new files, not tracked by git yet: git add tfvars/staging/cache-us-east-1.auto.tfvars.json" in lines
    nxt = lines[lines.index("next:") + 1 :]
    assert nxt[0].startswith("  git status --short tfvars/staging/")
    assert any(line.startswith("  make synth ENVIRONMENT=staging") for line in nxt)
    assert not any("ANALYZE_ARGS=--apply" in line for line in nxt)  # already applied


def test_default_paths_come_from_the_project_whatever_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(ROOT / "docs")  # a subdirectory of the checkout
    args = build_parser().parse_args(["run"])
    assert (stacks_dir(args), tfvars_root(args), output_dir(args)) == (
        ROOT / "cdktf.out" / "stacks",
        ROOT / "tfvars",
        ROOT / "reports" / "staging",
    )
    monkeypatch.chdir(tmp_path)  # outside any checkout: the repository the package lives in
    assert project_root() == ROOT
    given = build_parser().parse_args(["guard", "--tfvars-root", "here/tfvars", "--stacks-dir", "here/stacks"])
    assert tfvars_root(given) == Path("here/tfvars") and stacks_dir(given) == Path("here/stacks")


def test_a_missing_virtualenv_says_run_make_install(tmp_path):
    # -S: no site-packages, as with a system python and no virtualenv
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-S", "-m", "analysis", "run", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "is not installed: run `make install`" in proc.stderr
    assert "Traceback" not in proc.stderr
