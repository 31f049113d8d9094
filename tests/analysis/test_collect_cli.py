"""`python -m analysis collect` end to end against a real moto server process, and its usage errors."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from conftest import build_staging, write_stacks

from analysis.cli import main

ROOT = Path(__file__).parents[2]
REGION = "us-east-1"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto_server():
    """`moto_server -H 127.0.0.1 -p <free port>` in a child process, with the staging resources of us-east-1."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()
                break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "moto server did not start"
                time.sleep(0.1)
        kw = dict(region_name=REGION, endpoint_url=url, aws_access_key_id="testing", aws_secret_access_key="testing")
        ids = build_staging(lambda s: boto3.client(s, **kw), REGION)
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        boto3.client("cloudwatch", **kw).put_metric_data(
            Namespace="AWS/RDS",
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": "rightsize-staging-data-primary"}],
                    "Timestamp": now - timedelta(hours=2, minutes=5 * i),
                    "Value": float(10 + i),
                }
                for i in range(12)
            ],
        )
        yield url, ids
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def run_collect(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(CREDS, **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "analysis", "collect", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_collect_against_moto_server_discovers_everything_and_writes_a_snapshot(moto_server, tmp_path):
    url, ids = moto_server
    stacks = write_stacks(tmp_path / "stacks", (REGION,))
    out = tmp_path / "snap" / "metrics.parquet"
    proc = run_collect(
        "--endpoint-url", url, "--days", "45", "--regions", REGION, "--output", str(out), "--stacks-dir", str(stacks)
    )
    assert proc.returncode == 0, proc.stderr
    assert "GetMetricData:" in proc.stdout and "theoretical minimum" in proc.stdout and "$" in proc.stdout
    assert "\x1b[" not in proc.stdout + proc.stderr  # no progress bar when not a terminal
    doc = json.loads((tmp_path / "snap" / "metrics.inventory.json").read_text())
    res = {r["resource_id"]: r for r in doc["resources"]}
    assert {r["kind"] for r in doc["resources"]} == {"rds", "elasticache", "asg", "lambda", "nat"}
    assert res["rightsize-staging-data-replica"]["excluded"] and res["rightsize-staging-catalog"]["excluded"]
    assert res["rightsize-staging-data-primary"]["excluded"] is None
    assert res["rightsize-staging-data-primary"]["tfvars_keys"]["instance_class"] == "data_instance_class"
    assert res["legacy-redis"]["stack"] is None and res[ids["vpc"]]["stack"] == f"network-{REGION}"
    usage = doc["collection"]["api_usage"]
    assert usage["api_calls"] >= usage["minimum_calls"] > 0 and usage["metrics_requested"] == usage["series"]
    assert doc["window"]["window_end"] - doc["window"]["window_start"] == 45 * 86_400
    # the one resource with datapoints is in the snapshot; the others are flagged, not dropped
    table = pq.read_table(out)
    cpu = [r for r in table.to_pylist() if r["metric_name"] == "CPUUtilization" and r["namespace"] == "AWS/RDS"]
    assert cpu and all(
        json.loads(r["dimensions"]) == {"DBInstanceIdentifier": "rightsize-staging-data-primary"} for r in cpu
    )
    cov = doc["coverage"]
    assert cov[f"{REGION}/rds/rightsize-staging-data-primary"]["flag"] == "partial"
    assert cov[f"{REGION}/asg/rightsize-staging-compute-asg"]["flag"] == "none"
    assert "metrics none" in proc.stderr


def test_endpoint_from_environment_and_tag_filter(moto_server, tmp_path):
    url, _ = moto_server
    out = tmp_path / "m.parquet"
    proc = run_collect(
        "--days",
        "3",
        "--regions",
        REGION,
        "--tag",
        "Tier=data",
        "--output",
        str(out),
        "--stacks-dir",
        str(tmp_path / "none"),
        env_extra={"AWS_ENDPOINT_URL": url},
    )
    assert proc.returncode == 0, proc.stderr
    kinds = {r["kind"] for r in json.loads(out.with_name("m.inventory.json").read_text())["resources"]}
    assert kinds == {"rds"} and "every resource is unmanaged" in proc.stderr


def test_nothing_reachable_exits_1_and_writes_nothing(tmp_path):
    out = tmp_path / "m.parquet"
    proc = run_collect(
        "--endpoint-url", f"http://127.0.0.1:{free_port()}", "--regions", "us-east-1,us-west-2", "--output", str(out)
    )
    assert proc.returncode == 1
    assert "us-east-1: region unreachable" in proc.stderr and "us-west-2: region unreachable" in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: nothing collected")
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--days", "0"], "--days must be 1..455"),
        (["--days", "456"], "--days must be 1..455"),
        (["--days", "forty"], "--days must be a whole number"),
        (["--regions", "us-east-1,mars-north-1"], "unknown region name(s) mars-north-1"),
        (["--regions", " , "], "--regions needs at least one region"),
        (["--tag", "Tier"], "--tag expects Key=Value"),
        (["--output", "x.csv"], "--output must name a .parquet file"),
    ],
)
def test_bad_flags_exit_2_with_one_line(args, needle, capsys, tmp_path):
    assert (
        main(
            ["collect", *args, "--output", str(tmp_path / "m.parquet")]
            if "--output" not in args
            else ["collect", *args]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and needle in err
    assert list(tmp_path.iterdir()) == []
