import pytest

from loadtest_servers import HttpServer, PostgresServer, RedisServer


@pytest.fixture(scope="session")
def pg_server():
    server = PostgresServer()
    yield server
    server.close()


@pytest.fixture(scope="session")
def redis_server():
    server = RedisServer()
    yield server
    server.close()


@pytest.fixture
def http_server():
    server = HttpServer()
    yield server
    server.close()


@pytest.fixture
def server_env(monkeypatch, pg_server, redis_server):
    """Credentials the way an operator gives them locally: env vars."""
    monkeypatch.setenv("PGPASSWORD", pg_server.password)
    monkeypatch.setenv("REDIS_PASSWORD", redis_server.password)
