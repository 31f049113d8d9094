"""What `terraform validate` would say about a synthesized stack, without a terraform binary.

The hashicorp/aws provider schema the bindings were generated from is in the installed
`cdktf-cdktf-provider-aws` package, as its jsii assembly (`_jsii/provider-aws@<version>.jsii.tgz`:
every resource's and data source's config properties, types, optionality and nested blocks).
Parsing it takes ~7 s and ~0.6 GiB, so `python -m tests.infra.provider_schema` extracts the types
the app can use (modules/aws.py `_CLASSES`) plus the names of every type into
tests/infra/aws_provider_schema.json; the tests check the extract is from the installed version.

`check_stack()` reports, per synthesized stack: unknown resource/data source types, unknown
arguments and nested blocks, missing required arguments, literal values of the wrong type,
references to undeclared variables/locals/resources, and ForceNew arguments computed from an
attribute another resource changes in place (the next apply would replace the resource).
"""

from __future__ import annotations

import json
import re
import sys
import tarfile
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
EXTRACT = HERE / "aws_provider_schema.json"
PACKAGE = "cdktf-cdktf-provider-aws"
COMMAND = ".venv/bin/python -m tests.infra.provider_schema"

# Arguments whose change replaces the resource (ForceNew / RequiresReplace in the provider
# source, hashicorp/aws 6.x), for the resource types the stacks create.
FORCE_NEW: dict[str, frozenset[str]] = {
    k: frozenset(v.split())
    for k, v in {
        "aws_db_instance": "identifier availability_zone db_name username kms_key_id storage_encrypted "
        "character_set_name engine",
        "aws_subnet": "vpc_id cidr_block availability_zone availability_zone_id",
        "aws_nat_gateway": "allocation_id subnet_id connectivity_type",
        "aws_security_group": "name description vpc_id",
        "aws_vpc_security_group_ingress_rule": "security_group_id",
        "aws_vpc_security_group_egress_rule": "security_group_id",
        "aws_launch_template": "name",
        "aws_lb": "name internal load_balancer_type",
        "aws_lb_target_group": "name port protocol vpc_id target_type",
        "aws_lb_listener": "load_balancer_arn",
        "aws_elasticache_replication_group": "replication_group_id at_rest_encryption_enabled kms_key_id port "
        "subnet_group_name",
        "aws_cloudwatch_log_group": "name",
        "aws_cloudwatch_metric_alarm": "alarm_name",
        "aws_iam_role": "name path",
        "aws_iam_role_policy": "name role",
        "aws_iam_role_policy_attachment": "role policy_arn",
        "aws_iam_instance_profile": "name",
        "aws_secretsmanager_secret": "name",
        "aws_secretsmanager_secret_version": "secret_id",
        "aws_lambda_function": "function_name",
        "aws_lambda_alias": "name function_name",
        "aws_lambda_provisioned_concurrency_config": "function_name qualifier",
        "aws_kms_alias": "name",
        "aws_vpc_endpoint": "vpc_id service_name vpc_endpoint_type",
        "aws_flow_log": "vpc_id log_destination log_destination_type iam_role_arn traffic_type "
        "max_aggregation_interval",
        "aws_route": "route_table_id destination_cidr_block",
        "aws_route_table": "vpc_id",
        "aws_route_table_association": "subnet_id",
        "aws_db_subnet_group": "name",
        "aws_db_parameter_group": "name family",
        "aws_elasticache_subnet_group": "name",
        "aws_autoscaling_group": "name",
        "aws_default_security_group": "vpc_id",
    }.items()
}

# Attributes a resource changes while it lives (no replacement): a failover moves an RDS
# instance's AZ, a new launch template version or a published Lambda version moves its number.
CHANGING: dict[str, frozenset[str]] = {
    k: frozenset(v.split())
    for k, v in {
        "aws_db_instance": "availability_zone instance_class engine_version_actual ca_cert_identifier status "
        "latest_restorable_time",
        "aws_elasticache_replication_group": "member_clusters num_cache_clusters engine_version_actual",
        "aws_launch_template": "latest_version default_version",
        "aws_lambda_function": "version qualified_arn qualified_invoke_arn last_modified code_sha256",
        "aws_lambda_alias": "function_version",
        "aws_autoscaling_group": "desired_capacity",
        "aws_secretsmanager_secret_version": "version_id version_stages",
    }.items()
}

META = {"count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection", "//", "dynamic"}


# --------------------------------------------------------------------------- extraction
def _installed_tgz() -> Path:
    jsii_dir = Path(str(metadata.distribution(PACKAGE).locate_file("cdktf_cdktf_provider_aws/_jsii")))
    (tgz,) = jsii_dir.glob("*.jsii.tgz")
    return tgz


def _snake(camel: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", camel).lower()


def _tf_name(prop: dict) -> str:
    docs = " ".join(str(v) for v in prop.get("docs", {}).values())
    m = re.search(r"#(\w+) \w+#\w+\}", docs)
    if m:
        return m.group(1)
    m = re.match(r"(\w+) block\.", prop.get("docs", {}).get("summary", ""))
    return m.group(1) if m else _snake(prop["name"])


def _type(t: dict, types: dict) -> Any:
    """A jsii type as a string ("string", "list(string)", ...) or a nested block {"list", "schema"}."""
    if "union" in t:
        kinds = [x for x in t["union"]["types"] if x.get("fqn") != "cdktf.IResolvable"]
        return _type(kinds[0], types) if len(kinds) == 1 else "any"
    if "primitive" in t:
        return {"boolean": "bool", "json": "any"}.get(t["primitive"], t["primitive"])
    if "collection" in t:
        inner = _type(t["collection"]["elementtype"], types)
        if isinstance(inner, dict):
            return {**inner, "list": True}
        return f"{'list' if t['collection']['kind'] == 'array' else 'map'}({inner})"
    target = types.get(t["fqn"], {})
    if target.get("datatype"):
        return {"list": False, "schema": _schema(t["fqn"], types)}
    return "any"


def _schema(fqn: str, types: dict) -> dict:
    args: dict[str, str] = {}
    blocks: dict[str, dict] = {}
    required: list[str] = []
    for prop in types[fqn].get("properties", []):
        name, kind = _tf_name(prop), _type(prop["type"], types)
        (blocks if isinstance(kind, dict) else args)[name] = kind
        if not prop.get("optional"):
            required.append(name)
    return {"args": args, "blocks": blocks, "required": sorted(required)}


def extract(class_submodules: dict[str, str]) -> dict:
    """The schema of the given binding classes (class name -> submodule) and every type's name."""
    tgz = _installed_tgz()
    with tarfile.open(tgz) as tar:
        member = tar.extractfile("package/.jsii")
        assert member is not None
        assembly = json.load(member)
    types = assembly["types"]
    link = re.compile(r"hashicorp/aws/([\d.]+)/docs(?:/(resources|data-sources)/\w+)? (\w+)\}")
    provider_version = ""
    names: dict[str, list[str]] = {"resource": [], "data": []}
    out: dict[str, dict] = {"resource": {}, "data": {}, "provider": {}}
    wanted = {f"@cdktf/provider-aws.{_camel(sub)}.{cls}" for cls, sub in class_submodules.items()}
    for fqn, t in types.items():
        if t.get("kind") != "class" or "initializer" not in t:
            continue
        m = link.search(t.get("docs", {}).get("summary", ""))
        if not m:
            continue
        provider_version, kind = (
            m.group(1),
            {"resources": "resource", "data-sources": "data", None: "provider"}[m.group(2)],
        )
        if kind != "provider":
            names[kind].append(m.group(3))
        if fqn in wanted:
            config = next(p for p in t["initializer"]["parameters"] if p["name"] == "config")["type"]["fqn"]
            out[kind][m.group(3)] = _schema(config, types)
    return {
        "package": assembly["version"],
        "hashicorp_aws": provider_version,
        "names": {k: sorted(v) for k, v in names.items()},
        **out,
    }


def _camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


@lru_cache(maxsize=1)
def load() -> dict:
    return json.loads(EXTRACT.read_text())


def installed_version() -> str:
    return metadata.version(PACKAGE)


# --------------------------------------------------------------------------- checking
def _is_expr(value: Any) -> bool:
    return isinstance(value, str) and "${" in value


def _type_error(value: Any, kind: str) -> str | None:
    if value is None or _is_expr(value) or kind == "any":
        return None
    if kind == "string":
        return None if isinstance(value, (str, int, float, bool)) else f"expected string, got {json.dumps(value)[:60]}"
    if kind == "number":
        if isinstance(value, bool):
            return "expected number, got bool"
        if isinstance(value, (int, float)):
            return None
        if isinstance(value, str):
            try:
                float(value)
                return None
            except ValueError:
                pass
        return f"expected number, got {json.dumps(value)[:60]}"
    if kind == "bool":
        ok = isinstance(value, bool) or (isinstance(value, str) and value in ("true", "false"))
        return None if ok else f"expected bool, got {json.dumps(value)[:60]}"
    m = re.fullmatch(r"(list|map)\((.*)\)", kind)
    if m:
        if m.group(1) == "list":
            if not isinstance(value, list):
                return f"expected {kind}, got {json.dumps(value)[:60]}"
            items = value
        else:
            if not isinstance(value, dict):
                return f"expected {kind}, got {json.dumps(value)[:60]}"
            items = list(value.values())
        for item in items:
            err = _type_error(item, m.group(2))
            if err:
                return f"element: {err}"
    return None


def _check_body(body: dict, schema: dict, where: str, out: list[str]) -> None:
    dynamic = body.get("dynamic", {}) if isinstance(body.get("dynamic"), dict) else {}
    for key, value in body.items():
        if key in META:
            continue
        if key in schema["args"]:
            err = _type_error(value, schema["args"][key])
            if err:
                out.append(f"{where}.{key}: {err}")
        elif key in schema["blocks"]:
            block = schema["blocks"][key]
            items = value if isinstance(value, list) else [value]
            if not block["list"] and len(items) > 1:
                out.append(f"{where}.{key}: at most one block")
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    out.append(f"{where}.{key}: a block must be an object, got {json.dumps(item)[:60]}")
                    continue
                _check_body(item, block["schema"], f"{where}.{key}[{i}]", out)
        else:
            out.append(f"{where}: unsupported argument or block {key!r}")
    for key, spec in dynamic.items():
        if key not in schema["blocks"]:
            out.append(f"{where}: dynamic block {key!r} is not a block of this type")
        elif isinstance(spec, dict) and isinstance(spec.get("content"), dict):
            _check_body(spec["content"], schema["blocks"][key]["schema"], f"{where}.dynamic.{key}", out)
    for name in schema["required"]:
        if name not in body and name not in dynamic:
            out.append(f"{where}: missing required argument {name!r}")


REFERENCE = re.compile(r"(?<![\w.])(data\.)?(aws_\w+)\.(\w+)(?:\[[^\]]*\])?\.(\w+)")


def _strings(value: Any):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _force_new_from_changing(rtype: str, name: str, body: dict, out: list[str]) -> None:
    for arg in FORCE_NEW.get(rtype, ()):
        for text in _strings(body.get(arg)):
            for m in REFERENCE.finditer(text):
                data, ref_type, _, attr = m.groups()
                if not data and attr in CHANGING.get(ref_type, ()):
                    out.append(
                        f"{rtype}.{name}.{arg}: forces replacement and is computed from {ref_type}.{m.group(3)}.{attr}, "
                        "which changes in place: the resource would be replaced when it does"
                    )


def _references(stack: dict, out: list[str]) -> None:
    """Every var./local./resource/data reference resolves to something the stack declares."""
    declared_vars = set(stack.get("variable", {}))
    declared_locals = set(stack.get("locals", {}))
    resources = {(t, n) for t, body in stack.get("resource", {}).items() for n in body}
    data = {(t, n) for t, body in stack.get("data", {}).items() for n in body}
    ephemeral = {(t, n) for t, body in stack.get("ephemeral", {}).items() for n in body}
    for section in ("resource", "data", "output", "locals", "ephemeral"):
        for text in _strings(stack.get(section, {})):
            expr = text[text.find("${") :] if "${" in text else ""
            for v in re.findall(r"(?<![\w.])var\.(\w+)", expr):
                if v not in declared_vars:
                    out.append(f"{section}: reference to undeclared variable var.{v}")
            for v in re.findall(r"(?<![\w.])local\.(\w+)", expr):
                if v not in declared_locals:
                    out.append(f"{section}: reference to undeclared local.{v}")
            for eph, d, t, n in re.findall(r"(?<![\w.])(ephemeral\.)?(data\.)?(aws_\w+)\.(\w+)", expr):
                known = ephemeral if eph else data if d else resources
                if (t, n) not in known:
                    out.append(f"{section}: reference to undeclared {eph}{d}{t}.{n}")


def check_stack(stack: dict, schema: dict | None = None) -> list[str]:
    """Problems `terraform validate` (and the next plans) would report, one line each."""
    schema = schema or load()
    out: list[str] = []
    for kind in ("resource", "data"):
        for rtype, instances in stack.get(kind, {}).items():
            prefix = "data." if kind == "data" else ""
            if rtype not in schema[kind]:
                known = rtype in schema["names"][kind]
                out.append(
                    f"{prefix}{rtype}: "
                    + (
                        f"not in the schema extract: add it to modules/aws.py and run {COMMAND}"
                        if known
                        else "unknown type"
                    )
                )
                continue
            for name, body in instances.items():
                _check_body(body, schema[kind][rtype], f"{prefix}{rtype}.{name}", out)
                if kind == "resource":
                    _force_new_from_changing(rtype, name, body, out)
    for i, body in enumerate(stack.get("provider", {}).get("aws", [])):
        _check_body(body, schema["provider"]["aws"], f"provider.aws[{i}]", out)
    _references(stack, out)
    return out


def main() -> int:
    from modules.aws import _CLASSES

    schema = extract(_CLASSES)
    EXTRACT.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    counts = {k: len(schema[k]) for k in ("resource", "data", "provider")}
    print(f"wrote {EXTRACT.relative_to(Path.cwd()) if EXTRACT.is_relative_to(Path.cwd()) else EXTRACT}: {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
