"""A moto server on 127.0.0.1 with the Lambda APIs moto 5.2 lacks.

moto answers 404 to provisioned concurrency and GetAccountSettings. The simulated account needs
them (provisioned concurrency is this staging bill's largest item), so this module teaches moto's
Lambda backend both, in memory, with the request and response shapes of the real API. The
server runs in a child process: `python -m analysis.sim.motoserver --port N --parent PID`; it
exits on its own when that parent dies, even by kill -9 (a watchdog polls its parent pid).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ACCOUNT_CONCURRENCY_LIMIT = 1000  # AWS default per region
SEED = 20261101
WATCHDOG_INTERVAL = 0.5  # s between the server's checks that its parent is alive


def _patch_lambda() -> None:
    from moto.awslambda import urls
    from moto.awslambda.responses import LambdaResponse

    fn = r"{0}/(?P<api_version>[^/]+)/functions/(?P<function_name>[\w_:%-]+)/provisioned-concurrency"
    urls.url_paths[fn + r"/?$"] = LambdaResponse.dispatch
    urls.url_paths[r"{0}/(?P<api_version>[^/]+)/account-settings/?$"] = LambdaResponse.dispatch

    def reply(status: int, body: dict | None, **headers: str):
        # moto takes the HTTP status from the "status" header of a handler's response
        return status, {"status": status, **headers}, json.dumps(body) if body is not None else ""

    def store(self) -> dict:
        if not hasattr(self.backend, "_provisioned"):
            self.backend._provisioned = {}
        return self.backend._provisioned

    def function_name(self) -> str:
        return self.uri_match.group("FunctionName") if self.uri_match else self.path.split("/")[3]

    def config(self, name: str, qualifier: str) -> dict:
        fn_obj = self.backend.get_function(name)  # raises the real ResourceNotFound
        requested = store(self)[(fn_obj.function_name, qualifier)]
        return {
            "RequestedProvisionedConcurrentExecutions": requested,
            "AvailableProvisionedConcurrentExecutions": requested,
            "AllocatedProvisionedConcurrentExecutions": requested,
            "Status": "READY",
            "LastModified": "2026-01-01T00:00:00.000+0000",
            "FunctionArn": f"{fn_obj.function_arn}:{qualifier}",
        }

    def not_found(name: str, qualifier: str):
        body = {
            "Type": "User",
            "message": f"No Provisioned Concurrency Config found for this function: {name}:{qualifier}",
        }
        return reply(404, body, **{"x-amzn-errortype": "ProvisionedConcurrencyConfigNotFoundException"})

    def put_provisioned_concurrency_config(self):
        name, qualifier = function_name(self), self.querystring["Qualifier"][0]
        self.backend.get_function(name)
        store(self)[(self.backend.get_function(name).function_name, qualifier)] = int(
            json.loads(self.body)["ProvisionedConcurrentExecutions"]
        )
        return reply(202, config(self, name, qualifier))

    def get_provisioned_concurrency_config(self):
        if "Qualifier" not in self.querystring:  # same URI as the List call (`?List=ALL`)
            return list_provisioned_concurrency_configs(self)
        name, qualifier = function_name(self), self.querystring["Qualifier"][0]
        try:
            return reply(200, config(self, name, qualifier))
        except KeyError:
            return not_found(name, qualifier)

    def delete_provisioned_concurrency_config(self):
        name, qualifier = function_name(self), self.querystring["Qualifier"][0]
        store(self).pop((self.backend.get_function(name).function_name, qualifier), None)
        return reply(204, None)

    def list_provisioned_concurrency_configs(self):
        name = self.backend.get_function(function_name(self)).function_name
        items = [config(self, name, q) for (f, q) in sorted(store(self)) if f == name]
        return reply(200, {"ProvisionedConcurrencyConfigs": items})

    def get_account_settings(self):
        reserved = sum(int(f.reserved_concurrency or 0) for f in self.backend.list_functions())
        return reply(
            200,
            {
                "AccountLimit": {
                    "ConcurrentExecutions": ACCOUNT_CONCURRENCY_LIMIT,
                    "CodeSizeUnzipped": 262144000,
                    "CodeSizeZipped": 52428800,
                    "TotalCodeSize": 80530636800,
                    "UnreservedConcurrentExecutions": ACCOUNT_CONCURRENCY_LIMIT - reserved,
                },
                "AccountUsage": {"FunctionCount": len(self.backend.list_functions()), "TotalCodeSize": 0},
            },
        )

    for f in (
        put_provisioned_concurrency_config,
        get_provisioned_concurrency_config,
        delete_provisioned_concurrency_config,
        list_provisioned_concurrency_configs,
        get_account_settings,
    ):
        setattr(LambdaResponse, f.__name__, f)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _same_code_env() -> dict[str, str]:
    """The environment with this checkout first on PYTHONPATH: the server runs the code its
    parent runs, whatever the working directory."""
    root = str(Path(__file__).resolve().parents[2])
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}


@contextmanager
def running(port: int | None = None, timeout: float = 30.0) -> Iterator[str]:
    """Start the patched moto server in a child process; yield its endpoint URL; stop it."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "analysis.sim.motoserver", "--port", str(port), "--parent", str(os.getpid())],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=_same_code_env(),
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=2).read()
                break
            except OSError as e:
                if proc.poll() is not None or time.monotonic() > deadline:
                    err = proc.stderr.read().decode(errors="replace").strip().splitlines() if proc.stderr else []
                    raise RuntimeError(
                        f"simulated account: moto server did not start on {url}: {err[-1] if err else 'timed out'}"
                    ) from e
                time.sleep(0.1)
        # moto's IDs (vpc-..., nat-..., lt-...) come from a seedable generator: same run, same IDs
        urllib.request.urlopen(urllib.request.Request(f"{url}/moto-api/seed?a={SEED}", method="POST"), timeout=5).read()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def orphaned(parent: int) -> bool:
    """True once `parent` is no longer this process's parent (it died; init or a subreaper
    adopted us)."""
    return os.getppid() != parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--parent", type=int, help="exit when this process is no longer the parent")
    args = parser.parse_args()
    _patch_lambda()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=args.port, verbose=False)
    server.start()
    try:
        while not (args.parent and orphaned(args.parent)):
            time.sleep(WATCHDOG_INTERVAL)
    except KeyboardInterrupt:
        pass
    server.stop()


if __name__ == "__main__":
    main()
