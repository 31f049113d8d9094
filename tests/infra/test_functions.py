"""The Lambda code against real local servers: PostgreSQL (SCRAM password auth, TLS) and
Redis (AUTH). Skipped when the servers are not installed (.ci/run installs them)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.servers
FUNCTIONS_DIR = ROOT / "functions"
PASSWORD = "s3cret-Passw0rd"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listening on {port}")


def pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


@pytest.fixture(scope="module")
def postgres():
    initdb, pg_ctl = pg_bin("initdb"), pg_bin("pg_ctl")
    if not (initdb and pg_ctl) or not shutil.which("openssl"):
        pytest.skip("PostgreSQL server / openssl not installed")
    as_user: list[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser")
        as_user = ["runuser", "-u", "postgres", "--"]
    base = Path(tempfile.mkdtemp(prefix="pgtest-"))
    data, port = base / "data", free_port()
    pwfile = base / "pw"
    pwfile.write_text(PASSWORD)
    if as_user:
        shutil.chown(base, "postgres")
        shutil.chown(pwfile, "postgres")
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    run(initdb, "-D", str(data), "-U", "app", "--auth=scram-sha-256", f"--pwfile={pwfile}")
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-keyout",
        str(data / "server.key"),
        "-out",
        str(data / "server.crt"),
    )
    os.chmod(data / "server.key", 0o600)
    conf = f"listen_addresses = '127.0.0.1'\nport = {port}\nssl = on\nunix_socket_directories = '{base}'\n"
    with open(data / "postgresql.conf", "a") as fh:
        fh.write(conf)
    (data / "pg_hba.conf").write_text("hostssl all all 127.0.0.1/32 scram-sha-256\n")
    run(pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "start")
    try:
        yield port
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def redis_server():
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--requirepass",
            PASSWORD,
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_port(port)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture()
def handlers(monkeypatch, postgres, redis_server):
    monkeypatch.syspath_prepend(str(FUNCTIONS_DIR))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    from lib import config

    secrets = {"arn:db": json.dumps({"username": "app", "password": PASSWORD}), "arn:cache": PASSWORD}
    monkeypatch.setattr(config, "secret", secrets.__getitem__)
    for key, value in {
        "DB_HOST": "127.0.0.1",
        "DB_PORT": str(postgres),
        "DB_NAME": "postgres",
        "DB_SECRET_ARN": "arn:db",
        "CACHE_HOST": "127.0.0.1",
        "CACHE_PORT": str(redis_server),
        "CACHE_SECRET_ARN": "arn:cache",
        "CACHE_TLS": "false",
    }.items():
        monkeypatch.setenv(key, value)
    import importlib

    return {
        fn: importlib.import_module(f"{fn}.handler").handler
        for fn in ("orders", "catalog", "reports", "sessions", "ratelimit")
    }


def test_postgres_functions(handlers):
    created = handlers["orders"]({"customer": "c-1", "total_cents": 1299})
    assert created["status"] == "created"
    handlers["orders"]({"customer": "O'Brien", "total_cents": 1})  # quoting
    found = handlers["orders"]({"order_id": created["order_id"]})
    assert (found["customer"], found["total_cents"]) == ("c-1", 1299)
    assert handlers["orders"]({"order_id": 999999})["status"] == "not-found"
    assert handlers["catalog"]({"sku": "A-1", "name": "Widget", "price_cents": 500})["price_cents"] == 500
    assert handlers["catalog"]({"sku": "A-1"})["name"] == "Widget"
    assert [p["sku"] for p in handlers["catalog"]({"limit": 5})["products"]] == ["A-1"]
    report = handlers["reports"]({"hours": 1})
    assert report["orders"] >= 2 and report["revenue_cents"] >= 1300 and report["customers"] >= 2


def test_redis_functions(handlers):
    assert handlers["sessions"]({"session_id": "s1", "data": {"user": "u1"}, "ttl": 60})["status"] == "stored"
    assert handlers["sessions"]({"session_id": "s1"})["data"] == {"user": "u1"}
    assert handlers["sessions"]({"session_id": "nope"})["status"] == "not-found"
    results = [handlers["ratelimit"]({"key": "client", "limit": 2, "window": 60}) for _ in range(3)]
    assert [r["allowed"] for r in results] == [True, True, False]


def test_postgres_rejects_a_wrong_password(postgres):
    sys.path.insert(0, str(FUNCTIONS_DIR))
    try:
        from lib import pg

        with pytest.raises(pg.PgError, match="28P01"):
            pg.Connection("127.0.0.1", postgres, "app", "wrong", "postgres")
    finally:
        sys.path.remove(str(FUNCTIONS_DIR))
