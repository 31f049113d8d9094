"""Pricing: known prices from the snapshot, missing prices shown as missing, and the build script."""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.kinds.asg.pricing import price as asg_price
from analysis.kinds.elasticache.pricing import price as cache_price
from analysis.kinds.lambda_.pricing import Usage
from analysis.kinds.lambda_.pricing import price as lambda_price
from analysis.kinds.nat.pricing import Usage as NatUsage
from analysis.kinds.nat.pricing import price as nat_price
from analysis.kinds.rds.pricing import price as rds_price
from analysis.pricing import build
from analysis.pricing.catalog import HOURS_PER_MONTH, SECONDS_PER_MONTH, PriceCatalog

SNAPSHOT = build.DEFAULT_SOURCE


@pytest.fixture(scope="module")
def prices():
    return PriceCatalog.load()


@pytest.fixture
def cfg(sizing_resource):
    return lambda name, **kw: dict(sizing_resource(name, **kw).config)


def test_rds_multi_az_on_demand_and_reserved(prices, cfg):
    cost = rds_price(cfg("rds"), "us-east-1", prices)
    # db.r6g.2xlarge Multi-AZ 1.798 $/h + 1000 GB gp3 Multi-AZ at 0.23 $/GB-month; 12,000 IOPS are included.
    assert cost.on_demand == pytest.approx(1.798 * HOURS_PER_MONTH + 1000 * 0.23)
    assert cost.reserved_1yr == pytest.approx(1.0388 * HOURS_PER_MONTH + 230)  # 1-yr No Upfront
    # RDS sells no 3-yr No Upfront in the data: the 3-yr Partial Upfront effective rate is used, not guessed.
    three = prices.term_price("rds_postgresql", "us-east-1", "db.r6g.2xlarge", "multi_az", "reserved_3yr")
    assert three.option == "ri_3yr_standard_partial_upfront"
    assert cost.reserved_3yr == pytest.approx(three.value * HOURS_PER_MONTH + 230)
    assert cost.missing == ()


def test_rds_iops_above_the_floor_are_charged_and_throughput_gap_is_missing(prices, cfg):
    base = rds_price(cfg("rds"), "us-east-1", prices)
    more = rds_price(cfg("rds", iops=20000), "us-east-1", prices)
    assert more.on_demand - base.on_demand == pytest.approx(8000 * 0.04)
    fast = rds_price(cfg("rds", storage_throughput=1000), "us-east-1", prices)
    assert fast.on_demand is None and fast.reserved_1yr is None
    assert fast.missing == ("rds_storage us-east-1 gp3 multi_az throughput_mibps_month_above_baseline",)
    # At the 500 MiB/s baseline nothing is charged, so the missing price does not matter.
    assert rds_price(cfg("rds", storage_throughput=500), "us-east-1", prices).missing == ()


def test_missing_regional_storage_price_is_missing_not_guessed(prices, cfg):
    cost = rds_price(cfg("rds"), "us-west-2", prices)
    assert cost.on_demand is None
    assert "rds_storage us-west-2 gp3 multi_az storage_gb_month" in cost.missing


def test_elasticache_prices_every_node(prices, cfg):
    cost = cache_price(cfg("elasticache"), "us-east-1", prices)
    assert cost.on_demand == pytest.approx(18 * 0.821 * HOURS_PER_MONTH)
    assert cost.reserved_3yr == pytest.approx(18 * 0.426 * HOURS_PER_MONTH)


def test_valkey_falls_back_to_the_next_purchase_option_only_when_priced(prices):
    p = prices.term_price("elasticache", "us-east-1", "cache.t4g.small", "valkey", "reserved_1yr")
    assert p.option == "ri_1yr_standard_no_upfront" and p.value == pytest.approx(0.0176)
    gap = prices.price("elasticache", "us-east-1", "cache.t4g.small", "valkey", "ri_1yr_standard_all_upfront")
    assert gap.value is None and "not present" in gap.gap


def test_asg_prices_desired_capacity(prices, cfg):
    cost = asg_price(cfg("asg"), "us-east-1", prices)
    assert cost.on_demand == pytest.approx(2 * 0.68 * HOURS_PER_MONTH)
    assert cost.reserved_1yr == pytest.approx(2 * 0.428 * HOURS_PER_MONTH)


def test_unknown_type_is_missing(prices, cfg):
    cost = asg_price(cfg("asg", instance_type="x9.huge"), "us-east-1", prices)
    assert cost.on_demand is None and cost.missing


def test_lambda_provisioned_concurrency_and_usage(prices, cfg):
    period = 300
    usage = Usage(requests=1_000_000, exec_seconds=np.full(100, 30.0), period=period, month_factor=10.0)
    cost = lambda_price(cfg("lambda"), "us-east-1", prices, usage)
    gb = 3008 / 1024
    pc = 50 * gb * SECONDS_PER_MONTH * 4.1667e-06
    # Mean concurrency 0.1 is always inside the 50 provisioned: all duration at the PC rate.
    expected = pc + 1_000_000 * 2e-07 + 100 * 30 * 10 * gb * 9.7222e-06
    assert cost.on_demand == pytest.approx(expected)
    assert cost.reserved_1yr == cost.on_demand == cost.reserved_3yr  # Lambda has no reservations
    no_pc = lambda_price(cfg("lambda", provisioned_concurrency=0), "us-east-1", prices, usage)
    assert no_pc.on_demand == pytest.approx(1_000_000 * 2e-07 + 100 * 30 * 10 * gb * 1.66667e-05)
    # ~ $1,600 a month per function before any invocation (aws-facts: ~$8,000 for five).
    assert 1500 < pc < 1700


def test_lambda_without_usage_metrics_is_missing(prices, cfg):
    cost = lambda_price(cfg("lambda"), "us-east-1", prices, None)
    assert cost.on_demand is None and any("usage" in m for m in cost.missing)


def test_nat_hours_gb_and_unpriced_inter_az(prices, cfg):
    per_az = nat_price(cfg("nat"), "us-east-1", prices, NatUsage(100.0))
    assert per_az.on_demand == pytest.approx(2 * 0.045 * HOURS_PER_MONTH + 100 * 0.045)
    single = nat_price(cfg("nat", nat_gateway_count=1), "us-east-1", prices, NatUsage(100.0))
    assert single.on_demand is None
    assert single.missing == ("data_transfer us-east-1 inter_az standard gb",)
    idle = nat_price(cfg("nat", nat_gateway_count=1), "us-east-1", prices, NatUsage(0.0))
    assert idle.on_demand == pytest.approx(0.045 * HOURS_PER_MONTH)


def test_catalog_keeps_dates_and_sources(prices):
    doc = prices.doc
    assert doc["as_of"] and doc["sources"]
    leaf = doc["prices"]["ec2"]["us-east-1"]["c5.4xlarge"]["linux_shared"]["on_demand"]
    assert leaf["data_date"] == "2026-07-20" and leaf["source"] in {s["id"] for s in doc["sources"]}


@pytest.mark.skipif(not SNAPSHOT.exists(), reason="shared price snapshot not on this machine")
def test_committed_prices_are_what_the_build_script_makes():
    import hashlib

    raw = SNAPSHOT.read_bytes()
    built = build.render(build.build(json.loads(raw), build.SOURCE_LABEL, hashlib.sha256(raw).hexdigest()))
    assert built == (Path(build.DEFAULT_OUT)).read_text()


def test_build_keeps_gaps():
    snap = {
        "as_of": "2026-01-01",
        "currency": "USD",
        "regions": ["us-east-1"],
        "sources": [{"id": "s1"}, {"id": "unused"}],
        "prices": {
            s: {
                "us-east-1": {
                    "t": {
                        "d": {
                            "on_demand": {"value": 1.0, "source": "s1", "data_date": "x", "crosscheck": {}},
                            "ri_1yr_standard_no_upfront": {"value": None, "gap": "why"},
                        }
                    }
                }
            }
            for s in build.SERVICES
        },
    }
    doc = build.build(snap, "snap.json", "0")
    cells = doc["prices"]["ec2"]["us-east-1"]["t"]["d"]
    assert cells["on_demand"] == {"value": 1.0, "source": "s1", "data_date": "x"}
    assert cells["ri_1yr_standard_no_upfront"] == {"value": None, "gap": "why"}
    assert [s["id"] for s in doc["sources"]] == ["s1"]
    assert doc["prices"]["data_transfer"]["us-east-1"]["inter_az"]["standard"]["gb"]["value"] is None
    with pytest.raises(ValueError, match="lacks services"):
        build.build({**snap, "prices": {}}, "snap.json", "0")
