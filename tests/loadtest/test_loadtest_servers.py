"""Short bounded runs against real local PostgreSQL, Redis and HTTP servers (started by the
fixtures on 127.0.0.1). Each target must receive requests (checked on the server side), a
server stopped mid-run must show up as counted failures, and the summary files must exist."""

from __future__ import annotations

import csv
import json
import threading
import time

import pytest
from loadtest_servers import HttpServer, PostgresServer, RedisCluster, RedisServer, wait_for, write_outputs

import loadtest

pytestmark = [pytest.mark.servers, pytest.mark.timeout(300)]

TABLE = "rightsize_loadtest"


def _table_count(pg, table=TABLE) -> int:
    exists = pg.query("SELECT to_regclass(%s) IS NOT NULL", (table,))[0][0]
    return pg.query(f"SELECT count(*) FROM {table}")[0][0] if exists else 0


def test_every_target_receives_requests(tmp_path, pg_server, redis_server, http_server, server_env):
    pg_server.query(f"DROP TABLE IF EXISTS {TABLE}")
    redis_server.client().flushall()
    outputs = write_outputs(tmp_path / "outputs.json", pg=pg_server, redis=redis_server, http=http_server)
    out = tmp_path / "out"

    t0 = time.monotonic()
    summary = loadtest.run(
        outputs,
        duration_s=5,
        users=6,
        spawn_rate=20,
        mix="postgres=1,redis=1,http=1",
        out_dir=out,
        echo=False,
        pg_seed_rows=200,
        pg_read_ratio=0.5,
        wait=(0.02, 0.1),
    )
    elapsed = time.monotonic() - t0
    assert elapsed < 5 + 25, f"run took {elapsed:.1f}s for 5s"

    assert summary.ran == ["postgres", "redis", "http"]
    assert summary.skipped == {"lambda": "turned off by --mix (weight 0)"}
    for t in summary.ran:
        s = summary.targets[t]
        assert s.users == 2
        assert s.requests > 0, t
        assert s.failures == 0, (t, s.errors)
        assert s.error_rate == 0.0
        assert s.p50_ms is not None and s.p95_ms is not None

    # server side: PostgreSQL got the schema, the seed, inserts and index reads
    ops = {o["name"]: o for o in summary.targets["postgres"].operations}
    assert set(ops) == {
        "data-local read point",
        "data-local read range",
        "data-local write insert",
        "data-local write update",
    }
    inserts = ops["data-local write insert"]["requests"]
    assert inserts > 0 and _table_count(pg_server) >= 200 + inserts
    idx = wait_for(
        lambda: pg_server.query("SELECT coalesce(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = %s", (TABLE,))[
            0
        ][0],
        10,
        what="index scans in pg_stat_user_tables",
    )
    assert idx > 0
    # Redis: keys with TTLs from the default range, GETs counted as hits or misses
    r = redis_server.client()
    assert r.dbsize() > 0
    keys = list(r.scan_iter("rightsize:loadtest:item:*", count=1000))
    assert keys and all(0 < r.ttl(k) <= 3600 for k in keys[:50])
    info = r.info("stats")
    assert info["keyspace_hits"] + info["keyspace_misses"] > 0
    # HTTP: every counted request reached the server
    assert http_server.hits.get("/", 0) >= summary.targets["http"].requests > 0

    # summary files: ours and Locust's
    for name in (
        "summary.json",
        "summary.csv",
        "summary.txt",
        "locust_stats.csv",
        "locust_failures.csv",
        "locust_report.html",
        "locust.log",
    ):
        assert (out / name).is_file(), name
    doc = json.loads((out / "summary.json").read_text())
    assert doc["targets"]["redis"]["requests"] == summary.targets["redis"].requests
    assert doc["targets"]["lambda"]["status"] == "skipped"
    rows = {row["target"]: row for row in csv.DictReader((out / "summary.csv").open())}
    assert set(rows) == {"postgres", "redis", "lambda", "http"}
    assert int(rows["http"]["requests"]) == summary.targets["http"].requests
    assert float(rows["postgres"]["error_rate"]) == 0.0
    text = (out / "summary.txt").read_text()
    assert "postgres" in text and "skipped: turned off by --mix" in text
    assert "<html" in (out / "locust_report.html").read_text()[:2000].lower()
    # Locust's own per-operation CSV has our request types
    types = {row["Type"] for row in csv.DictReader((out / "locust_stats.csv").open())}
    assert {"postgres", "redis", "http"} <= types


def test_servers_stopped_mid_run_are_counted_not_fatal(tmp_path, monkeypatch):
    pg, redis_srv, http = PostgresServer(), RedisServer(), HttpServer()
    try:
        monkeypatch.setenv("PGPASSWORD", pg.password)
        monkeypatch.setenv("REDIS_PASSWORD", redis_srv.password)
        outputs = write_outputs(tmp_path / "outputs.json", pg=pg, redis=redis_srv, http=http)
        result: dict = {}

        def go():
            try:
                result["summary"] = loadtest.run(
                    outputs,
                    duration_s=8,
                    users=6,
                    spawn_rate=20,
                    out_dir=tmp_path / "out",
                    echo=False,
                    mix="postgres=1,redis=1,http=1",
                    timeout_s=3,
                )
            except BaseException as e:  # surfaced below
                result["error"] = e

        t0 = time.monotonic()
        runner = threading.Thread(target=go)
        runner.start()
        # traffic first, then pull the plug on all three servers
        wait_for(lambda: http.total > 3, 30, what="http traffic")
        wait_for(lambda: redis_srv.client().dbsize() > 3, 30, what="redis traffic")
        wait_for(lambda: _table_count(pg) > 1000, 30, what="postgres writes")
        pg.stop()
        redis_srv.stop()
        http.stop()
        runner.join(120)
        elapsed = time.monotonic() - t0
        assert not runner.is_alive(), "the run did not stop by itself"
        assert "error" not in result, result.get("error")
        assert elapsed < 8 + 30
        summary = result["summary"]
        for t in ("postgres", "redis", "http"):
            s = summary.targets[t]
            assert s.requests > s.failures > 0, (t, s.requests, s.failures)
            assert 0 < s.error_rate < 1
            assert s.errors and s.errors[0]["occurrences"] > 0
        errors = {t: " ".join(e["error"] for e in summary.targets[t].errors) for t in ("postgres", "redis", "http")}
        assert "OperationalError" in errors["postgres"] or "connection" in errors["postgres"].lower()
        assert "ConnectionError" in errors["redis"]
        assert "ConnectionError" in errors["http"] or "Connection" in errors["http"]
        out = tmp_path / "out"
        assert (out / "summary.json").is_file() and (out / "locust_report.html").is_file()
        failures = list(csv.DictReader((out / "locust_failures.csv").open()))
        assert {row["Method"] for row in failures} >= {"postgres", "redis", "http"}
        assert "failures" in (out / "summary.txt").read_text()
    finally:
        pg.close()
        redis_srv.close()
        http.close()


def test_wrong_credentials_are_failures(tmp_path, monkeypatch, pg_server, redis_server, http_server):
    monkeypatch.setenv("PGPASSWORD", "wrong")
    monkeypatch.setenv("REDIS_PASSWORD", "wrong")
    outputs = write_outputs(tmp_path / "outputs.json", pg=pg_server, redis=redis_server)
    summary = loadtest.run(outputs, duration_s=2, users=2, spawn_rate=10, out_dir=tmp_path / "out", echo=False)
    for t in ("postgres", "redis"):
        s = summary.targets[t]
        assert s.requests == s.failures > 0, t
        assert s.error_rate == 1.0
    assert "password authentication failed" in summary.targets["postgres"].errors[0]["error"]
    assert (
        "AuthenticationError" in summary.targets["redis"].errors[0]["error"]
        or "WRONGPASS" in summary.targets["redis"].errors[0]["error"]
    )
    # the flag beats the environment
    summary = loadtest.run(
        outputs,
        duration_s=2,
        users=2,
        spawn_rate=10,
        out_dir=tmp_path / "out2",
        echo=False,
        pg_password=pg_server.password,
        redis_password=redis_server.password,
    )
    assert summary.targets["postgres"].failures == 0 and summary.targets["postgres"].requests > 0
    assert summary.targets["redis"].failures == 0 and summary.targets["redis"].requests > 0


def test_redis_cluster_mode(tmp_path, monkeypatch):
    cluster = RedisCluster()
    try:
        monkeypatch.setenv("REDIS_PASSWORD", cluster.password)
        outputs = write_outputs(tmp_path / "outputs.json", redis=cluster)
        summary = loadtest.run(
            outputs,
            duration_s=4,
            users=4,
            spawn_rate=20,
            out_dir=tmp_path / "out",
            echo=False,
            redis_keys=500,
            redis_read_ratio=0.5,
        )
        s = summary.targets["redis"]
        assert s.requests > 0 and s.failures == 0, s.errors  # a plain client would get MOVED errors
        sizes = [n.client().dbsize() for n in cluster.nodes]
        assert sum(1 for n in sizes if n > 0) >= 2, sizes  # keys spread over the slots of several nodes
    finally:
        cluster.close()


def test_http_status_errors_are_failures(tmp_path, http_server):
    outputs = write_outputs(tmp_path / "outputs.json", http=http_server)
    summary = loadtest.run(
        outputs, duration_s=2, users=2, spawn_rate=10, out_dir=tmp_path / "out", echo=False, http_paths=("/", "/fail")
    )
    s = summary.targets["http"]
    assert s.requests > s.failures > 0
    assert s.errors[0]["error"] == "HTTP 503"
    assert http_server.hits.get("/fail", 0) >= s.failures


def test_every_region_gets_users(tmp_path, redis_server, monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD", redis_server.password)
    outputs = write_outputs(
        tmp_path / "outputs.json",
        extra={"cache-us-east-1": redis_server.outputs(), "cache-us-west-2": redis_server.outputs()},
    )
    summary = loadtest.run(outputs, duration_s=2, users=2, spawn_rate=20, out_dir=tmp_path / "out", echo=False)
    s = summary.targets["redis"]
    assert len(s.endpoints) == 2 and s.failures == 0
    stacks = {o["name"].split()[0] for o in s.operations}
    assert stacks == {"cache-us-east-1", "cache-us-west-2"}
    only = loadtest.run(outputs, duration_s=1, users=1, out_dir=tmp_path / "out2", echo=False, regions=("us-west-2",))
    assert {o["name"].split()[0] for o in only.targets["redis"].operations} == {"cache-us-west-2"}
