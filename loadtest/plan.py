"""From the stack outputs JSON and the command line to a run plan.

The plan says which targets run (and why the others are skipped), which endpoints each one
hits, how many Locust users each target gets and how the operations are mixed. It is plain
JSON so the Locust process (a subprocess, see runner.py) can read it from its environment.
Secrets never go into the plan: they travel separately (runner.py passes them in the
subprocess environment only).

Each target is one `Target` descriptor (DESCRIPTORS, at the end): the stack outputs it reads,
its default port, where its password comes from, how its endpoint is built from the outputs,
its client (targets.py) and its Locust user class (locustfile.py). The CLI, the runner, the
Locust process and the summary read the targets from there.

Nothing here imports locust, gevent or a database client: the analysis imports this module.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from stacks.naming import POSTGRES_PORT, REDIS_PORT, region_of

from .targets import DEFAULT_PG_TABLE, Client, HttpClient, LambdaClient, PostgresClient, RedisClient

DEFAULT_HTTP_PORT = 80
DEFAULT_DATABASE = "postgres"
DEFAULT_DB_USER = "postgres"


class LoadTestError(Exception):
    """The load test cannot run (unreadable outputs file, Locust failed to start, ...)."""


class UsageError(LoadTestError):
    """Bad flags or values (a user can fix them)."""


# --- small parsers ----------------------------------------------------------------------

_DURATION_RE = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(value: str | int | float) -> float:
    """`30s`, `5m`, `1h30m`, `90` (seconds) -> seconds. At least one second."""
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        text = str(value).strip().lower()
        try:
            seconds = float(text)
        except ValueError:
            m = _DURATION_RE.match(text)
            if not text or not m or not any(m.groups()):
                raise UsageError(f"bad duration {value!r}: use e.g. 30s, 5m, 1h30m or seconds") from None
            h, mi, s = (float(g) if g else 0.0 for g in m.groups())
            seconds = h * 3600 + mi * 60 + s
    if not math.isfinite(seconds) or seconds < 1:
        raise UsageError(f"bad duration {value!r}: at least 1 second")
    return seconds


def parse_mix(value: str | dict[str, float] | None) -> dict[str, float]:
    """`postgres=3,redis=5,lambda=1,http=1` -> weights per target. Unnamed targets get 0 when a
    mix is given; no mix means every target weighs 1. Weight 0 turns a target off."""
    if value is None or value == "" or value == {}:
        return {t: 1.0 for t in TARGETS}
    items: list[tuple[str, Any]]
    if isinstance(value, dict):
        items = list(value.items())
    else:
        items = []
        for part in str(value).split(","):
            part = part.strip()
            if not part:
                continue
            name, sep, weight = part.partition("=")
            if not sep:
                weight = "1"  # `--mix postgres,redis` means equal weights
            items.append((name.strip(), weight.strip()))
    mix = {t: 0.0 for t in TARGETS}
    for raw_name, weight in items:
        name = str(raw_name).lower()
        if name not in mix:
            raise UsageError(f"bad mix: unknown target {name!r} (targets: {', '.join(TARGETS)})")
        try:
            w = float(weight)
        except (TypeError, ValueError):
            raise UsageError(f"bad mix: weight of {name} is not a number: {weight!r}") from None
        if not math.isfinite(w) or w < 0:
            raise UsageError(f"bad mix: weight of {name} must be >= 0, got {weight!r}")
        mix[name] = w
    if not any(mix.values()):
        raise UsageError("bad mix: every weight is 0")
    return mix


def parse_range(value: str | tuple | list, what: str, *, integer: bool = False) -> tuple[float, float]:
    """`0.1:0.5` (or `0.1-0.5`, or one number) -> (low, high)."""
    if isinstance(value, (tuple, list)):
        parts = [str(v) for v in value]
    else:
        parts = re.split(r"[:,]|(?<=\d)-", str(value).strip())
    try:
        nums = [int(p) if integer else float(p) for p in parts if p.strip() != ""]
    except ValueError:
        raise UsageError(f"bad {what} {value!r}: use LOW:HIGH") from None
    if len(nums) == 1:
        nums = nums * 2
    if len(nums) != 2 or nums[0] < 0 or nums[1] < nums[0]:
        raise UsageError(f"bad {what} {value!r}: use LOW:HIGH with 0 <= LOW <= HIGH")
    return (nums[0], nums[1])


def apportion(users: int, weights: dict[str, float]) -> dict[str, int]:
    """Split `users` over the targets by weight, every weighted target at least one user
    (largest remainders; ties broken by target order)."""
    active = [t for t in TARGETS if weights.get(t, 0) > 0]
    if users < len(active):
        raise UsageError(
            f"{users} user(s) for {len(active)} targets ({', '.join(active)}): every target needs at "
            f"least one user; raise --users or turn targets off with --mix"
        )
    out = {t: 0 for t in TARGETS}
    if not active:
        return out
    for t in active:
        out[t] = 1
    rest = users - len(active)
    total = sum(weights[t] for t in active)
    shares = {t: rest * weights[t] / total for t in active}
    for t in active:
        out[t] += int(shares[t])
    left = users - sum(out.values())
    for t in sorted(active, key=lambda t: (-(shares[t] - int(shares[t])), TARGETS.index(t)))[:left]:
        out[t] += 1
    return out


def is_loopback(host: str) -> bool:
    h = host.strip("[]").lower()
    if h == "localhost" or h.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(h).is_loopback
    except ValueError:
        return False


def use_tls(mode: str, host: str) -> bool:
    """`--tls auto` means TLS for every host but a loopback one (real AWS endpoints need it,
    the local test servers speak plain)."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    return not is_loopback(host)


def split_host_port(value: Any, default_port: int | None) -> tuple[str, int | None]:
    """`host`, `host:5432`, `[::1]:5432` -> (host, port)."""
    text = str(value).strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
        return host, int(port) if port.isdigit() else default_port
    if text.count(":") == 1:
        host, _, port = text.partition(":")
        if port.isdigit():
            return host, int(port)
    return text, default_port


def region_of_arn(arn: str) -> str | None:
    parts = str(arn).split(":")
    return parts[3] if len(parts) > 4 and parts[0] == "arn" and parts[3] else None


def region_of_stack(stack: str) -> str | None:
    """`data-us-east-1` -> `us-east-1`; None for a name that is not `<tier>-<region>`."""
    try:
        return region_of(stack)
    except ValueError:
        return None


# --- options ------------------------------------------------------------------------------


@dataclass
class Options:
    """Everything but the outputs that shapes a run (the command line's flags)."""

    duration_s: float = 60.0
    users: int = 10
    spawn_rate: float = 5.0
    mix: dict[str, float] = field(default_factory=lambda: parse_mix(None))
    out_dir: str = "reports/loadtest"
    endpoint_url: str | None = None
    regions: tuple[str, ...] = ()
    tls: str = "auto"  # auto | on | off
    tls_insecure: bool = False
    pg_password: str | None = None
    redis_password: str | None = None
    redis_username: str | None = None
    pg_read_ratio: float = 0.8
    pg_table: str = DEFAULT_PG_TABLE
    pg_seed_rows: int = 1000
    redis_read_ratio: float = 0.9
    redis_keys: int = 10_000
    redis_ttl: tuple[int, int] = (60, 3600)
    redis_value_bytes: tuple[int, int] = (100, 2000)
    redis_mode: str = "auto"  # auto | cluster | single
    http_paths: tuple[str, ...] = ("/",)
    http_scheme: str = "auto"  # auto | http | https
    wait: tuple[float, float] = (0.1, 0.5)
    timeout_s: float = 10.0
    lambda_timeout_s: float = 60.0

    def validate(self) -> None:
        if int(self.users) != self.users or self.users < 1:
            raise UsageError(f"--users must be a positive integer, got {self.users!r}")
        if not (self.spawn_rate > 0):
            raise UsageError(f"--spawn-rate must be > 0, got {self.spawn_rate!r}")
        for name in ("pg_read_ratio", "redis_read_ratio"):
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise UsageError(f"--{name.replace('_', '-')} must be between 0 and 1, got {v!r}")
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", self.pg_table):
            raise UsageError(f"--pg-table must be a plain lower-case identifier, got {self.pg_table!r}")
        if self.redis_keys < 1 or self.pg_seed_rows < 1:
            raise UsageError("--redis-keys and --pg-seed-rows must be >= 1")
        if self.tls not in ("auto", "on", "off"):
            raise UsageError(f"--tls must be auto, on or off, got {self.tls!r}")
        if self.redis_mode not in ("auto", "cluster", "single"):
            raise UsageError(f"--redis-mode must be auto, cluster or single, got {self.redis_mode!r}")
        if self.http_scheme not in ("auto", "http", "https"):
            raise UsageError(f"--http-scheme must be auto, http or https, got {self.http_scheme!r}")
        if self.redis_ttl[0] < 1:
            raise UsageError("--redis-ttl must be at least 1 second")
        if self.redis_value_bytes[1] < 1:
            raise UsageError("--redis-value-bytes must allow at least 1 byte")
        if not (self.timeout_s > 0 and self.lambda_timeout_s > 0):
            raise UsageError("timeouts must be > 0")
        for p in self.http_paths:
            if not str(p).startswith("/"):
                raise UsageError(f"--http-path must start with '/', got {p!r}")


# --- the plan -----------------------------------------------------------------------------


@dataclass
class Plan:
    """Resolved run plan. `targets[t]` is None when `t` is skipped (reason in `skipped[t]`)."""

    options: Options
    targets: dict[str, dict[str, Any] | None]
    skipped: dict[str, str]
    users: dict[str, int]
    secrets: dict[str, str]  # secret id -> value; never serialised into the plan JSON
    notes: list[str]

    @property
    def active(self) -> list[str]:
        return [t for t in TARGETS if self.targets.get(t)]

    def to_json(self) -> str:
        o = self.options
        return json.dumps(
            {
                "targets": self.targets,
                "users": self.users,
                "options": {
                    "pg_read_ratio": o.pg_read_ratio,
                    "pg_table": o.pg_table,
                    "pg_seed_rows": o.pg_seed_rows,
                    "redis_read_ratio": o.redis_read_ratio,
                    "redis_keys": o.redis_keys,
                    "redis_ttl": list(o.redis_ttl),
                    "redis_value_bytes": list(o.redis_value_bytes),
                    "redis_mode": o.redis_mode,
                    "redis_username": o.redis_username,
                    "http_paths": list(o.http_paths),
                    "wait": list(o.wait),
                    "timeout_s": o.timeout_s,
                    "lambda_timeout_s": o.lambda_timeout_s,
                    "tls_insecure": o.tls_insecure,
                    "endpoint_url": o.endpoint_url,
                },
            },
            sort_keys=True,
        )

    def describe(self, worker: bool = False) -> list[str]:
        """One line per target: what it hits, or why it is skipped."""
        lines = []
        for t in TARGETS:
            spec = self.targets.get(t)
            if not spec:
                lines.append(f"{t}: skipped — {self.skipped.get(t, 'not planned')}")
                continue
            eps = ", ".join(e["label"] for e in spec["endpoints"])
            who = "users set by the master" if worker else f"{self.users[t]} user(s)"
            lines.append(f"{t}: {who} -> {eps}")
        return lines


def load_outputs(path: str | os.PathLike) -> dict[str, dict[str, Any]]:
    """Read `cdktf output --outputs-file` JSON: `{"<stack>": {"<output>": value}}`.

    Also accepts Terraform's `{"<output>": {"value": ...}}` wrapping per output."""
    p = Path(path)
    try:
        raw = json.loads(p.read_text())
    except FileNotFoundError:
        raise UsageError(f"outputs file not found: {p} (write it with `cdktf output --outputs-file {p}`)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise LoadTestError(f"cannot read outputs file {p}: {e}") from None
    except json.JSONDecodeError as e:
        raise LoadTestError(f"outputs file {p} is not JSON: {e}") from None
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise LoadTestError(f'outputs file {p} is not {{"<stack>": {{"<output>": value}}}}')
    out: dict[str, dict[str, Any]] = {}
    for stack, outputs in raw.items():
        out[stack] = {}
        for key, value in outputs.items():
            if isinstance(value, dict) and "value" in value and set(value) <= {"value", "type", "sensitive"}:
                value = value["value"]
            out[stack][key] = value
    return out


def _present(value: Any) -> bool:
    return value not in (None, "", [], {})


def _stack_selected(stack: str, regions: tuple[str, ...]) -> bool:
    return not regions or region_of_stack(stack) in regions


def library_missing(target: Target) -> str | None:
    for mod in target.libraries:
        try:
            if importlib.util.find_spec(mod) is None:
                return mod
        except (ImportError, ValueError):
            return mod
    return None


def _port(outputs: dict[str, Any], target: Target) -> int | None:
    value = str(outputs.get(target.port_output) or "") if target.port_output else ""
    return int(value) if value.isdigit() else target.default_port


def build_plan(
    outputs: dict[str, dict[str, Any]], options: Options, *, resolve_secrets: bool = True, lenient_users: bool = False
) -> Plan:
    """Decide targets, endpoints, users and credentials. Raises UsageError on bad options."""
    options.validate()
    targets: dict[str, dict[str, Any] | None] = {t: None for t in TARGETS}
    skipped: dict[str, str] = {}
    notes: list[str] = []
    secrets: dict[str, str] = {}
    stacks = {s: o for s, o in outputs.items() if _stack_selected(s, options.regions)}
    region_note = f" in region(s) {', '.join(options.regions)}" if options.regions else ""

    for t, target in DESCRIPTORS.items():
        if options.mix.get(t, 0) <= 0:
            skipped[t] = "turned off by --mix (weight 0)"
            continue
        missing = library_missing(target)
        if missing:
            skipped[t] = f"python package {missing!r} is not installed"
            continue
        key = target.required_output
        found = {s: o for s, o in stacks.items() if _present(o.get(key))}
        if not found:
            skipped[t] = f"no stack in the outputs has {key}{region_note}"
            continue
        endpoints = []
        for stack in sorted(found):
            o = found[stack]
            secret_user = None
            cred = target.credential
            if cred is not None and resolve_secrets:
                password, src, secret_user = resolve_password(t, o.get(cred.secret_output), options)
                if password is not None:
                    secrets[secret_id(t, stack)] = password
                notes.append(f"{t} {stack}: {cred.what} {src}")
            ep = target.build(stack, o, options, _port(o, target), secret_user, notes)
            if ep is None:
                continue
            if cred is not None:
                ep["secret_id"] = secret_id(t, stack)
            endpoints.append(ep)
        if not endpoints:
            skipped[t] = f"no usable {key} in the outputs{region_note}"
            continue
        targets[t] = {"endpoints": endpoints}

    weights = {t: (options.mix.get(t, 0) if targets[t] else 0) for t in TARGETS}
    if lenient_users:  # workers: the master decides user counts
        users = {t: (1 if targets[t] else 0) for t in TARGETS}
    else:
        users = apportion(int(options.users), weights)
    return Plan(options, targets, skipped, users, secrets, notes)


def secret_id(target: str, stack: str) -> str:
    """Key of a credential in Plan.secrets and the Locust process's $LOADTEST_SECRETS."""
    return f"{target}:{stack}"


# --- endpoint builders: (stack, its outputs, options, port, username from the secret, notes) ------------


def _postgres_endpoint(stack, o, options, port, secret_user, notes):
    writer_host, writer_port = split_host_port(o["data_writer_endpoint"], port)
    readers_raw = o.get("data_reader_endpoint")
    if isinstance(readers_raw, str):
        readers_raw = [r for r in readers_raw.split(",") if r.strip()]
    readers = [dict(zip(("host", "port"), split_host_port(r, port))) for r in (readers_raw or []) if _present(r)]
    return {
        "stack": stack,
        "region": region_of_stack(stack),
        "label": f"{stack} {writer_host}:{writer_port}" + (f" (+{len(readers)} reader)" if readers else ""),
        "writer": {"host": writer_host, "port": writer_port},
        "readers": readers or [{"host": writer_host, "port": writer_port}],
        "dbname": o.get("data_database_name") or DEFAULT_DATABASE,
        "user": o.get("data_username") or secret_user or DEFAULT_DB_USER,
        "tls": use_tls(options.tls, writer_host),
    }


def _redis_endpoint(stack, o, options, port, secret_user, notes):
    host, port = split_host_port(o["cache_configuration_endpoint"], port)
    return {
        "stack": stack,
        "region": region_of_stack(stack),
        "label": f"{stack} {host}:{port}",
        "host": host,
        "port": port,
        "tls": use_tls(options.tls, host),
    }


def _lambda_endpoint(stack, o, options, port, secret_user, notes):
    aliases = o["serverless_function_aliases"]
    if isinstance(aliases, str):
        aliases = [aliases]
    if isinstance(aliases, list):
        aliases = {str(a).split(":")[6] if str(a).count(":") >= 6 else str(a): a for a in aliases}
    if not isinstance(aliases, dict):
        notes.append(f"lambda {stack}: serverless_function_aliases is not a map; ignored")
        return None
    functions = {str(k): str(v) for k, v in sorted(aliases.items()) if _present(v)}
    if not functions:
        return None
    region = next((r for r in map(region_of_arn, functions.values()) if r), None) or region_of_stack(stack)
    return {"stack": stack, "region": region, "label": f"{stack} {len(functions)} alias(es)", "functions": functions}


def _http_endpoint(stack, o, options, port, secret_user, notes):
    raw = str(o["compute_nlb_dns_name"]).strip()
    if "://" in raw:
        base = raw.rstrip("/")
    else:
        host, port = split_host_port(raw, port)
        scheme = options.http_scheme if options.http_scheme != "auto" else ("https" if port == 443 else "http")
        host_part = f"[{host}]" if ":" in host else host
        base = f"{scheme}://{host_part}:{port}"
    return {"stack": stack, "region": region_of_stack(stack), "label": f"{stack} {base}", "base_url": base}


# --- the targets ------------------------------------------------------------------------------------


class TargetName(StrEnum):
    POSTGRES = "postgres"
    REDIS = "redis"
    LAMBDA = "lambda"
    HTTP = "http"


#: (stack, its outputs, options, port, username from the secret, notes) -> endpoint, None if unusable
Builder = Callable[[str, dict[str, Any], Options, int | None, str | None, list[str]], dict[str, Any] | None]


@dataclass(frozen=True)
class Credential:
    """Where a target's password comes from, in this order: the flag, the variable, the secret."""

    option: str  # the Options field of the flag (pg_password for --pg-password)
    env: str  # the environment variable
    secret_output: str  # the stack output holding the Secrets Manager ARN
    what: str = "password"  # its name in the start-up notes and help texts

    def __post_init__(self) -> None:
        if self.option not in Options.__dataclass_fields__:
            raise ValueError(f"credential flag {self.option!r} is not an Options field")
        if not (self.env and self.secret_output and self.what):
            raise ValueError("a credential needs an environment variable, a secret output and a name")


@dataclass(frozen=True)
class Target:
    """One target of the load test: what the plan, the Locust process and the summary know of it."""

    name: TargetName
    title: str  # what it loads, in help texts ("PostgreSQL")
    outputs: tuple[str, ...]  # stack outputs it reads, the first required (README "Stack outputs it reads")
    build: Builder  # one stack's outputs -> its endpoint (plain JSON: it travels in $LOADTEST_PLAN)
    client: type[Client]  # targets.py; client.for_user() makes each Locust user's client
    user_class: str  # its Locust user class in locustfile.py (also the name on Locust's command line)
    libraries: tuple[str, ...]  # Python packages the client imports in the Locust process
    port_output: str | None = None  # the output naming the port; None: the target has no port
    default_port: int | None = None  # when the outputs name no port
    credential: Credential | None = None  # None: no password

    def __post_init__(self) -> None:
        if not self.outputs:
            raise ValueError(f"{self.name}: a target reads at least one stack output")
        named = (self.port_output, self.credential.secret_output if self.credential else None)
        unread = [o for o in named if o is not None and o not in self.outputs]
        if unread:
            raise ValueError(f"{self.name}: {', '.join(unread)} not among the outputs it reads")
        if (self.port_output is None) != (self.default_port is None):
            raise ValueError(f"{self.name}: a port output and a default port go together")

    @property
    def required_output(self) -> str:
        return self.outputs[0]


#: Every target, in display order.
DESCRIPTORS: dict[str, Target] = {
    t.name.value: t
    for t in (
        Target(
            TargetName.POSTGRES,
            title="PostgreSQL",
            outputs=(
                "data_writer_endpoint",
                "data_reader_endpoint",
                "data_port",
                "data_database_name",
                "data_username",
                "data_secret_arn",
            ),
            build=_postgres_endpoint,
            client=PostgresClient,
            user_class="PostgresUser",
            libraries=("psycopg",),
            port_output="data_port",
            default_port=POSTGRES_PORT,
            credential=Credential("pg_password", "PGPASSWORD", "data_secret_arn"),
        ),
        Target(
            TargetName.REDIS,
            title="Redis",
            outputs=("cache_configuration_endpoint", "cache_port", "cache_auth_secret_arn"),
            build=_redis_endpoint,
            client=RedisClient,
            user_class="RedisUser",
            libraries=("redis",),
            port_output="cache_port",
            default_port=REDIS_PORT,
            credential=Credential("redis_password", "REDIS_PASSWORD", "cache_auth_secret_arn", what="auth token"),
        ),
        Target(
            TargetName.LAMBDA,
            title="Lambda",
            outputs=("serverless_function_aliases",),
            build=_lambda_endpoint,
            client=LambdaClient,
            user_class="LambdaUser",
            libraries=("boto3",),
        ),
        Target(
            TargetName.HTTP,
            title="HTTP (through the NLB)",
            outputs=("compute_nlb_dns_name", "compute_app_port"),
            build=_http_endpoint,
            client=HttpClient,
            user_class="HttpTargetUser",
            libraries=("requests",),
            port_output="compute_app_port",
            default_port=DEFAULT_HTTP_PORT,
        ),
    )
}

#: The target names, in display order.
TARGETS: tuple[str, ...] = tuple(DESCRIPTORS)


# --- credentials ----------------------------------------------------------------------------------


def resolve_password(target: str, secret_arn: str | None, options: Options) -> tuple[str | None, str, str | None]:
    """Password for `target` -> (value or None, where it came from, username if the secret has one).

    Order: the flag (--pg-password / --redis-password), the environment variable (PGPASSWORD /
    REDIS_PASSWORD), the Secrets Manager secret named by the outputs' ARN, else none."""
    cred = DESCRIPTORS[target].credential
    if cred is None:
        raise ValueError(f"target {target} takes no password")
    flag = getattr(options, cred.option)
    if flag is not None:
        return flag, "from the command line", None
    env = cred.env
    if os.environ.get(env) is not None:
        return os.environ[env], f"from ${env}", None
    if _present(secret_arn):
        try:
            value, user = read_secret(str(secret_arn), options.endpoint_url, options.timeout_s)
            return value, f"from Secrets Manager ({secret_arn})", user
        except Exception as e:  # unreachable, no credentials, access denied, ...
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            return None, f"not available: Secrets Manager {secret_arn} unreachable ({msg}) and ${env} unset", None
    return None, f"none (no secret ARN in the outputs, ${env} unset)", None


def read_secret(arn: str, endpoint_url: str | None, timeout_s: float = 10.0) -> tuple[str, str | None]:
    """SecretString of `arn` -> (password, username or None). A JSON secret (RDS-managed:
    `{"username", "password"}`; cache: `{"auth_token"}` or similar) or a plain string."""
    import boto3
    from botocore.config import Config

    cfg = Config(
        connect_timeout=min(timeout_s, 5), read_timeout=timeout_s, retries={"max_attempts": 2, "mode": "standard"}
    )
    client = boto3.client("secretsmanager", region_name=region_of_arn(arn), endpoint_url=endpoint_url, config=cfg)
    resp = client.get_secret_value(SecretId=arn)
    text = resp.get("SecretString")
    if text is None:
        text = resp["SecretBinary"].decode()
    try:
        doc = json.loads(text)
    except json.JSONDecodeError:
        return text, None
    if isinstance(doc, dict):
        for key in ("password", "auth_token", "authToken", "token", "auth"):
            if isinstance(doc.get(key), str):
                return doc[key], doc.get("username") if isinstance(doc.get("username"), str) else None
        raise LoadTestError(f"secret {arn} has no password/auth_token field")
    if isinstance(doc, str):
        return doc, None
    return text, None
