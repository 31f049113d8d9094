"""The Lambda code against real local servers: PostgreSQL (TLS verify-full against a
self-signed CA, SCRAM password auth; md5 and cleartext users to prove they are refused) and
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
from dataclasses import dataclass
from pathlib import Path

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.servers
FUNCTIONS_DIR = ROOT / "functions"
PASSWORD = "s3cret-Passw0rd"


def pg_module():
    """functions/lib/pg.py, imported as the Lambda runtime does (functions/ on the path)."""
    if str(FUNCTIONS_DIR) not in sys.path:
        sys.path.insert(0, str(FUNCTIONS_DIR))
    from lib import pg

    return pg


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


@dataclass(frozen=True)
class Postgres:
    port: int
    cafile: str  # the self-signed certificate the server presents (its own CA)


# Users the server authenticates with the exchanges the client must refuse by default.
INSECURE_USERS = {"legacy": "md5", "plain": "password"}


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
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        str(data / "server.key"),
        "-out",
        str(data / "server.crt"),
    )
    os.chmod(data / "server.key", 0o600)
    conf = f"listen_addresses = '127.0.0.1'\nport = {port}\nssl = on\nunix_socket_directories = '{base}'\n"
    with open(data / "postgresql.conf", "a") as fh:
        fh.write(conf)
    shutil.copyfile(data / "server.crt", base / "ca.pem")
    hba = [f"hostssl all {user} 127.0.0.1/32 {method}" for user, method in INSECURE_USERS.items()]
    (data / "pg_hba.conf").write_text("\n".join([*hba, "hostssl all all 127.0.0.1/32 scram-sha-256", ""]))
    run(pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "start")
    server = Postgres(port, str(base / "ca.pem"))
    admin = pg_module().Connection("127.0.0.1", port, "app", PASSWORD, "postgres", sslrootcert=server.cafile)
    admin.query("SET password_encryption = 'md5'")
    for user in INSECURE_USERS:
        admin.query(f"CREATE ROLE {user} LOGIN PASSWORD '{PASSWORD}'")
    admin.close()
    try:
        yield server
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
        "DB_PORT": str(postgres.port),
        "DB_SSLROOTCERT": postgres.cafile,
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
    pg = pg_module()
    with pytest.raises(pg.PgError, match="28P01"):
        pg.Connection("127.0.0.1", postgres.port, "app", "wrong", "postgres", sslrootcert=postgres.cafile)


def test_values_are_bound_never_spliced(postgres):
    pg = pg_module()
    db = pg.Connection("127.0.0.1", postgres.port, "app", PASSWORD, "postgres", sslrootcert=postgres.cafile)
    try:
        hostile = "x'); DROP TABLE pg_class; --"
        assert db.query("SELECT $1::text, $2::int + 1, $3::bool, $4::text IS NULL", [hostile, 41, True, None]) == [
            (hostile, "42", "t", "t")
        ]
        with pytest.raises(pg.PgError, match="22P02"):  # a bad parameter is an error, the session goes on
            db.query("SELECT $1::int", ["not a number"])
        assert db.query("SELECT 1") == [("1",)]
    finally:
        db.close()


def test_server_certificate_is_verified(postgres, tmp_path):
    pg = pg_module()
    other_ca = tmp_path / "other.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-keyout", str(tmp_path / "other.key"), "-out", str(other_ca)],
        check=True,
        capture_output=True,
    )
    with pytest.raises(pg.PgError, match="CERTIFICATE_VERIFY_FAILED"):  # signed by another CA
        pg.Connection("127.0.0.1", postgres.port, "app", PASSWORD, "postgres", sslrootcert=str(other_ca))
    with pytest.raises(pg.PgError, match="CERTIFICATE_VERIFY_FAILED"):  # the certificate names 127.0.0.1 only
        pg.Connection("localhost", postgres.port, "app", PASSWORD, "postgres", sslrootcert=postgres.cafile)
    with pytest.raises(pg.PgError, match="no CA bundle"):
        pg.Connection("127.0.0.1", postgres.port, "app", PASSWORD, "postgres", sslrootcert=str(tmp_path / "none"))


@pytest.mark.parametrize("user", sorted(INSECURE_USERS))
def test_md5_and_cleartext_auth_are_refused_unless_allowed(postgres, user):
    pg = pg_module()
    args = ("127.0.0.1", postgres.port, user, PASSWORD, "postgres")
    with pytest.raises(pg.PgError, match="cleartext or md5 password: refused"):
        pg.Connection(*args, sslrootcert=postgres.cafile)
    db = pg.Connection(*args, sslrootcert=postgres.cafile, allow_insecure_auth=True)
    assert db.query("SELECT current_user") == [(user,)]
    db.close()


def test_rds_ca_bundle_is_packaged_for_the_stack_ca():
    """The functions verify against the committed bundle; it holds the root of the CA the data stack
    pins (ca_cert_identifier rds-ca-rsa2048-g1) in every default region."""
    import ssl

    bundle = ROOT / "functions" / "lib" / "rds-ca-bundle.pem"
    subjects = [dict(x[0] for x in c["subject"]) for c in ssl.create_default_context(cafile=str(bundle)).get_ca_certs()]
    names = {s.get("commonName") for s in subjects}
    for region in ("us-east-1", "us-west-2"):
        assert f"Amazon RDS {region} Root CA RSA2048 G1" in names
