import pytest
from loadtest_servers import HttpServer, MotoServer, PostgresServer, RedisServer


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


@pytest.fixture
def aws_env(monkeypatch):
    """Fake credentials: nothing may reach real AWS."""
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def moto_server(aws_env):
    server = MotoServer()
    yield server
    server.close()
