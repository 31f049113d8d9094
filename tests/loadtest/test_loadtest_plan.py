"""Plan building without servers: outputs parsing, skips, mix/users, TLS, credentials."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from loadtest import plan as P
from loadtest.summary import Summary, TargetSummary, target_stats_from_csv

ALIAS = "arn:aws:lambda:us-west-2:123456789012:function:rightsize-staging-orders:live"


def outputs_doc():
    return {
        "network-us-east-1": {"network_vpc_id": "vpc-1", "sizing_keys": {}},
        "data-us-east-1": {
            "data_writer_endpoint": "db-w.abc.us-east-1.rds.amazonaws.com:5432",
            "data_reader_endpoint": "db-r.abc.us-east-1.rds.amazonaws.com",
            "data_port": 5432,
            "data_database_name": "app",
            "data_username": "rightsize",
            "data_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf",
        },
        "cache-us-east-1": {
            "cache_configuration_endpoint": "clustercfg.rs.abc.use1.cache.amazonaws.com",
            "cache_port": 6379,
            "cache_auth_secret_arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:c-1",
        },
        "compute-us-east-1": {"compute_nlb_dns_name": "nlb-1.elb.us-east-1.amazonaws.com", "compute_app_port": 8080},
        "serverless-us-west-2": {"serverless_function_aliases": {"orders": ALIAS}},
        "data-us-west-2": {"data_writer_endpoint": "", "data_port": 5432},
    }


@pytest.fixture
def no_creds(monkeypatch):
    for k in ("PGPASSWORD", "REDIS_PASSWORD"):
        monkeypatch.delenv(k, raising=False)


def test_parsers():
    assert P.parse_duration("30s") == 30 and P.parse_duration("5m") == 300 and P.parse_duration("1h30m") == 5400
    assert P.parse_duration("90") == 90 and P.parse_duration(2.5) == 2.5
    for bad in ("", "abc", "0s", "-5", "10x"):
        with pytest.raises(P.UsageError):
            P.parse_duration(bad)
    assert P.parse_mix(None) == {"postgres": 1, "redis": 1, "lambda": 1, "http": 1}
    assert P.parse_mix("redis=5, http=1") == {"postgres": 0, "redis": 5, "lambda": 0, "http": 1}
    assert P.parse_mix("postgres,redis")["redis"] == 1
    for bad in ("mysql=1", "redis=x", "redis=-1", "redis=0"):
        with pytest.raises(P.UsageError):
            P.parse_mix(bad)
    assert P.parse_range("0.1:0.5", "w") == (0.1, 0.5) and P.parse_range("60-3600", "t", integer=True) == (60, 3600)
    with pytest.raises(P.UsageError):
        P.parse_range("5:1", "w")
    assert P.split_host_port("h:5433", 5432) == ("h", 5433)
    assert P.split_host_port("h", 5432) == ("h", 5432)
    assert P.split_host_port("[::1]:6380", 6379) == ("::1", 6380)
    assert P.region_of_arn(ALIAS) == "us-west-2" and P.region_of_stack("data-us-east-1") == "us-east-1"


def test_apportion_users():
    w = {"postgres": 3, "redis": 5, "lambda": 1, "http": 1}
    users = P.apportion(10, w)
    assert sum(users.values()) == 10 and all(users[t] >= 1 for t in w)
    assert users["redis"] > users["postgres"] > users["lambda"]
    assert P.apportion(4, w) == {"postgres": 1, "redis": 1, "lambda": 1, "http": 1}
    assert P.apportion(7, {"redis": 1, "postgres": 0})["postgres"] == 0
    with pytest.raises(P.UsageError, match="at least one user"):
        P.apportion(3, w)


def test_tls_auto():
    assert P.use_tls("auto", "db.abc.rds.amazonaws.com") and not P.use_tls("auto", "127.0.0.1")
    assert not P.use_tls("auto", "localhost") and not P.use_tls("auto", "::1")
    assert P.use_tls("on", "127.0.0.1") and not P.use_tls("off", "db.amazonaws.com")


def test_plan_from_outputs(tmp_path, no_creds):
    f = tmp_path / "outputs.json"
    f.write_text(json.dumps(outputs_doc()))
    plan = P.build_plan(P.load_outputs(f), P.Options(users=8), resolve_secrets=False)
    assert plan.active == ["postgres", "redis", "lambda", "http"]
    pg = plan.targets["postgres"]["endpoints"]
    assert len(pg) == 1  # data-us-west-2 has an empty writer endpoint
    assert pg[0]["writer"] == {"host": "db-w.abc.us-east-1.rds.amazonaws.com", "port": 5432}
    assert pg[0]["readers"] == [{"host": "db-r.abc.us-east-1.rds.amazonaws.com", "port": 5432}]
    assert pg[0]["dbname"] == "app" and pg[0]["user"] == "rightsize" and pg[0]["tls"] is True
    assert plan.targets["redis"]["endpoints"][0]["tls"] is True
    lam = plan.targets["lambda"]["endpoints"][0]
    assert lam["functions"] == {"orders": ALIAS} and lam["region"] == "us-west-2"
    assert plan.targets["http"]["endpoints"][0]["base_url"] == "http://nlb-1.elb.us-east-1.amazonaws.com:8080"
    assert sum(plan.users.values()) == 8
    doc = json.loads(plan.to_json())
    assert doc["targets"]["postgres"]["endpoints"][0]["secret_id"] == "postgres:data-us-east-1"
    assert "password" not in plan.to_json().lower().replace("pg_password", "")

    only_west = P.build_plan(P.load_outputs(f), P.Options(users=4, regions=("us-west-2",)), resolve_secrets=False)
    assert only_west.active == ["lambda"]
    assert only_west.skipped["postgres"] == "no stack in the outputs has data_writer_endpoint in region(s) us-west-2"
    assert (
        only_west.skipped["redis"] == "no stack in the outputs has cache_configuration_endpoint in region(s) us-west-2"
    )


def test_target_descriptors():
    pg = P.DESCRIPTORS["postgres"]
    with pytest.raises(ValueError, match="not among the outputs"):
        dataclasses.replace(pg, outputs=("data_writer_endpoint", "data_port"))
    with pytest.raises(ValueError, match="go together"):
        dataclasses.replace(pg, default_port=None)
    with pytest.raises(ValueError, match="not an Options field"):
        P.Credential("mysql_password", "MYSQL_PWD", "data_secret_arn")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("### Stack outputs it reads")[1].split("###")[0]
    for name, target in P.DESCRIPTORS.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{name}` |"))
        assert row.split("|")[2].strip().startswith(f"`{target.required_output}`"), name
        assert [k for k in target.outputs if f"`{k}`" not in row] == [], name


def test_outputs_file_errors(tmp_path):
    with pytest.raises(P.UsageError, match="not found"):
        P.load_outputs(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(P.LoadTestError, match="not JSON"):
        P.load_outputs(bad)
    bad.write_text('{"data-x": 3}')
    with pytest.raises(P.LoadTestError):
        P.load_outputs(bad)
    # Terraform's own `output -json` shape is unwrapped
    tf = tmp_path / "tf.json"
    tf.write_text(
        json.dumps({"compute-x": {"compute_nlb_dns_name": {"value": "h", "type": "string", "sensitive": False}}})
    )
    assert P.load_outputs(tf) == {"compute-x": {"compute_nlb_dns_name": "h"}}


def test_password_precedence_and_secrets_manager(moto_server, monkeypatch, no_creds):
    sm = moto_server.client("secretsmanager")
    db_arn = sm.create_secret(
        Name="rds-master", SecretString=json.dumps({"username": "master", "password": "from-sm"})
    )["ARN"]
    cache_arn = sm.create_secret(Name="cache-auth", SecretString="token-from-sm")["ARN"]
    opts = P.Options(endpoint_url=moto_server.url)
    assert P.resolve_password("postgres", db_arn, opts)[0::2] == ("from-sm", "master")
    assert P.resolve_password("redis", cache_arn, opts)[0] == "token-from-sm"
    monkeypatch.setenv("PGPASSWORD", "from-env")
    assert P.resolve_password("postgres", db_arn, opts)[:2] == ("from-env", "from $PGPASSWORD")
    opts.pg_password = "from-flag"
    assert P.resolve_password("postgres", db_arn, opts)[0] == "from-flag"
    # an unreachable secret is a note, not a crash: the target runs without a password
    value, src, _ = P.resolve_password("redis", "arn:aws:secretsmanager:us-east-1:1:secret:gone", opts)
    assert value is None and "unreachable" in src

    outputs = {
        "data-us-east-1": {"data_writer_endpoint": "127.0.0.1", "data_secret_arn": db_arn},
        "cache-us-east-1": {"cache_configuration_endpoint": "127.0.0.1", "cache_auth_secret_arn": cache_arn},
    }
    monkeypatch.delenv("PGPASSWORD")
    plan = P.build_plan(outputs, P.Options(users=2, endpoint_url=moto_server.url))
    assert plan.secrets == {"postgres:data-us-east-1": "from-sm", "redis:cache-us-east-1": "token-from-sm"}
    assert plan.targets["postgres"]["endpoints"][0]["user"] == "master"  # no data_username: the secret's
    assert "from-sm" not in plan.to_json() and any("Secrets Manager" in n for n in plan.notes)


def test_summary_files_and_csv_fallback(tmp_path):
    s = Summary(
        targets={
            "postgres": TargetSummary(
                "postgres",
                "ran",
                users=2,
                requests=10,
                failures=1,
                error_rate=0.1,
                p50_ms=3.0,
                p95_ms=9.0,
                errors=[{"name": "x", "error": "boom", "occurrences": 1}],
            ),
            "redis": TargetSummary("redis", "skipped", reason="no stack"),
        },
        duration_s=5,
        elapsed_s=5.5,
        users=2,
        spawn_rate=1,
        mix={},
        out_dir=str(tmp_path),
    )
    files = s.write(tmp_path)
    assert json.loads((tmp_path / "summary.json").read_text())["targets"]["postgres"]["error_rate"] == 0.1
    assert "10.0%" in (tmp_path / "summary.txt").read_text() and "skipped: no stack" in s.table()
    assert set(files) >= {"summary_json", "summary_csv", "summary_txt"}

    stats = tmp_path / "locust_stats.csv"
    stats.write_text(
        "Type,Name,Request Count,Failure Count,Average Response Time,Max Response Time,Requests/s\n"
        "redis,a get,10,2,5,20,2.0\nredis,a set,10,0,15,30,2.0\n,Aggregated,20,2,10,30,4.0\n"
    )
    fails = tmp_path / "locust_failures.csv"
    fails.write_text("Method,Name,Error,Occurrences\nredis,a get,ConnectionError: x,2\n")
    d = target_stats_from_csv(stats, fails)
    assert d["redis"]["requests"] == 20 and d["redis"]["failures"] == 2 and d["redis"]["avg_ms"] == 10
    assert d["redis"]["errors"][0]["occurrences"] == 2 and "" not in d


def test_importing_loadtest_keeps_gevent_out():
    code = "import sys, loadtest; assert 'gevent' not in sys.modules and 'locust' not in sys.modules, 'patched'"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
