"""What a reviewer relies on: graded risks and --max-risk, dollars per change with the missing
prices named, the report.md of a pull request (headline, one table, under GitHub's limit)."""

from __future__ import annotations

import pytest
from report_inputs import META, NO_SCHEDULE

from analysis import risk
from analysis.enums import Risk, Status
from analysis.model import Change, Cost, Recommendation, Resource
from analysis.pricing.catalog import Bill, Price
from analysis.report import GITHUB_COMMENT_LIMIT, fit_comment, headline, next_steps, render, row
from analysis.report.records import records


def nat_cost(gateways: int, inter_az_gb: float) -> Cost:
    bill = Bill().reservable(
        f"{gateways} NAT gateways",
        {t: Price("nat hour", 0.045) for t in ("on_demand", "reserved_1yr", "reserved_3yr")},
        gateways,
    )
    bill.usage("GB processed", Price("nat gb", 0.045), 100.0)
    return bill.usage(
        "inter-AZ transfer", Price("data_transfer us-east-1 inter_az standard gb", None), inter_az_gb
    ).cost()


def recommendation(
    kind="nat",
    rid="vpc-1",
    field="nat_gateway_count",
    now: object = 3,
    new: object = 1,
    peak=10.0,
    capacity=100.0,
    cost_now=None,
    cost_new=None,
    confidence=0.8,
    status=Status.EMITTED,
) -> Recommendation:
    res = Resource(kind, "us-east-1", rid, None, {}, {field: now}, "network-us-east-1", {field: f"network_{field}"})
    evidence = {
        "confidence": {"coverage": 1.0, "samples": 0.97, "variability": 0.66, "margin": 0.9, "value": confidence},
        "dimensions": {
            "bytes": {"unit": "GB", "p100": peak, "capacity_proposed": capacity, "capacity_now": capacity * 3}
        },
    }
    return Recommendation(
        res,
        (Change(field, now, new, f"network_{field}"),),
        confidence,
        status,
        "why",
        Risk.LOW,
        evidence,
        cost_now or Cost(100.0, 100.0, 100.0),
        cost_new or Cost(40.0, 40.0, 40.0),
        "replacement",
    )


@pytest.mark.parametrize(("peak", "score"), [(10.0, 0), (55.0, 1), (80.0, 2), (90.0, 3), (100.0, 4), (130.0, 4)])
def test_performance_risk_grades_the_peak_against_the_new_capacity_0_to_4(peak, score):
    got = risk.grade(recommendation(field="memory", now=4, new=8, peak=peak))
    assert got.performance == score and got.binding == "bytes"
    assert got.availability is Risk.LOW


@pytest.mark.parametrize(
    ("field", "now", "new", "level"),
    [
        ("nat_gateway_count", 3, 1, Risk.HIGH),  # one gateway: AZ redundancy gone
        ("nat_gateway_count", 3, 2, Risk.MEDIUM),
        ("count", 1, 0, Risk.HIGH),  # the only read replica
        ("replicas_per_shard", 2, 1, Risk.MEDIUM),
        ("num_shards", 6, 1, Risk.MEDIUM),
        ("multi_az", True, False, Risk.HIGH),
        ("az_count", 3, 2, Risk.HIGH),
        ("min_size", 3, 2, Risk.LOW),  # still spread over AZs
        ("min_size", 3, 1, Risk.HIGH),
        ("nat_gateway_count", 1, 3, Risk.LOW),  # more redundancy
    ],
)
def test_availability_risk_is_never_low_when_redundancy_drops(field, now, new, level):
    g = risk.grade(recommendation(field=field, now=now, new=new))
    assert g.availability is level
    assert g.overall is level  # the peak is far from the capacity: availability decides
    assert bool(g.availability_why) == (level is not Risk.LOW)


def test_max_risk_keeps_a_risky_change_in_the_report_but_out_of_tfvars():
    nat = recommendation()
    kept = risk.apply(nat, Risk.HIGH)
    assert kept.status == Status.EMITTED and kept.risk is Risk.HIGH
    assert kept.evidence["risk"]["availability_why"] == [
        "NAT gateways consolidated: AZs lose their own egress path (3 -> 1)"
    ]
    gated = risk.apply(nat, Risk.MEDIUM)
    assert gated.status == Status.BELOW_THRESHOLD
    assert gated.reason.startswith("risk high above --max-risk medium")
    assert risk.apply(recommendation(status=Status.EXCLUDED), Risk.LOW).status == Status.EXCLUDED


def test_known_parts_are_priced_and_the_missing_price_is_named():
    now, new = nat_cost(3, 0.0), nat_cost(1, 50.0)
    assert now.on_demand is not None and new.on_demand is None  # the total itself is never guessed
    assert new.known_on_demand == pytest.approx(0.045 * 730 + 4.5)
    (rec,) = records([risk.apply(recommendation(cost_now=now, cost_new=new))], "staging")
    assert rec["monthly_savings"]["on_demand"] is None
    assert rec["monthly_savings_priced_on_demand"] == pytest.approx(round(2 * 0.045 * 730, 2))
    r = row(rec)
    assert r["partial"] == "inter-AZ transfer price missing: the nat figure covers 1 NAT gateways, GB processed only"
    assert r["saving_text"] == "-$66"


def test_headline_is_the_on_demand_change_of_the_bill():
    recs = records(
        [
            risk.apply(recommendation(rid="a")),
            risk.apply(recommendation(rid="b", status=Status.BELOW_THRESHOLD)),
        ],
        "staging",
    )
    h = headline(recs)
    assert h["text"] == "-$60/month (-30%) on-demand"  # 60 saved of a 200 bill; below-threshold ships nothing
    assert h["changes"] == 1


def test_confidence_band_and_weakest_factor_are_shown():
    (low,) = records([risk.apply(recommendation(confidence=0.11))], "staging")
    (high,) = records([risk.apply(recommendation(confidence=0.85))], "staging")
    assert row(low)["band"] == "low" and row(high)["band"] == "high"
    assert row(low)["weakest"] == "variability 0.66"


def test_report_md_is_a_compact_pull_request_comment():
    recs = records(
        [
            risk.apply(recommendation(rid="vpc-a")),
            risk.apply(recommendation(rid="vpc-b", status=Status.EXCLUDED)),
            risk.apply(recommendation(rid="vpc-c", status=Status.BELOW_THRESHOLD)),
        ],
        "staging",
    )
    md = render(recs, META, {}, {}, "--- a\n+++ b\n+x\n", NO_SCHEDULE)["report.md"]
    assert "**-$60/month (-20%) on-demand**" in md  # 60 of a 300 bill
    assert "| nat `vpc-a` us-east-1 | `network_nat_gateway_count` 3 -> 1 | -$60 (-60%) |" in md
    assert "**excluded (1):** `vpc-b`" in md and "**below-threshold (1):** `vpc-c`" in md
    assert "<details><summary>tfvars diff</summary>" in md and "```diff\n--- a" in md


def test_report_md_stays_under_githubs_comment_limit():
    recs = records([risk.apply(recommendation(rid=f"vpc-{i:04d}")) for i in range(50)], "staging")
    huge = "".join(f"+  line {i}\n" for i in range(20_000))
    md = render(recs, META, {}, {}, huge, NO_SCHEDULE)["report.md"]
    assert len(md) <= GITHUB_COMMENT_LIMIT
    assert md.rstrip().endswith("recommendations.csv)*")
    assert md.count("```") % 2 == 0 and md.count("<details>") == md.count("</details>")
    assert fit_comment("short") == "short"


def test_next_steps_are_commands_to_copy():
    steps = [cmd for cmd, _ in next_steps(META)]
    assert steps[0] == "make analyze ENVIRONMENT=staging ANALYZE_ARGS=--apply"
    assert steps[-1] == ".venv/bin/python -m analysis guard --environment staging --target sim --window 0 --dry-run"
    assert not any(c.startswith("make analyze") for c, _ in next_steps(META, applied=True))
