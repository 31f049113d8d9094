"""The one module that reads and writes tfvars override files (see docs/architecture.md).

`tfvars/<env>/<stack>.auto.tfvars.json` is committed and reviewed as a diff, so every write is
deterministic (sorted keys, 2-space indent, trailing newline) and atomic (temp file in the same
directory, then os.replace). Before a file changes, its bytes are kept as
`tfvars/<env>/.previous/<stack>.auto.tfvars.json` (an empty marker when the file did not
exist) so `guard` can restore it byte for byte or delete it.

Key addresses: `var` sets a variable, `var.mapkey` sets one key of a map variable and leaves the
map's other keys alone.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis.errors import AnalysisError
from analysis.fsutil import atomic_write
from stacks import naming
from stacks import tfvars as stack_tfvars

PREVIOUS_DIR = ".previous"


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
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise AnalysisError(f"{source}: corrupt tfvars JSON ({e})") from None
    if not isinstance(data, dict):
        raise AnalysisError(f"{source}: tfvars must be a JSON object, got {type(data).__name__}")
    return data


def read_bytes(path: Path | str) -> bytes | None:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError:
        return None


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


def keep_previous(path: Path | str) -> Path:
    """Copy the file's current bytes to .previous/ (an empty marker when it does not exist)."""
    raw = read_bytes(path)
    target = previous_path(path)
    atomic_write(target, b"" if raw is None else raw)
    return target


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


def apply(path: Path | str, updates: Mapping[str, Any], *, dry_run: bool = False) -> Written:
    """Merge `updates` (key address -> value) into the file; keep the previous bytes first.

    An unchanged file is not rewritten and its .previous copy is left alone, so applying the
    same change twice still lets `restore` go back to the state before the first apply.
    """
    path = Path(path)
    before = read_bytes(path)
    data = {} if before is None else parse(before, path)
    after_text = render(merge(data, updates, source=path)).encode("utf-8")
    if before == after_text:
        return Written(path, False, "", after_text)
    validate(path, json.loads(after_text))
    if not dry_run:
        keep_previous(path)
        atomic_write(path, after_text)
    return Written(path, True, unified_diff(before, after_text, path), after_text)


def restore(path: Path | str, *, dry_run: bool = False) -> Written:
    """Put back the bytes kept in .previous/ (delete the file if the marker says it was absent)."""
    path = Path(path)
    kept = read_bytes(previous_path(path))
    if kept is None:
        raise AnalysisError(f"{path}: no previous copy in {previous_path(path).parent} to restore")
    current = read_bytes(path)
    target = None if kept == b"" else kept
    if current == target:
        return Written(path, False, "")
    if not dry_run:
        if target is None:
            path.unlink()
        else:
            atomic_write(path, target)
    return Written(path, True, unified_diff(current, target, path))
