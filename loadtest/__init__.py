"""Load test: Locust load on PostgreSQL, Redis, Lambda and HTTP from the stack outputs.

    import loadtest
    summary = loadtest.run("outputs.json", duration_s=60, users=10, spawn_rate=5,
                           mix="postgres=3,redis=5,lambda=1,http=1", out_dir="reports/loadtest")
    summary.targets["postgres"].requests, .failures, .error_rate; summary.files["summary_json"]

Importing this package imports neither Locust nor gevent: Locust runs in a subprocess.
"""

from .plan import TARGETS, LoadTestError, Options, UsageError
from .runner import run, run_worker
from .summary import Summary, TargetSummary

__all__ = ["TARGETS", "LoadTestError", "Options", "Summary", "TargetSummary", "UsageError", "run", "run_worker"]
