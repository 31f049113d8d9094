"""The one module that reads and writes tfvars override files (see docs/architecture.md).

`tfvars/<env>/<stack>.auto.tfvars.json` is committed and reviewed as a diff, so every write is
deterministic (sorted keys, 2-space indent, trailing newline) and atomic (temp file in the same
directory, then os.replace). Before a file changes, its bytes are kept as
`tfvars/<env>/.previous/<stack>.auto.tfvars.json` (an empty marker when the file did not
exist) so `guard` can restore it byte for byte or delete it.

Writers of one `tfvars/<env>/` directory hold its lock (`.previous/.lock`) and change all their
files in one transaction (analysis/fsutil.py): every file or none, never two runs interleaved.
Paths come from `override_file`, which accepts only stack names of the naming contract and
paths inside the tfvars root. Reads are bounded (MAX_BYTES) and strict (stacks/tfvars.loads_strict).

Key addresses: `var` sets a variable, `var.mapkey` sets one key of a map variable and leaves the
map's other keys alone.
"""

from __future__ import annotations

import contextlib
import difflib
import json
import re
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import fsutil
from analysis.errors import AnalysisError
from stacks import naming
from stacks import tfvars as stack_tfvars

PREVIOUS_DIR = ".previous"
LOCK_FILE = ".lock"  # in PREVIOUS_DIR (ignored by git, never a tfvars name)
MAX_BYTES = stack_tfvars.MAX_BYTES


def override_file(root: Path | str, environment: str, stack: str) -> Path:
    """`<root>/<environment>/<stack>.auto.tfvars.json`, refused (AnalysisError) unless the
    environment and stack follow the naming contract and the path stays inside `root`."""
    if not re.fullmatch(naming.ENVIRONMENT_RE, str(environment)):
        raise AnalysisError(f"environment {environment!r} is not an environment name ({naming.ENVIRONMENT_RE})")
    try:
        naming.parse_stack(stack)
    except ValueError as e:
        raise AnalysisError(f"refusing to write tfvars: {e}") from None
    path = stack_tfvars.override_path(root, environment, stack)
    if not path.resolve().is_relative_to(Path(root).resolve()):
        raise AnalysisError(f"refusing to write {path}: it resolves outside the tfvars root {root}")
    return path


def previous_path(path: Path | str) -> Path:
    path = Path(path)
    return path.parent / PREVIOUS_DIR / path.name


def stack_of(path: Path | str) -> str:
    """`.../data-us-east-1.auto.tfvars.json` -> `data-us-east-1`."""
    try:
        return naming.stack_of_tfvars(Path(path).name)
    except ValueError:
        raise AnalysisError(
            f"{path}: not a tfvars override file (expected <tier>-<region>{naming.TFVARS_SUFFIX})"
        ) from None


def tier_of(path: Path | str) -> str:
    return naming.tier_of(stack_of(path))


def parse(text: bytes | str, source: Path | str) -> dict[str, Any]:
    if len(text) > MAX_BYTES:
        raise AnalysisError(f"{source}: {len(text):,} bytes, more than the {MAX_BYTES:,} a tfvars file may hold")
    try:
        data = stack_tfvars.loads_strict(text)
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError, NaN, 1e400, duplicate keys, huge ints
        raise AnalysisError(f"corrupt tfvars JSON in {source} ({str(e).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise AnalysisError(f"{source}: tfvars must be a JSON object, got {type(data).__name__}")
    return data


def read_bytes(path: Path | str) -> bytes | None:
    """The file's bytes; None when it does not exist; AnalysisError naming it when it cannot be
    read or is larger than any tfvars file (a directory in its place, no permission, ...)."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise AnalysisError(f"cannot read {path}: {e.strerror or type(e).__name__}") from None
    if len(raw) > MAX_BYTES:
        raise AnalysisError(f"{path}: larger than the {MAX_BYTES:,} bytes a tfvars file may hold")
    return raw


def read(path: Path | str) -> dict[str, Any]:
    """The file's variables; {} when it does not exist; AnalysisError naming the file if corrupt."""
    raw = read_bytes(path)
    return {} if raw is None else parse(raw, path)


def render(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def split_address(address: str) -> tuple[str, str | None]:
    var, _, mapkey = address.partition(".")
    if not var or (_ and not mapkey):
        raise AnalysisError(f"invalid tfvars key address {address!r} (expected var or var.mapkey)")
    return var, (mapkey or None)


def merge(data: Mapping[str, Any], updates: Mapping[str, Any], source: Path | str = "tfvars") -> dict[str, Any]:
    """A copy of `data` with each key address in `updates` set; other keys untouched."""
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in data.items()}
    for address, value in sorted(updates.items()):
        var, mapkey = split_address(address)
        if mapkey is None:
            out[var] = value
            continue
        current = out.setdefault(var, {})
        if not isinstance(current, dict):
            raise AnalysisError(f"{source}: {var} is not a map, cannot set {address}")
        current[mapkey] = value
    return out


def unified_diff(before: bytes | None, after: bytes | None, path: Path | str) -> str:
    def lines(raw: bytes | None) -> list[str]:
        return [] if raw is None else raw.decode("utf-8").splitlines(keepends=True)

    return "".join(
        difflib.unified_diff(
            lines(before),
            lines(after),
            fromfile=str(path) if before is not None else "/dev/null",
            tofile=str(path) if after is not None else "/dev/null",
        )
    )


def validate(path: Path | str, data: Mapping[str, Any]) -> None:
    """Check the data about to be written to `tfvars/<env>/<stack>...` with the stack's own rules
    (stacks/tfvars.py owns which keys and values a tier accepts)."""
    path = Path(path)
    try:
        stack_tfvars.validate(tier_of(path), data, source=str(path), environment=path.parent.name)
    except stack_tfvars.TfvarsError as e:
        raise AnalysisError(str(e)) from None


# --- apply / restore ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool
    diff: str  # unified diff of the file (empty when unchanged)
    content: bytes = b""  # the file's bytes after apply (what a dry run would write); not kept by restore


def _directory(paths: Iterable[Path]) -> Path:
    """The one tfvars/<env>/ directory every path is in (a transaction locks one tree)."""
    dirs = {Path(p).parent for p in paths}
    if len(dirs) != 1:
        raise AnalysisError(f"one transaction writes one tfvars directory, got {', '.join(sorted(map(str, dirs)))}")
    return dirs.pop()


@contextlib.contextmanager
def _locked(paths: Iterable[Path], dry_run: bool) -> Iterator[None]:
    """Hold the tfvars directory's lock (a dry run writes nothing and needs none), and drop the
    temporaries an interrupted run left there."""
    if dry_run:
        yield
        return
    directory = _directory(paths)
    with fsutil.locked(directory / PREVIOUS_DIR / LOCK_FILE, f"tfvars directory {directory}"):
        for d in (directory, directory / PREVIOUS_DIR):
            fsutil.remove_stale_temporaries(d)
        yield


_UNKNOWN = object()  # the file is not in a git work tree (or git is missing)


def committed_bytes(path: Path) -> bytes | None | object:
    """The file as the last commit holds it (None: not in it), or _UNKNOWN outside a git work tree."""
    try:
        inside = subprocess.run(
            ["git", "-C", str(path.parent), "rev-parse", "--is-inside-work-tree"],
            capture_output=True,
            timeout=10,
        )
        if inside.returncode != 0 or inside.stdout.strip() != b"true":
            return _UNKNOWN
        shown = subprocess.run(
            ["git", "-C", str(path.parent), "show", f"HEAD:./{path.name}"], capture_output=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return _UNKNOWN
    return shown.stdout if shown.returncode == 0 else None


def keeps_previous(path: Path, before: bytes | None) -> bool:
    """True when .previous/ already holds the committed state and must stay: the file differs from
    the last commit because an earlier apply (not yet committed) changed it. `guard` then restores
    the committed state, never an intermediate proposal."""
    if not previous_path(path).is_file():
        return False
    committed = committed_bytes(path)
    return committed is not _UNKNOWN and committed != before


def apply_all(files: Mapping[Path, Mapping[str, Any]], *, dry_run: bool = False) -> list[Written]:
    """Merge each file's `updates` (key address -> value) into it, all files in one transaction
    under the directory's lock, the previous bytes of each changed file kept first.

    Every file is read, merged and validated before anything is written. An unchanged file is
    not rewritten and its .previous copy is left alone, so applying the same change twice still
    lets `restore` go back to the state before the first apply. In a git work tree a second apply
    before the first is committed keeps .previous/ as the committed state (keeps_previous).
    """
    if not files:
        return []
    out = []
    with _locked(files, dry_run):
        tx = fsutil.Transaction()
        for path, updates in files.items():
            path = Path(path)
            before = read_bytes(path)
            data = {} if before is None else parse(before, path)
            after = render(merge(data, updates, source=path)).encode("utf-8")
            if before == after:
                out.append(Written(path, False, "", after))
                continue
            validate(path, json.loads(after))
            out.append(Written(path, True, unified_diff(before, after, path), after))
            if not keeps_previous(path, before):
                tx.write(previous_path(path), before or b"")
            tx.write(path, after)
        if not dry_run:
            tx.commit()
    return out


def apply(path: Path | str, updates: Mapping[str, Any], *, dry_run: bool = False) -> Written:
    """`apply_all` of one file."""
    return apply_all({Path(path): updates}, dry_run=dry_run)[0]


def restore_all(paths: Iterable[Path | str], *, dry_run: bool = False) -> list[Written]:
    """Put back the bytes kept in .previous/ (delete a file whose marker says it was absent),
    every file in one transaction under the directory's lock."""
    files = [Path(p) for p in paths]
    if not files:
        return []
    out = []
    with _locked(files, dry_run):
        tx = fsutil.Transaction()
        for path in files:
            kept = read_bytes(previous_path(path))
            if kept is None:
                raise AnalysisError(f"{path}: no previous copy in {previous_path(path).parent} to restore")
            current = read_bytes(path)
            target = None if kept == b"" else kept
            if current == target:
                out.append(Written(path, False, ""))
                continue
            if target is None:
                tx.delete(path)
            else:
                parse(target, previous_path(path))
                tx.write(path, target)
            out.append(Written(path, True, unified_diff(current, target, path)))
        if not dry_run:
            tx.commit()
    return out


def restore(path: Path | str, *, dry_run: bool = False) -> Written:
    """`restore_all` of one file."""
    return restore_all([path], dry_run=dry_run)[0]
