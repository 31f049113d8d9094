"""The Lambda target. moto's invoke runs function code only in Docker (none here), so:
- the invoke request itself is checked with botocore's Stubber (function = the alias ARN,
  RequestResponse, a JSON payload) and a function error is a failure;
- a real run drives moto's server over HTTP (`--endpoint-url`) with moto's Docker-free Lambda
  backend, which answers each invoke with its payload (the function code does not run);
- moto's default (Docker) backend answers 500: the error path, counted, never fatal;
- an unreachable endpoint is counted too, and a missing library / missing output is skipped.
"""

from __future__ import annotations

import importlib.util
import io
import json
import random
import sys
from pathlib import Path

import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber
from loadtest_servers import free_port, write_outputs

import loadtest
from loadtest import plan as plan_mod
from loadtest.targets import LambdaClient, TargetFailure, function_payload, lambda_client

ARN = "arn:aws:lambda:us-east-1:123456789012:function:rightsize-staging-orders:live"
ENDPOINT = {"stack": "serverless-us-east-1", "region": "us-east-1", "label": "x", "functions": {"orders": ARN}}


def _body(doc) -> StreamingBody:
    raw = json.dumps(doc).encode()
    return StreamingBody(io.BytesIO(raw), len(raw))


def test_invoke_request_shape_with_stubber(aws_env):
    client = lambda_client("us-east-1", None)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": _body({"ok": True}), "ExecutedVersion": "3"},
            {"FunctionName": ARN, "InvocationType": "RequestResponse", "Payload": ANY},
        )
        name, fn = LambdaClient(ENDPOINT, {}, random.Random(1), client=client).next_op()
        assert name == "invoke orders"
        assert fn() == len(json.dumps({"ok": True}))
        stub.assert_no_pending_responses()


def test_invoke_payload_is_json_for_the_function(aws_env):
    client = lambda_client("us-east-1", None)
    seen = {}

    def capture(params, **kw):
        seen.update(json.loads(params["Payload"]))

    client.meta.events.register("provide-client-params.lambda.Invoke", capture)
    with Stubber(client) as stub:
        stub.add_response("invoke", {"StatusCode": 200, "Payload": _body({})})
        LambdaClient(ENDPOINT, {}, random.Random(1), client=client).next_op()[1]()
    assert set(seen) in ({"customer", "total_cents"}, {"order_id"})  # an orders event


def test_function_error_is_a_failure(aws_env):
    client = lambda_client("us-east-1", None)
    with Stubber(client) as stub:
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": _body({"errorType": "ValueError", "errorMessage": "boom"}),
            },
        )
        _, fn = LambdaClient(ENDPOINT, {}, client=client).next_op()
        with pytest.raises(TargetFailure, match="FunctionError Unhandled: ValueError"):
            fn()
    with Stubber(client) as stub:
        stub.add_client_error("invoke", "TooManyRequestsException", "Rate exceeded", 429)
        _, fn = LambdaClient(ENDPOINT, {}, client=client).next_op()
        with pytest.raises(Exception, match="TooManyRequestsException"):
            fn()


def test_run_invokes_every_alias_through_moto_server(tmp_path, moto_server):
    moto_server.simple_lambda()
    aliases = moto_server.create_aliases(("orders", "catalog", "sessions"))
    outputs = write_outputs(tmp_path / "outputs.json", lambda_aliases=aliases)
    summary = loadtest.run(
        outputs,
        duration_s=3,
        users=3,
        spawn_rate=10,
        out_dir=tmp_path / "out",
        endpoint_url=moto_server.url,
        echo=False,
    )
    s = summary.targets["lambda"]
    assert s.status == "ran" and s.requests > 0 and s.failures == 0, s.errors
    assert {o["name"] for o in s.operations} == {f"serverless-local invoke {k}" for k in aliases}
    # the server saw the invokes, on the alias (qualified) ARNs
    assert sum(moto_server.invokes.values()) >= s.requests
    for short in aliases:
        assert any(
            f"rightsize-test-{short}:live" in p or f"rightsize-test-{short}%3Alive" in p for p in moto_server.invokes
        ), moto_server.invokes
    assert {t for t in summary.skipped} == {"postgres", "redis", "http"}


def test_docker_backend_errors_are_counted(tmp_path, moto_server):
    aliases = moto_server.create_aliases(("orders",))  # default moto backend: invoke needs Docker -> 500
    outputs = write_outputs(tmp_path / "outputs.json", lambda_aliases=aliases)
    summary = loadtest.run(
        outputs,
        duration_s=2,
        users=1,
        spawn_rate=10,
        out_dir=tmp_path / "out",
        endpoint_url=moto_server.url,
        echo=False,
    )
    s = summary.targets["lambda"]
    assert s.requests == s.failures > 0
    assert "500" in s.errors[0]["error"]
    assert (tmp_path / "out" / "summary.json").is_file()


def test_unreachable_endpoint_is_counted(tmp_path, aws_env):
    outputs = write_outputs(tmp_path / "outputs.json", lambda_aliases={"orders": ARN})
    summary = loadtest.run(
        outputs,
        duration_s=2,
        users=1,
        spawn_rate=10,
        out_dir=tmp_path / "out",
        endpoint_url=f"http://127.0.0.1:{free_port()}",
        echo=False,
        timeout_s=2,
    )
    s = summary.targets["lambda"]
    assert s.requests == s.failures > 0
    assert "EndpointConnectionError" in s.errors[0]["error"]


def test_lambda_skipped_without_output_or_library(tmp_path, monkeypatch, aws_env):
    outputs = write_outputs(tmp_path / "outputs.json", extra={"serverless-local": {"serverless_function_names": {}}})
    plan = plan_mod.build_plan(
        plan_mod.load_outputs(outputs), plan_mod.Options(users=1, mix=plan_mod.parse_mix("lambda=1"))
    )
    assert plan.skipped["lambda"] == "no stack in the outputs has serverless_function_aliases"
    assert plan.active == []

    outputs = write_outputs(tmp_path / "outputs2.json", lambda_aliases={"orders": ARN})
    real = plan_mod.importlib.util.find_spec
    monkeypatch.setattr(
        plan_mod.importlib.util, "find_spec", lambda name, *a: None if name == "boto3" else real(name, *a)
    )
    summary = loadtest.run(outputs, duration_s=1, users=1, out_dir=tmp_path / "out", echo=False)
    assert summary.targets["lambda"].status == "skipped"
    assert summary.targets["lambda"].reason == "python package 'boto3' is not installed"
    assert summary.ran == [] and (tmp_path / "out" / "summary.json").is_file()


FUNCTIONS = Path(__file__).resolve().parents[2] / "functions"


class _FakeDB:
    def query(self, sql, params=()):
        if "to_regclass" in sql:
            return [("t",)]
        if "RETURNING id" in sql:
            return [("1",)]
        if sql.startswith("SELECT count(*)"):
            return [("3", "4500", "2")]
        return []

    def close(self):
        pass


class _FakeRedis:
    def execute(self, *args):
        return {"INCR": 1, "EXPIRE": 1, "SET": "OK"}.get(args[0])

    def close(self):
        pass


@pytest.fixture
def function_modules(monkeypatch):
    """The project's Lambda handlers with their PostgreSQL/Redis connections faked."""
    if not FUNCTIONS.is_dir():
        pytest.skip("no functions/ directory")
    monkeypatch.syspath_prepend(str(FUNCTIONS))
    before = set(sys.modules)
    loaded = {}

    def load(short):
        path = FUNCTIONS / short / "handler.py"
        if not path.exists():
            pytest.skip(f"functions/{short}/handler.py not found")
        spec = importlib.util.spec_from_file_location(f"_loadtest_fn_{short}", path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        monkeypatch.setattr(mod.config, "postgres", lambda: _FakeDB())
        monkeypatch.setattr(mod.config, "redis", lambda: _FakeRedis())
        loaded[short] = mod
        return mod

    yield load
    for name in set(sys.modules) - before:
        if name == "lib" or name.startswith("lib.") or name.startswith("_loadtest_fn_"):
            del sys.modules[name]


@pytest.mark.parametrize("short", ["orders", "catalog", "sessions", "ratelimit", "reports"])
def test_events_fit_the_project_functions(short, function_modules):
    """Every event the load test sends is one the function accepts (no KeyError, a result)."""
    mod = function_modules(short)
    rng = random.Random(5)
    shapes = set()
    for _ in range(300):
        event = function_payload(short, rng)
        json.dumps(event)  # what goes over the wire
        result = mod.handler(event)
        assert isinstance(result, dict)
        shapes.add(tuple(sorted(event)))
    if short in ("orders", "catalog", "sessions"):
        assert len(shapes) >= 2  # reads and writes
