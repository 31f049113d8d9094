"""`--pricing live`: Price List API refresh, tested with botocore's Stubber (moto has no pricing backend)."""

import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from analysis.pricing import live
from analysis.pricing.catalog import PriceCatalog


def product(instance_type, on_demand, reserved):
    terms = {
        "OnDemand": {
            "A.JRTCKXETXF": {
                "priceDimensions": {"A.JRTCKXETXF.6YS6EN2CT7": {"unit": "Hrs", "pricePerUnit": {"USD": str(on_demand)}}}
            }
        },
        "Reserved": {},
    }
    for i, (lease, option, cls, hourly, upfront) in enumerate(reserved):
        dims = {f"R{i}.h": {"unit": "Hrs", "pricePerUnit": {"USD": str(hourly)}}}
        if upfront:
            dims[f"R{i}.u"] = {"unit": "Quantity", "pricePerUnit": {"USD": str(upfront)}}
        terms["Reserved"][f"R{i}"] = {
            "termAttributes": {"LeaseContractLength": lease, "PurchaseOption": option, "OfferingClass": cls},
            "priceDimensions": dims,
        }
    return json.dumps(
        {
            "product": {"attributes": {"instanceType": instance_type}},
            "terms": terms,
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def tiny_catalog():
    cell = {
        "on_demand": {"value": 0.68, "data_date": "2026-07-20", "source": "snap"},
        "ri_3yr_standard_all_upfront": {"value": None, "gap": "no source"},
    }
    return PriceCatalog(
        {
            "as_of": "2026-11-25",
            "sources": [{"id": "snap"}],
            "prices": {
                "ec2": {"us-east-1": {"c5.4xlarge": {"linux_shared": cell}}},
                "rds_postgresql": {"us-east-1": {"db.r6g.large": {"multi_az": {}}}},
                "elasticache": {},
            },
        }
    )


@pytest.fixture
def client():
    c = boto3.client("pricing", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(c) as stub:
        yield c, stub


def test_refresh_filters_on_product_attributes_and_reserved_terms_after(client):
    c, stub = client
    ec2_params = {
        "ServiceCode": "AmazonEC2",
        "FormatVersion": "aws_v1",
        "MaxResults": 100,
        "Filters": live.QUERIES["ec2"][1]("c5.4xlarge", "us-east-1", "linux_shared"),
    }
    stub.add_response(
        "get_products",
        {
            "PriceList": [
                product(
                    "c5.4xlarge",
                    0.7,
                    [
                        ("3yr", "All Upfront", "standard", 0, 8760.0),
                        ("1yr", "No Upfront", "convertible", 0.5, 0),  # convertible: filtered out after the call
                    ],
                )
            ],
            "NextToken": "page2",
        },
        ec2_params,
    )
    stub.add_response(
        "get_products",
        {"PriceList": [product("c5.4xlarge", 0.7, [("1yr", "No Upfront", "standard", 0.43, 0)])]},
        {**ec2_params, "NextToken": "page2"},
    )
    stub.add_response(
        "get_products",
        {"PriceList": []},
        {"ServiceCode": "AmazonRDS", "FormatVersion": "aws_v1", "MaxResults": 100, "Filters": ANY},
    )
    fresh, notes = live.refresh(tiny_catalog(), c)
    stub.assert_no_pending_responses()
    cells = fresh.prices["ec2"]["us-east-1"]["c5.4xlarge"]["linux_shared"]
    assert cells["on_demand"]["value"] == 0.7 and cells["on_demand"]["data_date"] == "2026-11-01"
    assert cells["ri_3yr_standard_all_upfront"]["value"] == pytest.approx(8760.0 / 26280)
    assert cells["ri_1yr_standard_no_upfront"]["value"] == pytest.approx(0.43)
    assert "ri_1yr_standard_convertible" not in json.dumps(cells)
    assert any("not returned, snapshot kept" in n for n in notes)
    assert fresh.prices["rds_postgresql"]["us-east-1"]["db.r6g.large"]["multi_az"] == {}
    assert "aws-price-list-api" in {s["id"] for s in fresh.doc["sources"]}


def test_filters_are_product_attributes_only():
    _, make = live.QUERIES["rds_postgresql"]
    fields = {f["Field"] for f in make("db.r6g.large", "us-east-1", "multi_az")}
    assert fields == {"instanceType", "regionCode", "databaseEngine", "deploymentOption"}
    assert not fields & {"LeaseContractLength", "PurchaseOption", "OfferingClass"}


def test_access_denied_is_one_clear_error(client):
    c, stub = client
    stub.add_client_error("get_products", "AccessDeniedException", "not authorized to perform pricing:GetProducts")
    with pytest.raises(live.PricingUnavailable, match="AccessDeniedException"):
        live.refresh(tiny_catalog(), c)


def test_snapshot_mode_needs_no_client():
    catalog, notes = live.load("snapshot")
    assert catalog.as_of in notes[0]
    with pytest.raises(ValueError):
        live.load("guess")
