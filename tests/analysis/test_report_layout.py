"""report.html in headless Chromium at 900 px: the headline and the table of changes come first,
nothing overflows horizontally, the table sorts by saving, charts carry a title and a legend."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from report_inputs import META as BASE_META
from report_inputs import NO_SCHEDULE

from analysis import risk
from analysis.enums import Risk, Status
from analysis.model import Change, Cost, Recommendation, Resource
from analysis.report import render
from analysis.report.charts import utilisation_svg
from analysis.report.records import records

CHROMIUM = Path("/usr/bin/chromium")
META = dict(BASE_META, regions=["us-east-1", "us-west-2"], window_start="2026-09-17", window_end="2026-11-01")
WIDTH = 900


def recommendation(i: int) -> Recommendation:
    kind, region = ("lambda", "elasticache", "asg")[i % 3], ("us-east-1", "us-west-2")[i % 2]
    rid = f"rightsize-staging-serverless-a-rather-long-function-name-{i:02d}"
    key = f"serverless_provisioned_concurrency.a-rather-long-function-name-{i:02d}"
    res = Resource(kind, region, rid, None, {}, {"memory_size": 3008}, f"serverless-{region}", {"memory_size": key})
    evidence = {
        "confidence": {"coverage": 1.0, "samples": 0.9, "variability": 0.5 + i / 100, "margin": 0.7, "value": 0.5},
        "dimensions": {"cpu": {"unit": "vCPU", "p100": 10.0 + i, "capacity_proposed": 40.0, "capacity_now": 400.0}},
    }
    now = 1000.0 + 97 * i
    return risk.apply(
        Recommendation(
            res,
            (Change("memory_size", 3008, 512, key), Change("reserved_concurrency", 100, 21, key + "-reserved")),
            0.15 + i * 0.04,
            Status.EMITTED,
            "sized to the p99 plus 20% headroom; " * 4,
            Risk.LOW,
            evidence,
            Cost(now, now, now),
            Cost(now / (2 + i % 5), now / 3, now / 3),
            "alias-shift",
        )
    )


@pytest.fixture(scope="module")
def page_path(tmp_path_factory) -> Path:
    recs = [recommendation(i) for i in range(18)]
    ts = np.arange(0, 45 * 86400, 300)
    demand = 10 + 5 * np.sin(ts / 86400 * 2 * np.pi)
    charts = {
        f"{r.resource.region}/{r.resource.resource_id}": [utilisation_svg("cpu", "vCPU", ts, demand, 400.0, 40.0, 14.0)]
        for r in recs
    }
    diff = "".join(
        f"+  \"serverless_provisioned_concurrency\": {{\"a-rather-long-function-name-{i:02d}\": 21}},\n"
        for i in range(40)
    )
    schedule = NO_SCHEDULE
    html = render(records(recs, "staging"), META, charts, {}, diff, schedule)["report.html"]
    path = tmp_path_factory.mktemp("layout") / "report.html"
    path.write_text(html)
    return path


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed (.ci/run installs it)")
def test_report_layout_at_900px(page_path):
    from playwright.sync_api import sync_playwright

    errors: list[str] = []
    shot = page_path.with_suffix(".png")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": WIDTH, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())

        # no horizontal overflow: neither the page nor any element passes the viewport's right edge
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
        wide = page.evaluate(
            f"Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right > {WIDTH} + 0.5)"
            ".map(e => e.tagName + '.' + e.className)"
        )
        assert wide == []

        # the headline is in the first screen, the changes table before the first card
        headline = page.locator("p.headline")
        assert re.fullmatch(r"-\$[\d,]+/month \(-\d+%\) on-demand", headline.inner_text())
        assert headline.bounding_box()["y"] < 900
        table_y = page.locator("#changes-table").bounding_box()["y"]
        assert table_y < page.locator(".card").first.bounding_box()["y"]
        assert page.locator("#changes-table tbody tr").count() == 18

        # sorted by saving, largest first; a click on the header toggles
        def savings() -> list[float]:
            return [
                float(v)
                for v in page.locator("#changes-table tbody td:nth-child(3)").evaluate_all(
                    "els => els.map(e => e.dataset.sort)"
                )
            ]

        first = savings()
        assert first == sorted(first, reverse=True)
        page.locator("#changes-table th", has_text="$/month").click()
        assert savings() == sorted(first, reverse=True)
        page.locator("#changes-table th", has_text="$/month").click()
        assert savings() == sorted(first)

        # confidence coloured by band
        bands = page.locator("#changes-table .badge[class*='conf-']").evaluate_all("els => els.map(e => e.className)")
        assert {"badge conf-low", "badge conf-medium", "badge conf-high"} <= set(bands)

        # every chart: a title with the unit, a legend, the y-axis zoomed to demand and proposal
        chart = page.locator("svg.chart").first
        assert chart.locator("text.title").text_content().startswith("cpu (vCPU)")
        legend = chart.locator("text.legend").all_text_contents()
        assert legend[:3] == ["demand (max per bucket)", "p99 14.0", "proposed 40.0"]
        assert legend[-1] == "current 400 (above the chart)"
        assert chart.bounding_box()["width"] <= 640.5

        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert shot.stat().st_size > 10_000
