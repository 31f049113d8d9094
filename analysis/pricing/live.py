"""`--pricing live`: refresh instance/node prices from the AWS Price List API.

The `pricing` endpoint lives in us-east-1. GetProducts filters only on product attributes
(instanceType, regionCode, databaseEngine, deploymentOption, cacheEngine, ...); the Reserved
term attributes (LeaseContractLength, PurchaseOption, OfferingClass) are read from each
product's terms after the call. Only the cells the catalog already has are refreshed; a cell the
API does not return keeps its snapshot value and date. Usage prices (Lambda, NAT, gp3) stay
from the snapshot.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from analysis.pricing.catalog import PriceCatalog

SOURCE_ID = "aws-price-list-api"
TERM_HOURS = {"1yr": 8760.0, "3yr": 26280.0}
OPTION_SLUG = {"No Upfront": "no_upfront", "Partial Upfront": "partial_upfront", "All Upfront": "all_upfront"}


class PricingUnavailable(Exception):
    """The Price List API cannot be used (no credentials, access denied, unreachable)."""


def _filters(**attrs: str) -> list[dict[str, str]]:
    return [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in attrs.items()]


# service -> (ServiceCode, deployment -> product-attribute filters)
QUERIES: dict[str, tuple[str, Callable[[str, str, str], list[dict[str, str]]]]] = {
    "ec2": (
        "AmazonEC2",
        lambda t, region, dep: _filters(
            instanceType=t,
            regionCode=region,
            operatingSystem="Linux",
            tenancy="Shared",
            preInstalledSw="NA",
            capacitystatus="Used",
            licenseModel="No License required",
        ),
    ),
    "rds_postgresql": (
        "AmazonRDS",
        lambda t, region, dep: _filters(
            instanceType=t,
            regionCode=region,
            databaseEngine="PostgreSQL",
            deploymentOption={"single_az": "Single-AZ", "multi_az": "Multi-AZ"}[dep],
        ),
    ),
    "elasticache": (
        "AmazonElastiCache",
        lambda t, region, dep: _filters(
            instanceType=t, regionCode=region, cacheEngine={"redis": "Redis", "valkey": "Valkey"}[dep]
        ),
    ),
}


def _products(client: Any, service_code: str, filters: list[dict[str, str]]) -> Iterator[dict[str, Any]]:
    token = None
    while True:
        kwargs = {"ServiceCode": service_code, "Filters": filters, "FormatVersion": "aws_v1", "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        page = client.get_products(**kwargs)
        for item in page.get("PriceList", []):
            yield json.loads(item) if isinstance(item, str) else item
        token = page.get("NextToken")
        if not token:
            return


def _usd(dim: Mapping[str, Any]) -> float:
    return float(dim["pricePerUnit"]["USD"])


def leaves(product: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Price-term name -> leaf (effective USD/hour) from one GetProducts item."""
    date = str(product.get("publicationDate", ""))[:10] or None
    out: dict[str, dict[str, Any]] = {}
    for term in product.get("terms", {}).get("OnDemand", {}).values():
        for dim in term["priceDimensions"].values():
            if dim.get("unit") == "Hrs" and _usd(dim) > 0:
                out["on_demand"] = {"value": _usd(dim), "unit": "USD/hour", "source": SOURCE_ID, "data_date": date}
    for term in product.get("terms", {}).get("Reserved", {}).values():
        attrs = term.get("termAttributes", {})
        lease, option = attrs.get("LeaseContractLength"), OPTION_SLUG.get(attrs.get("PurchaseOption", ""))
        if attrs.get("OfferingClass", "standard").lower() != "standard" or lease not in TERM_HOURS or not option:
            continue  # convertible RIs and unknown options are filtered here, after the call
        hourly = sum(_usd(d) for d in term["priceDimensions"].values() if d.get("unit") == "Hrs")
        upfront = sum(_usd(d) for d in term["priceDimensions"].values() if d.get("unit") == "Quantity")
        out[f"ri_{lease}_standard_{option}"] = {
            "value": round(hourly + upfront / TERM_HOURS[lease], 6),
            "recurring_hourly": hourly,
            "upfront_usd": upfront,
            "unit": "USD/hour (effective = recurring hourly + upfront / term hours)",
            "source": SOURCE_ID,
            "data_date": date,
        }
    return out


def refresh(catalog: PriceCatalog, client: Any, regions: list[str] | None = None) -> tuple[PriceCatalog, list[str]]:
    """A new catalog with every instance/node price the API returns; notes say what changed."""
    from botocore.exceptions import BotoCoreError, ClientError

    doc: dict[str, Any] = copy.deepcopy(dict(catalog.doc))
    notes: list[str] = []
    updated = 0
    for service, (code, filters) in sorted(QUERIES.items()):
        for region, types in sorted(doc["prices"][service].items()):
            if regions and region not in regions:
                continue
            for type_, deployments in sorted(types.items()):
                for dep, cells in sorted(deployments.items()):
                    try:
                        found = [leaves(p) for p in _products(client, code, filters(type_, region, dep))]
                    except ClientError as e:
                        raise PricingUnavailable(
                            f"Price List API: {e.response['Error'].get('Code')}: "
                            f"{e.response['Error'].get('Message', '')}".strip()
                        ) from None
                    except BotoCoreError as e:
                        raise PricingUnavailable(f"Price List API: {e}") from None
                    merged = {k: v for f in found for k, v in f.items()}
                    if not merged:
                        notes.append(f"{service} {region} {type_} {dep}: not returned, snapshot kept")
                    for term, leaf in sorted(merged.items()):
                        cells[term] = leaf
                        updated += 1
    doc["sources"] = [s for s in doc["sources"] if s["id"] != SOURCE_ID] + [
        {
            "id": SOURCE_ID,
            "name": "AWS Price List API (GetProducts, us-east-1 endpoint)",
            "coverage": "EC2 / RDS PostgreSQL / ElastiCache on-demand and Standard RI, refreshed at run time",
        }
    ]
    notes.insert(0, f"live pricing: {updated} prices refreshed from the AWS Price List API")
    return PriceCatalog(doc), notes


def load(
    mode: str = "snapshot", client: Any = None, regions: list[str] | None = None
) -> tuple[PriceCatalog, list[str]]:
    """The catalog for `--pricing snapshot|live`. Live without usable credentials raises
    PricingUnavailable with a one-line reason."""
    catalog = PriceCatalog.load()
    if mode == "snapshot":
        return catalog, [f"prices: snapshot as of {catalog.as_of}"]
    if mode != "live":
        raise ValueError(f"unknown pricing mode {mode!r}; expected snapshot or live")
    if client is None:
        import boto3
        from botocore.exceptions import BotoCoreError

        try:
            client = boto3.client("pricing", region_name="us-east-1")
        except BotoCoreError as e:
            raise PricingUnavailable(f"Price List API: {e}") from None
    return refresh(catalog, client, regions)
