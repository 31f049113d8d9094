"""Clients and operations of the four targets, independent of Locust.

Each client's `next_op()` returns `(name, fn)`: `fn()` performs one realistic operation and
returns a response size in bytes, or raises. A client never dies on a failed operation: it
drops a broken connection and connects again on the next one, so a server that goes away
mid-run shows up as failures, not as a crashed run. The Locust user classes (locustfile.py)
time `fn()` and report it; tests call these clients directly too.

Client libraries are imported lazily (inside the clients), so importing this module is cheap.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import string
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any

from stacks.naming import PROJECT

Op = tuple[str, Callable[[], int]]

#: How the load test names itself to the servers (application name, User-Agent, lock, key prefix).
CLIENT_NAME = f"{PROJECT}-loadtest"
DEFAULT_PG_TABLE = f"{PROJECT}_loadtest"  # the table the PostgreSQL target creates and loads


class TargetFailure(Exception):
    """An operation failed. Its text is one normalised line: Locust groups failures by it."""

    def __repr__(self) -> str:  # Locust's failure table uses repr()
        return str(self)


def describe_error(e: BaseException) -> str:
    """`OperationalError: connection failed: ... Connection refused` (first line, bounded)."""
    if isinstance(e, TargetFailure):
        return str(e)
    text = " ".join(str(e).split("\n")[0].split()) or "(no message)"
    # botocore retries suffix and connection ids vary per call: keep failure groups stable
    text = text.replace(" (reached max retries: 0)", "")
    return f"{type(e).__name__}: {text}"[:240]


class Client(ABC):
    """What one Locust user drives (locustfile.py builds it with `for_user`)."""

    @classmethod
    @abstractmethod
    def for_user(
        cls, endpoint: dict[str, Any], options: dict[str, Any], password: str | None, rng: random.Random, index: int
    ) -> Client:
        """The client of one user; `index` counts the users of `endpoint` in this process."""

    @abstractmethod
    def next_op(self) -> Op: ...

    @abstractmethod
    def reset(self) -> None:
        """Drop the connections (the next operation opens new ones)."""

    def stop(self) -> None:
        """Its user stops: release what is the user's own."""
        self.reset()


# --- PostgreSQL ---------------------------------------------------------------------------

_schema_ready: set[tuple] = set()
_schema_lock = threading.Lock()


class PostgresClient(Client):
    """Reads on the reader endpoint(s), writes on the writer, on a table the client creates.

    Operations (names as reported): `read point` (primary-key lookup), `read range`
    (aggregate over one bucket via the index), `write insert`, `write update`."""

    def __init__(
        self,
        endpoint: dict[str, Any],
        options: dict[str, Any],
        password: str | None,
        rng: random.Random | None = None,
        reader_index: int = 0,
    ):
        self.ep = endpoint
        self.opts = options
        self.password = password
        self.rng = rng or random.Random()
        readers = endpoint.get("readers") or [endpoint["writer"]]
        self.reader_addr = readers[reader_index % len(readers)]
        self.writer_addr = endpoint["writer"]
        self.table = options.get("pg_table", DEFAULT_PG_TABLE)
        self.read_ratio = float(options.get("pg_read_ratio", 0.8))
        self.seed_rows = int(options.get("pg_seed_rows", 1000))
        self.buckets = 100
        self.max_id = self.seed_rows
        self._writer = None
        self._reader = None

    @classmethod
    def for_user(cls, endpoint, options, password, rng, index):
        return cls(endpoint, options, password, rng, reader_index=index)

    # connections
    def _connect(self, addr: dict[str, Any]):
        import psycopg

        timeout = float(self.opts.get("timeout_s", 10))
        kwargs: dict[str, Any] = dict(
            host=addr["host"],
            port=int(addr["port"]),
            dbname=self.ep["dbname"],
            user=self.ep["user"],
            connect_timeout=max(1, int(min(timeout, 10))),
            application_name=CLIENT_NAME,
            sslmode="require" if self.ep.get("tls") else "disable",
            options=f"-c statement_timeout={int(timeout * 1000)}",
            autocommit=True,
        )
        if self.password is not None:
            kwargs["password"] = self.password
        return psycopg.connect(**kwargs)

    def _schema_key(self) -> tuple:
        w = self.writer_addr
        return (w["host"], int(w["port"]), self.ep["dbname"], self.table)

    def writer(self):
        if self._writer is None or self._writer.closed or self._writer.broken:
            self._writer = None
            conn = self._connect(self.writer_addr)
            try:
                self.ensure_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._writer = conn
        return self._writer

    def reader(self):
        if self._schema_key() not in _schema_ready:
            self.writer()  # creates the schema first (replicas get it through replication)
        if self.reader_addr == self.writer_addr:
            return self.writer()
        if self._reader is None or self._reader.closed or self._reader.broken:
            self._reader = None
            self._reader = self._connect(self.reader_addr)
        return self._reader

    def ensure_schema(self, conn) -> None:
        """Create and seed the table once per process (idempotent and race-free across processes
        and machines: an advisory lock serialises the check)."""
        key = self._schema_key()
        if key in _schema_ready:
            return
        from psycopg import sql

        t = sql.Identifier(self.table)
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{CLIENT_NAME}:{self.table}",))
            conn.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (id bigserial PRIMARY KEY, bucket integer NOT NULL, "
                    "name text NOT NULL, qty integer NOT NULL DEFAULT 0, payload text NOT NULL, "
                    "updated_at timestamptz NOT NULL DEFAULT now())"
                ).format(t)
            )
            conn.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (bucket)").format(
                    sql.Identifier(f"{self.table}_bucket"), t
                )
            )
            conn.execute(
                sql.SQL(
                    "INSERT INTO {} (bucket, name, qty, payload) SELECT g %% %s, 'seed-' || g, g %% 97, "
                    "repeat(md5(g::text), 4) FROM generate_series(1, %s) AS g "
                    "WHERE NOT EXISTS (SELECT 1 FROM {})"
                ).format(t, t),
                (self.buckets, self.seed_rows),
            )
            row = conn.execute(sql.SQL("SELECT coalesce(max(id), 0) FROM {}").format(t)).fetchone()
        self.max_id = max(int(row[0]), 1)
        with _schema_lock:
            _schema_ready.add(key)

    def reset(self) -> None:
        for conn in (self._writer, self._reader):
            if conn is not None:
                try:
                    conn.close()
                except Exception:
                    pass
        self._writer = self._reader = None

    def _guard(self, fn: Callable[[], int]) -> Callable[[], int]:
        def run() -> int:
            try:
                return fn()
            except Exception:
                # a dead connection is replaced on the next operation; a query error keeps it
                for attr in ("_writer", "_reader"):
                    conn = getattr(self, attr)
                    if conn is not None and (conn.closed or conn.broken):
                        setattr(self, attr, None)
                raise

        return run

    # operations
    def next_op(self) -> Op:
        from psycopg import sql

        t = sql.Identifier(self.table)
        rng = self.rng
        if rng.random() < self.read_ratio:
            if rng.random() < 0.7:

                def point() -> int:
                    rows = (
                        self.reader()
                        .execute(
                            sql.SQL("SELECT id, bucket, name, qty, payload, updated_at FROM {} WHERE id = %s").format(
                                t
                            ),
                            (rng.randint(1, max(self.max_id, 1)),),
                        )
                        .fetchall()
                    )
                    return sum(len(str(r)) for r in rows)

                return "read point", self._guard(point)

            def range_() -> int:
                rows = (
                    self.reader()
                    .execute(
                        sql.SQL(
                            "SELECT bucket, count(*), sum(qty), max(updated_at) FROM {} WHERE bucket = %s "
                            "GROUP BY bucket"
                        ).format(t),
                        (rng.randrange(self.buckets),),
                    )
                    .fetchall()
                )
                return sum(len(str(r)) for r in rows)

            return "read range", self._guard(range_)
        if rng.random() < 0.5:

            def insert() -> int:
                payload = "".join(rng.choices(string.ascii_letters, k=rng.randint(32, 256)))
                row = (
                    self.writer()
                    .execute(
                        sql.SQL(
                            "INSERT INTO {} (bucket, name, qty, payload) VALUES (%s, %s, %s, %s) RETURNING id"
                        ).format(t),
                        (rng.randrange(self.buckets), f"item-{uuid.uuid4().hex[:12]}", rng.randint(0, 100), payload),
                    )
                    .fetchone()
                )
                self.max_id = max(self.max_id, int(row[0]))
                return len(payload)

            return "write insert", self._guard(insert)

        def update() -> int:
            cur = self.writer().execute(
                sql.SQL("UPDATE {} SET qty = qty + 1, updated_at = now() WHERE id = %s").format(t),
                (rng.randint(1, max(self.max_id, 1)),),
            )
            return max(cur.rowcount, 0)

        return "write update", self._guard(update)


# --- Redis ------------------------------------------------------------------------------------


class ZipfKeys:
    """Key indexes 0..n-1 with a Zipf(s) popularity: a few hot keys, a long tail."""

    def __init__(self, n: int, s: float = 1.05):
        self.n = n
        acc = 0.0
        self.cum = []
        for k in range(1, n + 1):
            acc += 1.0 / (k**s)
            self.cum.append(acc)

    def pick(self, rng: random.Random) -> int:
        return min(bisect.bisect_left(self.cum, rng.random() * self.cum[-1]), self.n - 1)


_VALUE_BLOB = "".join(random.Random(7).choices(string.ascii_letters + string.digits, k=8192))
_zipf_cache: dict[int, ZipfKeys] = {}


def cluster_enabled(client) -> bool:
    """True when the server runs in cluster mode (`INFO cluster` -> cluster_enabled:1)."""
    info = client.info("cluster")
    return bool(int(info.get("cluster_enabled", 0)))


class RedisConnection:
    """One Redis client (a connection pool) per endpoint, shared by the users of a process.

    Cluster mode: a RedisCluster client when the server says cluster_enabled:1 (or with
    `--redis-mode cluster`), a plain Redis client otherwise (a single local redis-server)."""

    def __init__(self, endpoint: dict[str, Any], options: dict[str, Any], password: str | None):
        self.ep = endpoint
        self.opts = options
        self.password = password
        self.mode_wanted = options.get("redis_mode", "auto")
        self.client = None

    def _kwargs(self) -> dict[str, Any]:
        timeout = float(self.opts.get("timeout_s", 10))
        from redis.backoff import ExponentialWithJitterBackoff
        from redis.retry import Retry

        # one quick retry (an app's usual setting); redis-py's default retries a dead server for seconds
        kw: dict[str, Any] = dict(
            socket_timeout=timeout,
            socket_connect_timeout=min(timeout, 5),
            decode_responses=False,
            retry=Retry(ExponentialWithJitterBackoff(base=0.05, cap=0.5), 1),
        )
        if self.password is not None:
            kw["password"] = self.password
        if self.opts.get("redis_username"):
            kw["username"] = self.opts["redis_username"]
        if self.ep.get("tls"):
            kw["ssl"] = True
            if self.opts.get("tls_insecure"):
                kw["ssl_cert_reqs"] = "none"
        return kw

    def connect(self):
        import redis

        host, port = self.ep["host"], int(self.ep["port"])
        mode = self.mode_wanted
        if mode == "auto":
            probe = redis.Redis(host=host, port=port, **self._kwargs())
            try:
                mode = "cluster" if cluster_enabled(probe) else "single"
            finally:
                probe.close()
        if mode == "cluster":
            from redis.cluster import RedisCluster

            client = RedisCluster(host=host, port=port, **self._kwargs())
        else:
            client = redis.Redis(host=host, port=port, **self._kwargs())
        return client

    def get(self):
        if self.client is None:
            self.client = self.connect()
        return self.client

    def reset(self) -> None:
        client, self.client = self.client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                pass


_shared_connections: dict[str, RedisConnection] = {}


class RedisClient(Client):
    """GET/SET with a Zipf key spread over `redis_keys` keys and TTLs drawn from `redis_ttl`;
    a GET miss fills the key (cache-aside), like an application would. Pass `connection` to
    share one RedisConnection between users."""

    def __init__(
        self,
        endpoint: dict[str, Any],
        options: dict[str, Any],
        password: str | None,
        rng: random.Random | None = None,
        connection: RedisConnection | None = None,
    ):
        self.conn = connection or RedisConnection(endpoint, options, password)
        self.rng = rng or random.Random()
        self.read_ratio = float(options.get("redis_read_ratio", 0.9))
        n = int(options.get("redis_keys", 10_000))
        self.keys = _zipf_cache.get(n) or _zipf_cache.setdefault(n, ZipfKeys(n))
        self.ttl = tuple(int(x) for x in options.get("redis_ttl", (60, 3600)))
        self.size = tuple(int(x) for x in options.get("redis_value_bytes", (100, 2000)))

    @classmethod
    def for_user(cls, endpoint, options, password, rng, index):
        # one connection pool per endpoint and process (like an app server), own key stream per user
        conn = _shared_connections.get(endpoint["stack"])
        if conn is None:
            conn = _shared_connections[endpoint["stack"]] = RedisConnection(endpoint, options, password)
        return cls(endpoint, options, None, rng, connection=conn)

    def reset(self) -> None:
        self.conn.reset()

    def stop(self) -> None:
        pass  # the connection is shared: it stays for the other users

    def _value(self) -> bytes:
        n = self.rng.randint(max(self.size[0], 1), max(self.size[1], 1))
        start = self.rng.randrange(0, len(_VALUE_BLOB) - min(n, len(_VALUE_BLOB)) + 1)
        return (_VALUE_BLOB[start : start + n] * (n // len(_VALUE_BLOB) + 1))[:n].encode()

    def _key(self) -> str:
        return f"{PROJECT}:loadtest:item:{self.keys.pick(self.rng)}"

    def _guard(self, fn: Callable[[], int]) -> Callable[[], int]:
        def run() -> int:
            try:
                return fn()
            except Exception as e:
                import redis
                from redis.exceptions import RedisClusterException

                if isinstance(e, (redis.ConnectionError, redis.TimeoutError, RedisClusterException)):
                    self.conn.reset()  # reconnect (and re-detect the mode) on the next operation
                raise

        return run

    def next_op(self) -> Op:
        key = self._key()
        if self.rng.random() < self.read_ratio:

            def get() -> int:
                c = self.conn.get()
                value = c.get(key)
                if value is None:  # miss: fill it like a cache-aside reader would
                    value = self._value()
                    c.set(key, value, ex=self.rng.randint(*self.ttl))
                return len(value)

            return "get", self._guard(get)

        def set_() -> int:
            value = self._value()
            self.conn.get().set(key, value, ex=self.rng.randint(*self.ttl))
            return len(value)

        return "set", self._guard(set_)


# --- Lambda -----------------------------------------------------------------------------------------


def lambda_client(
    region: str, endpoint_url: str | None, timeout_s: float = 10, read_timeout_s: float = 60, max_pool: int = 50
):
    import boto3
    from botocore.config import Config

    cfg = Config(
        connect_timeout=min(timeout_s, 10),
        read_timeout=read_timeout_s,
        retries={"max_attempts": 1, "mode": "standard"},
        max_pool_connections=max_pool,
    )
    return boto3.client("lambda", region_name=region, endpoint_url=endpoint_url, config=cfg)


def invoke_alias(client, alias_arn: str, payload: dict[str, Any]) -> int:
    """Synchronous invoke of a published alias; a function error counts as a failure."""
    resp = client.invoke(FunctionName=alias_arn, InvocationType="RequestResponse", Payload=json.dumps(payload).encode())
    body = resp["Payload"].read() if resp.get("Payload") is not None else b""
    status = int(resp.get("StatusCode", 0))
    if resp.get("FunctionError"):
        detail = ""
        try:
            doc = json.loads(body or b"{}")
            detail = doc.get("errorType") or doc.get("errorMessage") or ""
        except (ValueError, AttributeError):
            pass
        raise TargetFailure(f"FunctionError {resp['FunctionError']}" + (f": {detail}"[:160] if detail else ""))
    if not 200 <= status < 300:
        raise TargetFailure(f"invoke returned StatusCode {status}")
    return len(body)


def function_payload(short: str, rng: random.Random) -> dict[str, Any]:
    """A realistic event for the project's functions (functions/<short>/handler.py), with a
    mix of writes and reads per function; an unknown function gets a neutral event."""
    r = rng.random()
    if short == "orders":
        if r < 0.7:
            return {"customer": f"c-{rng.randint(1, 5000)}", "total_cents": rng.randint(100, 50_000)}
        return {"order_id": rng.randint(1, 10_000)}
    if short == "catalog":
        sku = f"SKU-{rng.randint(1, 2000):05d}"
        if r < 0.2:
            return {"sku": sku, "name": f"Product {sku}", "price_cents": rng.randint(99, 99_999)}
        if r < 0.8:
            return {"sku": sku}
        return {"limit": rng.choice((10, 20, 50))}
    if short == "sessions":
        session = f"s-{rng.randint(1, 20_000)}"
        if r < 0.3:
            return {
                "session_id": session,
                "data": {"user": f"u-{rng.randint(1, 5000)}", "cart": rng.randint(0, 9)},
                "ttl": rng.choice((900, 1800, 3600)),
            }
        return {"session_id": session}
    if short == "ratelimit":
        return {"key": f"client-{min(int(rng.paretovariate(1.2)), 1000)}", "limit": 100, "window": 60}
    if short == "reports":
        return {"hours": rng.choice((1, 6, 24, 24, 168))}
    return {"source": CLIENT_NAME, "function": short, "request_id": uuid.uuid4().hex, "sent_at": time.time()}


class LambdaClient(Client):
    """Invokes every published alias of the endpoint in turn (round robin from a random start)
    with an event the function understands (function_payload)."""

    def __init__(
        self, endpoint: dict[str, Any], options: dict[str, Any], rng: random.Random | None = None, client=None
    ):
        self.ep = endpoint
        self.opts = options
        self.rng = rng or random.Random()
        self.client = client
        names = sorted(endpoint["functions"])
        start = self.rng.randrange(len(names))
        self._cycle = itertools.cycle(names[start:] + names[:start])

    @classmethod
    def for_user(cls, endpoint, options, password, rng, index):
        return cls(endpoint, options, rng)

    def _c(self):
        if self.client is None:
            self.client = lambda_client(
                self.ep["region"],
                self.opts.get("endpoint_url"),
                float(self.opts.get("timeout_s", 10)),
                float(self.opts.get("lambda_timeout_s", 60)),
            )
        return self.client

    def next_op(self) -> Op:
        short = next(self._cycle)
        arn = self.ep["functions"][short]
        return f"invoke {short}", lambda: invoke_alias(self._c(), arn, function_payload(short, self.rng))

    def reset(self) -> None:
        pass


# --- HTTP ----------------------------------------------------------------------------------------------


class HttpClient(Client):
    """GETs through the NLB; a status >= 400 is a failure."""

    def __init__(self, endpoint: dict[str, Any], options: dict[str, Any], rng: random.Random | None = None):
        import requests

        self.ep = endpoint
        self.opts = options
        self.rng = rng or random.Random()
        self.paths = list(options.get("http_paths") or ["/"])
        self.session = requests.Session()
        self.session.headers["User-Agent"] = CLIENT_NAME
        if options.get("tls_insecure"):
            self.session.verify = False

    @classmethod
    def for_user(cls, endpoint, options, password, rng, index):
        return cls(endpoint, options, rng)

    def next_op(self) -> Op:
        path = self.rng.choice(self.paths)
        url = self.ep["base_url"] + path
        timeout = float(self.opts.get("timeout_s", 10))

        def get() -> int:
            resp = self.session.get(url, timeout=(min(timeout, 5), timeout))
            body = resp.content
            if resp.status_code >= 400:
                raise TargetFailure(f"HTTP {resp.status_code}")
            return len(body)

        return f"GET {path}", get

    def reset(self) -> None:
        self.session.close()
