"""`make analyze` end to end on the simulated account:
analyze -> apply -> synth again -> the stacks carry the new sizes -> a second analyze proposes
nothing new; reports are deterministic and the HTML page renders in a real browser."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}
REPORT_FILES = ("report.html", "report.md", "plan-preview.md", "recommendations.json", "recommendations.csv")


def synth(tfvars: Path, outdir: Path) -> Path:
    subprocess.run(
        [sys.executable, "main.py", "--tfvars", str(tfvars), "--outdir", str(outdir)],
        cwd=ROOT,
        env=ENV,
        check=True,
        capture_output=True,
        text=True,
    )
    return outdir / "stacks"


def analyze(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis", "run", *args], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=600
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def emitted(report_dir: Path) -> list[dict]:
    doc = json.loads((report_dir / "recommendations.json").read_text())
    return [r for r in doc["recommendations"] if r["status"] == "emitted"]


@pytest.fixture(scope="module")
def loop(tmp_path_factory):
    """Run the loop once; the tests below check what it left behind."""
    work = tmp_path_factory.mktemp("loop")
    tfvars = work / "tfvars"
    shutil.copytree(ROOT / "tfvars", tfvars)
    before = {p.name: p.read_bytes() for p in (tfvars / "staging").glob("*.json")}
    stacks1 = synth(tfvars, work / "out1")
    first = analyze(
        "--stacks-dir", str(stacks1), "--tfvars-root", str(tfvars), "--output", str(work / "rep1"), "--apply"
    )
    applied = {p.name: p.read_bytes() for p in (tfvars / "staging").glob("*.json")}
    stacks2 = synth(tfvars, work / "out2")
    second = analyze(
        "--stacks-dir", str(stacks2), "--tfvars-root", str(tfvars), "--output", str(work / "rep2"), "--apply"
    )
    third = analyze("--stacks-dir", str(stacks2), "--tfvars-root", str(tfvars), "--output", str(work / "rep3"))
    return {
        "work": work,
        "tfvars": tfvars,
        "before": before,
        "applied": applied,
        "stacks2": stacks2,
        "first": first,
        "second": second,
        "third": third,
    }


def test_first_run_reports_every_tier_priced_and_a_tfvars_diff(loop):
    rep = loop["work"] / "rep1"
    for name in REPORT_FILES:
        assert (rep / name).is_file(), name
    doc = json.loads((rep / "recommendations.json").read_text())
    assert doc["schema_version"] == 1 and doc["simulated"] is True
    tiers = {row["tier"]: row for row in doc["totals"]}
    assert set(tiers) == {"network", "data", "cache", "compute", "serverless", "total"}
    for tier, row in tiers.items():
        assert row["current"]["on_demand"], f"{tier} has no price"
    assert tiers["total"]["savings"]["on_demand"] > 0
    assert {r["tier"] for r in emitted(rep)} == {"network", "data", "cache", "compute", "serverless"}
    assert "+++ " in loop["first"].stdout  # the applied diff is printed
    assert "SIMULATED" in loop["first"].stderr


def test_critical_path_and_short_history_are_reported(loop):
    recs = json.loads((loop["work"] / "rep1" / "recommendations.json").read_text())["recommendations"]
    excluded = [r for r in recs if r["status"] == "excluded"]
    assert excluded and all(not r["changes"] for r in excluded)
    assert all("CriticalPath" in r["reason"] for r in excluded)
    short = [r for r in recs if r["resource_id"].endswith("reports") and r["region"] == "us-west-2"][0]
    longer = [r for r in recs if r["resource_id"].endswith("reports") and r["region"] == "us-east-1"][0]
    assert short["confidence"] < longer["confidence"]


def test_apply_writes_only_owned_keys_and_keeps_previous(loop):
    staging = loop["tfvars"] / "staging"
    changed = {n for n, raw in loop["applied"].items() if loop["before"].get(n) != raw}
    assert changed, "apply changed no tfvars file"
    for name in changed:
        assert (staging / ".previous" / name).exists()
        data = json.loads(loop["applied"][name])
        assert list(data) == sorted(data)
    for name, raw in loop["before"].items():  # keys the analysis does not own survive
        for key in json.loads(raw):
            assert key in json.loads(loop["applied"][name])
    # the database class waits for `analysis rollout` (blue/green), so apply leaves it alone
    for name in ("data-us-east-1.auto.tfvars.json", "data-us-west-2.auto.tfvars.json"):
        assert "data_instance_class" not in json.loads(loop["applied"].get(name, b"{}"))


def test_synth_again_carries_the_applied_sizes(loop):
    for name, raw in loop["applied"].items():
        stack = name.removesuffix(".auto.tfvars.json")
        placed = loop["stacks2"] / stack / name
        assert placed.read_bytes() == raw


def test_second_run_proposes_nothing_new_and_changes_nothing(loop):
    second = emitted(loop["work"] / "rep2")
    assert [r for r in second if r["rollout"] != "blue-green"] == []
    assert {p.name: p.read_bytes() for p in (loop["tfvars"] / "staging").glob("*.json")} == loop["applied"]
    assert "nothing to change" in loop["second"].stdout


def test_reports_are_byte_identical_for_the_same_inputs(loop):
    for name in REPORT_FILES:
        assert (loop["work"] / "rep2" / name).read_bytes() == (loop["work"] / "rep3" / name).read_bytes(), name


@pytest.mark.browser
@pytest.mark.skipif(
    not Path("/usr/bin/chromium").exists(), reason="Debian chromium is not installed (.ci/run installs it)"
)
def test_html_report_renders_in_chromium_without_console_errors(loop):
    from playwright.sync_api import sync_playwright

    page_path = loop["work"] / "rep1" / "report.html"
    shot = loop["work"] / "report.png"
    errors = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on(
            "request",
            lambda r: errors.append(f"network request {r.url}") if not r.url.startswith(("file:", "data:")) else None,
        )
        page.goto(page_path.as_uri())
        assert page.locator("h1").inner_text().startswith("Right-sizing report")
        assert page.locator("svg polyline.demand").count() > 0
        page.screenshot(path=str(shot), full_page=True)
        browser.close()
    assert errors == []
    assert shot.stat().st_size > 10_000


# --- bad input: one line, exit code, nothing written --------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--bogus"], "unrecognized arguments"),
        (["--days", "0"], "--days must be"),
        (["--confidence", "2"], "--confidence must be"),
        (["--regions", "mars-1"], "unknown region"),
        (["--target", "gcp"], "invalid choice"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, message, tmp_path):
    proc = analyze(*args, "--output", str(tmp_path / "out"), check=False)
    assert proc.returncode == 2
    assert message in proc.stderr and proc.stderr.strip().splitlines()[-1].count("error") == 1
    assert not (tmp_path / "out").exists()


def test_unwritable_output_dir_exits_2(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    proc = analyze("--output", str(blocker / "reports"), check=False)
    assert proc.returncode == 2 and "is not a directory" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_corrupt_tfvars_is_reported_and_not_overwritten(loop, tmp_path):
    tfvars = tmp_path / "tfvars"
    shutil.copytree(loop["tfvars"], tfvars)
    bad = tfvars / "staging" / "compute-us-east-1.auto.tfvars.json"
    bad.write_text('{"compute_instance_type": ')
    stacks = loop["work"] / "out1" / "stacks"
    proc = analyze(
        "--stacks-dir",
        str(stacks),
        "--tfvars-root",
        str(tfvars),
        "--output",
        str(tmp_path / "rep"),
        "--apply",
        check=False,
    )
    assert proc.returncode == 1
    assert "compute-us-east-1.auto.tfvars.json" in proc.stderr and len(proc.stderr.strip().splitlines()[-1]) < 300
    assert bad.read_text() == '{"compute_instance_type": '
    assert not (tmp_path / "rep" / "report.html").exists()


def test_aws_target_through_an_aws_compatible_endpoint(loop, tmp_path, monkeypatch):
    """--target aws --endpoint-url: real boto3 inventory and GetMetricData against a moto server."""
    from analysis.sim.account import populate
    from analysis.sim.motoserver import running
    from analysis.sources.aws import Connector

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with running() as url:
        populate(Connector(endpoint_url=url), loop["work"] / "out1" / "stacks", ["us-east-1"])
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "analysis",
                "run",
                "--target",
                "aws",
                "--endpoint-url",
                url,
                "--regions",
                "us-east-1",
                "--days",
                "2",
                "--stacks-dir",
                str(loop["work"] / "out1" / "stacks"),
                "--output",
                str(tmp_path / "rep"),
            ],
            cwd=ROOT,
            env={**ENV, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"},
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr
    assert "SIMULATED" not in proc.stderr and "GetMetricData:" in proc.stderr
    doc = json.loads((tmp_path / "rep" / "recommendations.json").read_text())
    assert doc["simulated"] is False and doc["collection"]["api_calls"] >= 1
    recs = doc["recommendations"]
    assert {r["kind"] for r in recs} == {"rds", "elasticache", "asg", "lambda", "nat"}
    assert all(r["stack"] for r in recs)  # every resource joined to its tfvars through the synthesized stacks
    # no datapoints in moto's CloudWatch: nothing is proposed, and the report says why
    assert not [r for r in recs if r["status"] == "emitted"]


def test_load_test_flag_drives_traffic_before_the_analysis(loop, tmp_path):
    """`run --load-test --outputs FILE`: the load test hits the endpoints first, then the analysis runs."""
    import http.server
    import threading

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {"compute-us-east-1": {"compute_nlb_dns_name": "127.0.0.1", "compute_app_port": server.server_address[1]}}
        )
    )
    try:
        proc = analyze(
            "--load-test",
            "--outputs",
            str(outputs),
            "--load-test-duration",
            "3s",
            "--stacks-dir",
            str(loop["work"] / "out1" / "stacks"),
            "--output",
            str(tmp_path / "rep"),
        )
    finally:
        server.shutdown()
    assert hits, "the load test sent no request"
    assert "error rate 0.00%" in proc.stderr and "postgres skipped" in proc.stderr
    assert (tmp_path / "rep" / "loadtest" / "summary.json").is_file()
    assert (tmp_path / "rep" / "report.html").is_file()


def test_load_test_flag_needs_outputs(tmp_path):
    proc = analyze("--load-test", "--output", str(tmp_path / "rep"), check=False)
    assert proc.returncode == 2 and "--outputs" in proc.stderr


def test_offline_reanalysis_from_a_saved_inventory_and_snapshot(loop, tmp_path):
    """--target aws --metrics-snapshot S --inventory I: no discovery, no AWS call, same answer."""
    rep1 = loop["work"] / "rep1"
    proc = analyze(
        "--target",
        "aws",
        "--metrics-snapshot",
        str(rep1 / "sim-metrics.parquet"),
        "--inventory",
        str(rep1 / "sim-metrics.inventory.json"),
        "--output",
        str(tmp_path / "rep"),
        "--tfvars-root",
        str(tmp_path / "tfvars"),
    )
    assert "saved, not rediscovered" in proc.stderr
    before = json.loads((rep1 / "recommendations.json").read_text())["recommendations"]
    after = json.loads((tmp_path / "rep" / "recommendations.json").read_text())["recommendations"]
    assert after == before


def test_inventory_flag_needs_target_aws(tmp_path):
    proc = analyze("--inventory", str(tmp_path / "x.json"), "--output", str(tmp_path / "rep"), check=False)
    assert proc.returncode == 2 and "--target aws" in proc.stderr


def test_unknown_profile_is_a_usage_error(tmp_path):
    proc = analyze("--target", "aws", "--profile", "no-such-profile", "--output", str(tmp_path / "rep"), check=False)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "no-such-profile" in proc.stderr
