"""Loading and validating tfvars overrides (`tfvars/<environment>/<stack>.auto.tfvars.json`).

Pure Python (never imports cdktf). Every failure is a `TfvarsError` whose str() is one line
naming the file, the key and the rule, e.g.
  tfvars/staging/data-us-east-1.auto.tfvars.json: data_iops: gp3 at >= 400 GiB needs IOPS 12000..64000 (got 10000; ...)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .naming import DEFAULT_ENVIRONMENT, TIERS, stack_name, tfvars_filename
from .props import PROPS, TierProps, environment_defaults

__all__ = [
    "TfvarsError",
    "props_class",
    "load_overrides",
    "load_all",
    "validate",
    "build_props",
    "override_path",
    "loads_strict",
    "MAX_BYTES",
]

MAX_BYTES = 1 << 20  # an override file sets a few dozen keys; anything near this is not one


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _finite(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} overflows a double")
    return value


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def loads_strict(text: str | bytes) -> Any:
    """JSON as Terraform and AWS can take it: ValueError for NaN/Infinity, numbers that overflow
    a double, duplicate keys (json.loads keeps the last silently), bad UTF-8 and deep nesting."""
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite, object_pairs_hook=_unique)
    except RecursionError:
        raise ValueError("nested too deeply") from None


class TfvarsError(ValueError):
    """An invalid override; str() is the one-line message."""

    def __init__(self, source: str | Path, key: str | None, rule: str):
        self.source, self.key, self.rule = str(source), key, rule
        super().__init__(f"{self.source}: {key}: {rule}" if key else f"{self.source}: {rule}")


def props_class(tier: str) -> type[TierProps]:
    try:
        return PROPS[tier]
    except KeyError:
        raise KeyError(f"unknown tier {tier!r}; tiers: {', '.join(TIERS)}") from None


def override_path(root: str | Path, environment: str, stack: str) -> Path:
    return Path(root) / environment / tfvars_filename(stack)


def _type_error(value: Any, meta: Mapping[str, Any]) -> str | None:
    """None if value has the variable's Terraform type, else the rule text."""
    tf_type = meta["tf_type"]
    if value is None:
        return None if meta["nullable"] else f"must not be null (type {tf_type})"

    def is_number(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    def got(v: Any) -> str:
        return {bool: "bool", str: "string", list: "list", dict: "object", type(None): "null"}.get(type(v), "number")

    if tf_type == "number":
        if not is_number(value):
            return f"expected number, got {got(value)} {json.dumps(value)}"
        if meta["integer"] and value != int(value):
            return f"expected a whole number, got {value}"
    elif tf_type == "string":
        if not isinstance(value, str):
            return f"expected string, got {got(value)} {json.dumps(value)}"
    elif tf_type == "bool":
        if not isinstance(value, bool):
            return f"expected bool, got {got(value)} {json.dumps(value)}"
    elif tf_type == "list(string)":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return f"expected list(string), got {json.dumps(value)}"
    elif tf_type.startswith("map("):
        inner = tf_type[4:-1]
        if not isinstance(value, dict):
            return f"expected {tf_type}, got {got(value)} {json.dumps(value)}"
        for k, v in value.items():
            ok = is_number(v) and v == int(v) if inner == "number" else isinstance(v, str)
            if not ok:
                return f"{k}: expected {'a whole number' if inner == 'number' else inner}, got {json.dumps(v)}"
    elif tf_type.startswith("object("):
        if not isinstance(value, dict):  # the knob's check reads the object itself
            return f"expected an object, got {got(value)} {json.dumps(value)}"
    else:  # pragma: no cover - a props declaration error
        raise AssertionError(f"unsupported tf_type {tf_type}")
    return None


def _normalise(value: Any, meta: Mapping[str, Any]) -> Any:
    """JSON 3.0 -> 3 for whole-number variables."""
    if meta["tf_type"] == "number" and meta["integer"] and value is not None:
        return int(value)
    if meta["tf_type"] == "map(number)":
        return {k: int(v) for k, v in value.items()}
    return value


def validate(
    tier: str, data: Any, source: str | Path = "<overrides>", environment: str = DEFAULT_ENVIRONMENT
) -> dict[str, Any]:
    """Validate one stack's overrides; return them normalised. Raises TfvarsError (one line).

    Checks, in order: the file is a JSON object; every key is a variable of the tier's
    stack; each value has the variable's type; each value obeys its own AWS rule; the
    overrides together with the defaults obey the cross-variable rules.
    """
    cls = props_class(tier)
    if not isinstance(data, dict):
        raise TfvarsError(source, None, f"expected a JSON object of variables, got {type(data).__name__}")
    fields = {f.name: f for f in cls.fields()}
    out: dict[str, Any] = {}
    for key, value in data.items():
        f = fields.get(key)
        if f is None:
            raise TfvarsError(source, key, f"not a variable of the {tier} stack (variables: {', '.join(fields)})")
        err = _type_error(value, f.metadata)
        if err:
            raise TfvarsError(source, key, err)
        value = _normalise(value, f.metadata)
        check = f.metadata["check"]
        if check is not None and value is not None:
            err = check(value)
            if err:
                raise TfvarsError(source, key, err)
        out[key] = value
    props = cls(**{**environment_defaults(environment, tier), **out})
    problems = props.problems()
    if problems:
        # Name the overridden key the rule is about when there is one.
        key, rule = next(((k, r) for k, r in problems if k.split(".")[0] in out), problems[0])
        raise TfvarsError(source, key, rule)
    return out


def load_overrides(path: str | Path, tier: str, environment: str = DEFAULT_ENVIRONMENT) -> dict[str, Any]:
    """Read and validate an override file; a missing file means no overrides."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise TfvarsError(path, None, f"cannot read: {e.strerror or type(e).__name__}") from None
    if len(raw) > MAX_BYTES:
        raise TfvarsError(path, None, f"larger than the {MAX_BYTES:,} bytes an override file may hold")
    try:
        data = loads_strict(raw)
    except json.JSONDecodeError as e:
        raise TfvarsError(path, None, f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from None
    except ValueError as e:  # also UnicodeDecodeError
        raise TfvarsError(path, None, f"invalid JSON: {str(e).splitlines()[0]}") from None
    return validate(tier, data, source=path, environment=environment)


def load_all(root: str | Path, environment: str, regions: list[str]) -> dict[str, tuple[dict[str, Any], Path | None]]:
    """Every stack's validated overrides: stack -> (overrides, file or None). Raises on the first bad file."""
    out: dict[str, tuple[dict[str, Any], Path | None]] = {}
    for region in regions:
        for tier in TIERS:
            stack = stack_name(tier, region)
            path = override_path(root, environment, stack)
            out[stack] = (load_overrides(path, tier, environment), path if path.exists() else None)
    return out


def build_props(tier: str, environment: str, overrides: Mapping[str, Any] | None = None) -> TierProps:
    """The tier's props for an environment: dataclass defaults < environment defaults < overrides."""
    cls = props_class(tier)
    return cls(**{**environment_defaults(environment, tier), **(overrides or {})})
