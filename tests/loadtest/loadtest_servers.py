"""Real local servers for the load-test tests: PostgreSQL and Redis from the Debian packages,
an HTTP server in a thread, and moto's server for Lambda. All on 127.0.0.1, free ports, temp
dirs; PostgreSQL runs as an unprivileged user when the tests run as root (CI does)."""

from __future__ import annotations

import glob
import http.server
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_cluster_port() -> int:
    """A free port P <= 55535 with P + 10000 free too (a cluster node's bus port)."""
    import random

    rng = random.Random()
    for _ in range(1000):
        port = rng.randint(20000, 55535)
        if _bindable(port) and _bindable(port + 10000):
            return port
    raise RuntimeError("no free port pair for a redis cluster node")


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.1, what: str = "condition"):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        try:
            value = predicate()
            if value:
                return value
        except Exception as e:  # server not up yet
            last = e
        time.sleep(interval)
    raise TimeoutError(f"timed out waiting for {what}" + (f": {last}" if last else ""))


# --- PostgreSQL ---------------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if found:
        return Path(found[-1]).parent
    which = shutil.which("initdb")
    return Path(which).resolve().parent if which else None


class PostgresServer:
    """`initdb` + `pg_ctl start` in a temp dir; password auth (scram) for user `loadtest`."""

    user = "loadtest"
    password = "pg-secret-1"
    dbname = "postgres"
    host = "127.0.0.1"

    def __init__(self):
        self.bin = postgres_bin()
        if self.bin is None:
            pytest.skip("PostgreSQL server binaries not found (apt-get install postgresql)")
        self.port = free_port()
        self.run_as = None
        if os.geteuid() == 0:  # initdb/postgres refuse root: run them as an unprivileged user
            for name in ("postgres", "nobody"):
                try:
                    self.run_as = pwd.getpwnam(name)
                    break
                except KeyError:
                    continue
            if self.run_as is None:
                pytest.skip("running as root and no unprivileged user (postgres/nobody) to run PostgreSQL")
        self.root = Path(tempfile.mkdtemp(prefix="loadtest-pg-", dir="/tmp"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        if self.run_as:
            os.chown(self.root, self.run_as.pw_uid, self.run_as.pw_gid)
        pwfile = self.root / "pw"
        pwfile.write_text(self.password + "\n")
        if self.run_as:
            os.chown(pwfile, self.run_as.pw_uid, self.run_as.pw_gid)
        self._pg(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            self.user,
            f"--pwfile={pwfile}",
            "-A",
            "scram-sha-256",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(
                f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = ''\n"
                "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 100\n"
                "shared_buffers = 32MB\n"
            )
        self.start()

    def _pg(self, tool: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        kw = {}
        if self.run_as:
            kw = dict(user=self.run_as.pw_uid, group=self.run_as.pw_gid, extra_groups=[])
        env = dict(os.environ, HOME=str(self.root), LC_ALL="C")
        env.pop("PGPASSWORD", None)
        r = subprocess.run(
            [str(self.bin / tool), *args], capture_output=True, text=True, env=env, cwd=self.root, timeout=120, **kw
        )
        if check and r.returncode != 0:
            raise RuntimeError(
                f"{tool} failed ({r.returncode}): {r.stdout}\n{r.stderr}\n"
                f"{self.log.read_text() if self.log.exists() else ''}"
            )
        return r

    def start(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60", "start")
        wait_for(lambda: self.query("SELECT 1") == [(1,)], 30, what="postgres")

    def stop(self) -> None:
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop", check=False)

    def connect(self):
        import psycopg

        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=self.dbname,
            connect_timeout=5,
            autocommit=True,
            sslmode="disable",
        )

    def query(self, sql: str, params=()):
        with self.connect() as conn:
            cur = conn.execute(sql, params)
            return cur.fetchall() if cur.description else []

    def outputs(self) -> dict:
        return {
            "data_writer_endpoint": f"{self.host}:{self.port}",
            "data_reader_endpoint": self.host,
            "data_port": self.port,
            "data_database_name": self.dbname,
            "data_username": self.user,
        }

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# --- Redis ----------------------------------------------------------------------------------------


def redis_bin() -> str | None:
    return shutil.which("redis-server") or (os.path.exists("/usr/bin/redis-server") and "/usr/bin/redis-server") or None


class RedisServer:
    """`redis-server --port N --bind 127.0.0.1 --save ''` with requirepass; `cluster=True` for a
    cluster-mode node."""

    password = "redis-secret-1"
    host = "127.0.0.1"

    def __init__(self, cluster: bool = False, root: Path | None = None):
        exe = redis_bin()
        if exe is None:
            pytest.skip("redis-server not found (apt-get install redis-server)")
        self.port = free_cluster_port() if cluster else free_port()
        self.root = Path(root or tempfile.mkdtemp(prefix="loadtest-redis-"))
        self.root.mkdir(parents=True, exist_ok=True)
        cmd = [
            exe,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.root),
            "--requirepass",
            self.password,
            "--daemonize",
            "no",
            "--logfile",
            str(self.root / "redis.log"),
        ]
        if cluster:
            cmd += [
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                f"nodes-{self.port}.conf",
                "--cluster-node-timeout",
                "5000",
                "--masterauth",
                self.password,
            ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.client().ping(), 20, what="redis-server")

    def client(self):
        import redis

        return redis.Redis(host=self.host, port=self.port, password=self.password, socket_timeout=5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def outputs(self) -> dict:
        return {"cache_configuration_endpoint": self.host, "cache_port": self.port}

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


class RedisCluster:
    """Three cluster-mode redis-servers joined with `redis-cli --cluster create` (no replicas)."""

    password = RedisServer.password

    def __init__(self, nodes: int = 3):
        cli = shutil.which("redis-cli")
        if cli is None:
            pytest.skip("redis-cli not found (apt-get install redis-server)")
        self.root = Path(tempfile.mkdtemp(prefix="loadtest-rcluster-"))
        self.nodes: list[RedisServer] = []
        try:
            for i in range(nodes):
                self.nodes.append(RedisServer(cluster=True, root=self.root / str(i)))
            r = subprocess.run(
                [
                    cli,
                    "-a",
                    self.password,
                    "--no-auth-warning",
                    "--cluster",
                    "create",
                    *[f"127.0.0.1:{n.port}" for n in self.nodes],
                    "--cluster-replicas",
                    "0",
                    "--cluster-yes",
                ],
                capture_output=True,
                text=True,
                timeout=60,
            )
            if r.returncode != 0:
                raise RuntimeError(f"redis-cli --cluster create failed: {r.stdout}{r.stderr}")
            for n in self.nodes:
                wait_for(
                    lambda n=n: b"cluster_state:ok" in n.client().execute_command("CLUSTER", "INFO"),
                    30,
                    what="cluster_state:ok",
                )
        except BaseException:
            self.close()
            raise

    def outputs(self) -> dict:
        return self.nodes[0].outputs()

    def close(self) -> None:
        for n in self.nodes:
            n.stop()
        shutil.rmtree(self.root, ignore_errors=True)


# --- HTTP ---------------------------------------------------------------------------------------


class HttpServer:
    """ThreadingHTTPServer on 127.0.0.1 counting hits per path (200 with a small JSON body;
    `/fail` answers 503)."""

    def __init__(self):
        hits: dict[str, int] = {}
        lock = threading.Lock()
        conns: set = set()
        self.hits = hits
        self.conns = conns

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like a real app behind the NLB

            def setup(self):
                super().setup()
                with lock:
                    conns.add(self.connection)

            def finish(self):
                with lock:
                    conns.discard(self.connection)
                super().finish()

            def do_GET(self):  # noqa: N802
                with lock:
                    hits[self.path] = hits.get(self.path, 0) + 1
                status = 503 if self.path.startswith("/fail") else 200
                body = json.dumps({"path": self.path, "ok": status == 200}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()
        self._stopped = False

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    def stop(self) -> None:
        """Like the process dying: stop listening and cut the open keep-alive connections."""
        if not self._stopped:
            self._stopped = True
            self.server.shutdown()
            self.server.server_close()
            for conn in list(self.conns):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def outputs(self) -> dict:
        return {"compute_nlb_dns_name": "127.0.0.1", "compute_app_port": self.port}

    close = stop


def write_outputs(path: Path, *, pg=None, redis=None, http=None, lambda_aliases=None, extra=None) -> Path:
    """A `cdktf output --outputs-file` style file with one stack per tier in region `local`."""
    doc: dict = {"network-local": {"network_vpc_id": "vpc-local", "sizing_keys": {}}}
    if pg is not None:
        doc["data-local"] = {**pg.outputs(), "sizing_keys": {}}
    if redis is not None:
        doc["cache-local"] = {**redis.outputs(), "sizing_keys": {}}
    if http is not None:
        doc["compute-local"] = {**http.outputs(), "compute_asg_name": "asg-local", "sizing_keys": {}}
    if lambda_aliases is not None:
        doc["serverless-local"] = {
            "serverless_function_aliases": lambda_aliases,
            "serverless_function_names": {k: v.split(":")[6] for k, v in lambda_aliases.items()},
            "sizing_keys": {},
        }
    for stack, outputs in (extra or {}).items():
        doc.setdefault(stack, {}).update(outputs)
    path.write_text(json.dumps(doc, indent=2))
    return path


# --- moto (AWS-compatible endpoint) --------------------------------------------------------------


class MotoServer:
    """moto's server app on 127.0.0.1 in a thread, counting Lambda invoke requests per path.

    moto runs function code only in Docker (none here); `simple_lambda()` switches it to its
    Docker-free Lambda backend, which answers an invoke with the request payload."""

    def __init__(self):
        from moto.server import DomainDispatcherApplication, create_backend_app
        from werkzeug.serving import make_server

        self.invokes: dict[str, int] = {}
        lock = threading.Lock()
        app = DomainDispatcherApplication(create_backend_app)

        def counting(environ, start_response):
            path = environ.get("PATH_INFO", "")
            if path.endswith("/invocations"):
                with lock:
                    self.invokes[path] = self.invokes.get(path, 0) + 1
            return app(environ, start_response)

        self.server = make_server("127.0.0.1", 0, counting, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def set_config(self, config: dict) -> None:
        import requests

        requests.post(f"{self.url}/moto-api/config", json=config, timeout=10).raise_for_status()

    def simple_lambda(self, on: bool = True) -> None:
        self.set_config({"lambda": {"use_docker": not on}})

    def reset(self) -> None:
        import requests

        self.simple_lambda(False)
        requests.post(f"{self.url}/moto-api/reset", timeout=10)
        self.invokes.clear()

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.url,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_aliases(self, shorts=("orders", "catalog"), region: str = "us-east-1") -> dict[str, str]:
        """Functions `rightsize-test-<short>` with a published version and alias `live`."""
        import io
        import zipfile

        role = self.client("iam", region).create_role(
            RoleName=f"lt-role-{len(self.invokes)}-{time.time_ns()}", AssumeRolePolicyDocument="{}"
        )["Role"]["Arn"]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("index.py", "def handler(event, context):\n    return event\n")
        lam = self.client("lambda", region)
        aliases = {}
        for short in shorts:
            name = f"rightsize-test-{short}"
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="index.handler",
                Code={"ZipFile": buf.getvalue()},
                Publish=False,
            )
            version = lam.publish_version(FunctionName=name)["Version"]
            aliases[short] = lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)["AliasArn"]
        return aliases

    def close(self) -> None:
        try:
            self.reset()
        finally:
            self.server.shutdown()
            self.server.server_close()
