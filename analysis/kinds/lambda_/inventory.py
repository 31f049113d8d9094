"""Discover Lambda functions with reserved concurrency and the provisioned concurrency of their alias."""

from analysis.inventory import tag_dict
from analysis.model import Resource
from analysis.sources.aws import RegionClients, error_code

PREFERRED_ALIAS = "live"
NO_PC_CONFIG = "ProvisionedConcurrencyConfigNotFoundException"


def pick_alias(names: list[str]) -> str | None:
    """The alias traffic goes through: `live` when present, else the first by name."""
    if PREFERRED_ALIAS in names:
        return PREFERRED_ALIAS
    return min(names) if names else None


def provisioned_concurrency(lam, function: str, alias: str | None) -> tuple[int, str | None]:
    """(requested provisioned concurrency, note). Unknown (e.g. moto's 404) counts as 0 with a note."""
    if alias is None:
        return 0, None
    try:
        config = lam.get_provisioned_concurrency_config(FunctionName=function, Qualifier=alias)
        return int(config.get("RequestedProvisionedConcurrentExecutions", 0)), None
    except Exception as e:
        if error_code(e) == NO_PC_CONFIG:
            return 0, None
        status = getattr(e, "response", {}).get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status in (404, 501):
            return 0, f"provisioned concurrency of {function}:{alias} unknown ({error_code(e)}): counted as 0"
        raise


def discover(clients: RegionClients) -> list[Resource]:
    lam = clients.client("lambda")
    out = []
    for page in lam.get_paginator("list_functions").paginate():
        for fn in page["Functions"]:
            name, arn = fn["FunctionName"], fn["FunctionArn"]
            tags = lam.list_tags(Resource=arn).get("Tags", {})
            reserved = lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
            aliases = [
                a["Name"] for p in lam.get_paginator("list_aliases").paginate(FunctionName=name) for a in p["Aliases"]
            ]
            alias = pick_alias(aliases)
            pc, note = provisioned_concurrency(lam, name, alias)
            config = {
                "memory_size": fn.get("MemorySize"),
                "timeout": fn.get("Timeout"),
                "architecture": (fn.get("Architectures") or ["x86_64"])[0],
                "reserved_concurrency": reserved,
                "provisioned_concurrency": pc,
                "alias": alias,
            }
            if note:
                config["notes"] = (note,)
            out.append(Resource("lambda", clients.region, name, arn, tag_dict(tags), config))
    return out
