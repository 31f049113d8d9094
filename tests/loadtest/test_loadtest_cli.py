"""`python -m loadtest`, `make load-test` and Locust's master/worker mode, end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from loadtest_servers import free_port, write_outputs

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.timeout(300)


def loadtest_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "loadtest", *args]


def test_cli_run_prints_skips_and_summary(tmp_path, http_server):
    outputs = write_outputs(tmp_path / "outputs.json", http=http_server)
    out = tmp_path / "out"
    t0 = time.monotonic()
    r = subprocess.run(
        loadtest_cmd(
            "--outputs", str(outputs), "--duration", "3s", "--users", "2", "--spawn-rate", "10", "--out", str(out)
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    assert time.monotonic() - t0 < 3 + 30
    lines = r.stdout.splitlines()
    # one line per skipped target, with the reason
    assert "loadtest: postgres: skipped — no stack in the outputs has data_writer_endpoint" in lines
    assert "loadtest: redis: skipped — no stack in the outputs has cache_configuration_endpoint" in lines
    assert "loadtest: lambda: skipped — no stack in the outputs has serverless_function_aliases" in lines
    assert f"loadtest: http: 2 user(s) -> compute-local http://127.0.0.1:{http_server.port}" in lines
    assert any(line.startswith("load test summary:") for line in lines)
    assert any(line.split()[:1] == ["http"] and "0.0%" in line for line in lines)  # the summary row
    assert "req/s" in r.stdout  # Locust's live stats table went to stdout too
    doc = json.loads((out / "summary.json").read_text())
    assert doc["targets"]["http"]["requests"] > 0 and http_server.total >= doc["targets"]["http"]["requests"]


def test_cli_usage_errors_and_nothing_to_do(tmp_path):
    outputs = write_outputs(tmp_path / "outputs.json")  # network stack only
    r = subprocess.run(
        loadtest_cmd("--outputs", str(outputs), "--mix", "mysql=1"),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 2 and "unknown target 'mysql'" in r.stderr
    r = subprocess.run(
        loadtest_cmd("--outputs", str(tmp_path / "nope.json")), capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert r.returncode == 2 and "outputs file not found" in r.stderr
    r = subprocess.run(
        loadtest_cmd("--outputs", str(outputs), "--duration", "1s", "--out", str(tmp_path / "o")),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 1 and "no target to load" in r.stderr
    assert (tmp_path / "o" / "summary.json").is_file()
    r = subprocess.run(
        loadtest_cmd("--outputs", str(outputs), "--dry-run"), capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert r.returncode == 0 and r.stdout.count("skipped —") == 4


def test_max_error_rate_exit_code(tmp_path, http_server):
    outputs = write_outputs(tmp_path / "outputs.json", http=http_server)
    r = subprocess.run(
        loadtest_cmd(
            "--outputs",
            str(outputs),
            "--duration",
            "2s",
            "--users",
            "1",
            "-q",
            "--http-path",
            "/fail",
            "--max-error-rate",
            "0.5",
            "--out",
            str(tmp_path / "o"),
        ),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 1 and "error rate above 50.0% on: http" in r.stderr
    assert "HTTP 503" in r.stdout and "req/s" in r.stdout  # -q: only the summary table


def test_make_target_wiring(tmp_path):
    r = subprocess.run(
        [
            "make",
            "-n",
            "load-test",
            "OUTPUTS=o.json",
            "DURATION=30s",
            "USERS=7",
            "SPAWN_RATE=3",
            "MIX=postgres=1,http=2",
            f"OUT={tmp_path}",
            "ENDPOINT_URL=http://127.0.0.1:5000",
            "LOADTEST_ARGS=--master --expect-workers 2",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    cmd = " ".join(r.stdout.replace("\\\n", " ").split())
    assert (
        "-m loadtest --outputs 'o.json' --duration '30s' --users '7' --spawn-rate '3' "
        f"--out '{tmp_path}' --mix 'postgres=1,http=2' --endpoint-url 'http://127.0.0.1:5000' "
        "--master --expect-workers 2"
    ) in cmd


def test_make_load_test_runs(tmp_path, http_server):
    if not (ROOT / ".venv" / ".installed").exists():
        pytest.skip("make install has not run (the target depends on it)")
    outputs = write_outputs(tmp_path / "outputs.json", http=http_server)
    r = subprocess.run(
        [
            "make",
            "--no-print-directory",
            "load-test",
            f"OUTPUTS={outputs}",
            "DURATION=2s",
            "USERS=1",
            f"OUT={tmp_path / 'out'}",
            "LOADTEST_ARGS=-q",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr + r.stdout
    assert "load test summary" in r.stdout and (tmp_path / "out" / "summary.csv").is_file()


@pytest.mark.servers
def test_master_and_worker(tmp_path, redis_server, http_server, monkeypatch):
    monkeypatch.setenv("REDIS_PASSWORD", redis_server.password)
    outputs = write_outputs(tmp_path / "outputs.json", redis=redis_server, http=http_server)
    port = free_port()
    env = dict(os.environ)
    master = subprocess.Popen(
        loadtest_cmd(
            "--outputs",
            str(outputs),
            "--duration",
            "4s",
            "--users",
            "4",
            "--spawn-rate",
            "20",
            "--out",
            str(tmp_path / "master"),
            "--master",
            "--expect-workers",
            "2",
            "-q",
            "--",
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=ROOT,
        env=env,
    )
    workers = [
        subprocess.Popen(
            loadtest_cmd(
                "--outputs",
                str(outputs),
                "--worker",
                "--master-host",
                "127.0.0.1",
                "--master-port",
                str(port),
                "--out",
                str(tmp_path / f"worker{i}"),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=ROOT,
            env=env,
        )
        for i in range(2)
    ]
    try:
        out, _ = master.communicate(timeout=180)
        assert master.returncode == 0, out
        for w in workers:
            w_out, _ = w.communicate(timeout=60)
            assert w.returncode == 0, w_out
            assert "loadtest worker: redis: users set by the master -> cache-local" in w_out
    finally:
        for p in [master, *workers]:
            if p.poll() is None:
                p.kill()
                p.wait()
    doc = json.loads((tmp_path / "master" / "summary.json").read_text())
    assert doc["mode"] == "master"
    for t in ("redis", "http"):
        assert doc["targets"][t]["requests"] > 0 and doc["targets"][t]["failures"] == 0, doc["targets"][t]
    assert redis_server.client().dbsize() > 0 and http_server.total > 0
    # the master spread the users over both workers, which stopped when it quit
    master_log = (tmp_path / "master" / "locust.log").read_text()
    assert "2 workers connected" in master_log and "to 2 ready workers" in master_log
    logs = [(tmp_path / f"worker{i}" / "locust.log").read_text() for i in range(2)]
    assert all("Got quit message from master" in log_ for log_ in logs)


def test_ctrl_c_stops_the_run_and_keeps_the_summary(tmp_path, http_server):
    import signal

    from loadtest_servers import wait_for

    outputs = write_outputs(tmp_path / "outputs.json", http=http_server)
    out = tmp_path / "out"
    p = subprocess.Popen(
        loadtest_cmd("--outputs", str(outputs), "--duration", "60s", "--users", "2", "-q", "--out", str(out)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        wait_for(lambda: http_server.total > 5, 60, what="http traffic")
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=60)
        assert time.monotonic() - t0 < 30
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert p.returncode == 130 and "interrupted" in stderr
    doc = json.loads((out / "summary.json").read_text())
    assert doc["targets"]["http"]["requests"] > 0
    assert any("interrupted" in n for n in doc["notes"])
    assert (out / "locust_report.html").is_file()
