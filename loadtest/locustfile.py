"""Locust user classes of the rightsize load test: one class per target, made from its descriptor.

Run by loadtest.runner as `python -m locust -f <this file> --headless ...` in its own process
(Locust monkey-patches the process with gevent). The plan comes from $LOADTEST_PLAN (JSON, see
plan.Plan.to_json), the credentials from $LOADTEST_SECRETS (JSON, secret id -> value).

Every operation is reported as request type = the target (`postgres`, `redis`, `lambda`,
`http`) and name = `<stack> <operation>`. An operation that raises is a failure with a
one-line reason; nothing a server does can end a user. At the end the master (or the only
process) writes per-target totals to $LOADTEST_RESULT.
"""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import random
import time

from locust import User, between, events, task
from locust.runners import WorkerRunner

from loadtest.plan import DESCRIPTORS, Target
from loadtest.targets import Client, TargetFailure, describe_error

log = logging.getLogger("loadtest")

PLAN = json.loads(os.environ.get("LOADTEST_PLAN") or '{"targets": {}, "users": {}, "options": {}}')
SECRETS = json.loads(os.environ.get("LOADTEST_SECRETS") or "{}")
OPTS = PLAN.get("options", {})
_WAIT = tuple(OPTS.get("wait", (0.1, 0.5)))

_counters: dict[str, itertools.count] = {}
_ENV = None


def _next_index(target: str, start: int = 0) -> int:
    """Round robin per process; a worker starts at its index so workers cover every endpoint."""
    return next(_counters.setdefault(target, itertools.count(start)))


class _TargetUser(User):
    """Base: picks its endpoint round robin, runs the client's next operation, reports it."""

    abstract = True
    target = ""
    client_type: type[Client]  # set per target from its descriptor
    wait_time = between(*_WAIT)

    def on_start(self) -> None:
        self.rng = random.Random()
        self.client_obj: Client | None = None
        self.stack = "-"
        self.unconfigured: str | None = None
        spec = (PLAN.get("targets") or {}).get(self.target)
        if not spec or not spec.get("endpoints"):
            self.unconfigured = f"{self.target} is not configured in this process's plan"
            return
        i = _next_index(self.target, int(getattr(self.environment.runner, "worker_index", 0) or 0))
        endpoints = spec["endpoints"]
        ep = endpoints[i % len(endpoints)]
        self.stack = ep["stack"]
        try:
            password = SECRETS.get(ep.get("secret_id"))
            self.client_obj = self.client_type.for_user(ep, OPTS, password, self.rng, i // len(endpoints))
        except Exception as e:  # e.g. a client library that fails to import here
            self.unconfigured = describe_error(e)

    def on_stop(self) -> None:
        if self.client_obj is not None:
            try:
                self.client_obj.stop()
            except Exception:
                pass

    def _report(self, name: str, started: float, length: int, exc: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type=self.target,
            name=f"{self.stack} {name}",
            response_time=(time.perf_counter() - started) * 1000.0,
            response_length=length,
            exception=exc,
            context={},
            response=None,
        )

    @task
    def operate(self) -> None:
        started = time.perf_counter()
        if self.client_obj is None:
            self._report("setup", started, 0, TargetFailure(self.unconfigured or "no client"))
            return
        try:
            name, fn = self.client_obj.next_op()
        except Exception as e:
            self._report("setup", started, 0, TargetFailure(describe_error(e)))
            return
        started = time.perf_counter()
        try:
            length = fn()
        except Exception as e:
            self._report(name, started, 0, TargetFailure(describe_error(e)))
        else:
            self._report(name, started, int(length or 0), None)


def _user_class(target: Target) -> type[_TargetUser]:
    attrs = {
        "target": target.name.value,
        "client_type": target.client,
        "fixed_count": int((PLAN.get("users") or {}).get(target.name, 0)),
        "__module__": __name__,
    }
    return type(target.user_class, (_TargetUser,), attrs)


# Locust finds the user classes among the module's names (the runner names them on its command line).
globals().update({t.user_class: _user_class(t) for t in DESCRIPTORS.values()})


# --- per-target totals at the end -------------------------------------------------------------------


@events.init.add_listener
def _on_init(environment, **_kw) -> None:
    global _ENV
    _ENV = environment


@events.quit.add_listener
def _on_quit(exit_code, **_kw) -> None:
    env = _ENV
    if env is None or env.runner is None or isinstance(env.runner, WorkerRunner):
        return
    path = os.environ.get("LOADTEST_RESULT")
    if path:
        try:
            write_result(env, path, exit_code)
        except Exception as e:  # the CSV files still exist; the runner falls back to them
            log.error("could not write %s: %s", path, describe_error(e))
    prefix = getattr(env.parsed_options, "csv_prefix", None) if env.parsed_options else None
    if prefix:
        # Locust's CSV writer refreshes once a second and stops before the last operations
        # finish; rewrite the final tables after it has closed its files (atexit runs later).
        atexit.register(_rewrite_final_csv, env, prefix)


def _rewrite_final_csv(env, prefix: str) -> None:
    import csv

    from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

    try:
        writer = StatsCSV(env, PERCENTILES_TO_REPORT)
        for suffix, method in (
            ("_stats.csv", writer.requests_csv),
            ("_failures.csv", writer.failures_csv),
            ("_exceptions.csv", writer.exceptions_csv),
        ):
            with open(prefix + suffix, "w", newline="") as f:
                method(csv.writer(f))
    except Exception as e:  # keep Locust's own (slightly early) files
        log.error("could not rewrite the final CSV files: %s", describe_error(e))


def write_result(env, path: str, exit_code: int) -> None:
    from locust.stats import StatsEntry

    stats = env.runner.stats
    targets: dict[str, dict] = {}
    for (_name, method), entry in stats.entries.items():
        agg = targets.get(method)
        if agg is None:
            agg = targets[method] = {
                "entry": StatsEntry(stats, method, method, use_response_times_cache=False),
                "operations": [],
            }
        agg["entry"].extend(entry)
        agg["operations"].append(_entry_dict(entry))
    out = {
        "exit_code": exit_code,
        "start_time": stats.total.start_time,
        "last_request": stats.total.last_request_timestamp,
        "targets": {},
    }
    for method, agg in targets.items():
        d = _entry_dict(agg["entry"])
        d["operations"] = sorted(agg["operations"], key=lambda o: o["name"])
        d["errors"] = sorted(
            (
                {"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                for e in stats.errors.values()
                if e.method == method
            ),
            key=lambda e: -e["occurrences"],
        )
        out["targets"][method] = d
    for method in {e.method for e in stats.errors.values()} - set(targets):
        out["targets"][method] = {
            "name": method,
            "requests": 0,
            "failures": 0,
            "errors": [
                {"name": e.name, "error": str(e.error), "occurrences": e.occurrences}
                for e in stats.errors.values()
                if e.method == method
            ],
        }
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def _entry_dict(e) -> dict:
    def pct(p: float):
        return e.get_response_time_percentile(p) if e.num_requests else None

    return {
        "name": e.name,
        "requests": e.num_requests,
        "failures": e.num_failures,
        "avg_ms": e.avg_response_time if e.num_requests else None,
        "min_ms": e.min_response_time if e.num_requests else None,
        "max_ms": e.max_response_time if e.num_requests else None,
        "p50_ms": pct(0.5),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
        "rps": e.total_rps,
        "bytes": e.total_content_length,
    }
