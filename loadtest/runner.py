"""Run Locust headless in a subprocess and turn its results into a Summary.

Why a subprocess: Locust monkey-patches the whole process with gevent at import; the caller
(the CLI, or `python -m analysis run --load-test`) keeps its own process clean and can always
stop a run that overstays (SIGINT, then SIGKILL of the process group).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .plan import (
    DESCRIPTORS,
    TARGETS,
    LoadTestError,
    Options,
    Plan,
    UsageError,
    build_plan,
    load_outputs,
    parse_duration,
    parse_mix,
)
from .summary import Summary, TargetSummary, fill_target, target_stats_from_csv, target_stats_from_result

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
PACKAGE_ROOT = Path(__file__).resolve().parent.parent

#: Locust's output files, relative to the out dir.
CSV_PREFIX = "locust"
FILES = {
    "stats_csv": "locust_stats.csv",
    "failures_csv": "locust_failures.csv",
    "exceptions_csv": "locust_exceptions.csv",
    "history_csv": "locust_stats_history.csv",
    "html": "locust_report.html",
    "log": "locust.log",
    "result_json": "locust_targets.json",
}
STOP_TIMEOUT_S = 3  # in-flight operations may finish this long after the run time
STARTUP_GRACE_S = 60  # Locust start-up (imports, workers connecting) before the run clock starts
EXPECT_WORKERS_MAX_WAIT_S = 120


def make_options(
    duration_s: Any = 60,
    users: int = 10,
    spawn_rate: float = 5,
    mix: Any = None,
    out_dir: str | os.PathLike = "reports/loadtest",
    endpoint_url: str | None = None,
    **overrides: Any,
) -> Options:
    fields = {f.name for f in dataclasses.fields(Options)}
    unknown = set(overrides) - fields
    if unknown:
        raise UsageError(f"unknown load-test option(s): {', '.join(sorted(unknown))}")
    return Options(
        duration_s=parse_duration(duration_s),
        users=users,
        spawn_rate=float(spawn_rate),
        mix=parse_mix(mix),
        out_dir=str(out_dir),
        endpoint_url=endpoint_url or None,
        **overrides,
    )


def run(
    outputs_path: str | os.PathLike,
    duration_s: Any = 60,
    users: int = 10,
    spawn_rate: float = 5,
    mix: Any = None,
    out_dir: str | os.PathLike = "reports/loadtest",
    endpoint_url: str | None = None,
    *,
    expect_workers: int = 0,
    locust_args: Sequence[str] = (),
    echo: TextIO | bool | None = True,
    **options: Any,
) -> Summary:
    """Drive load at the environment in `outputs_path` for `duration_s`, then summarise.

    `mix`: weights per target (`"postgres=3,redis=5,lambda=1,http=1"` or a dict); `duration_s`:
    seconds or `"30s"`/`"5m"`; `endpoint_url`: an AWS-compatible endpoint for Lambda and Secrets
    Manager. `expect_workers` > 0 runs Locust as a master that waits for that many workers
    (`python -m loadtest --worker ...`); `locust_args` pass through to Locust. Other keyword
    arguments are `plan.Options` fields (tls, pg_read_ratio, redis_keys, ...). `echo`: where
    Locust's live stats go (True: stdout, False/None: only the log file).

    Returns the Summary (also written to `out_dir`: summary.json/.csv/.txt, plus Locust's
    locust_stats.csv, locust_failures.csv, locust_report.html and locust.log). Connection errors
    are counted in the summary, not raised. Raises UsageError for bad arguments and
    LoadTestError when the outputs file is unreadable or Locust cannot run at all."""
    opts = make_options(duration_s, users, spawn_rate, mix, out_dir, endpoint_url, **options)
    if int(expect_workers) < 0:
        raise UsageError("expect_workers must be >= 0")
    plan = build_plan(load_outputs(outputs_path), opts)
    return run_plan(plan, expect_workers=int(expect_workers), locust_args=locust_args, echo=echo)


def _echo_stream(echo: TextIO | bool | None) -> TextIO | None:
    if echo is True:
        return sys.stdout
    return echo or None


def _say(stream: TextIO | None, line: str) -> None:
    if stream is not None:
        print(line, file=stream, flush=True)


def run_plan(
    plan: Plan, *, expect_workers: int = 0, locust_args: Sequence[str] = (), echo: TextIO | bool | None = True
) -> Summary:
    opts = plan.options
    stream = _echo_stream(echo)
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name in list(FILES.values()) + ["summary.json", "summary.csv", "summary.txt"]:
        (out / name).unlink(missing_ok=True)

    for line in plan.describe() + plan.notes:
        _say(stream, f"loadtest: {line}")
    summary = Summary(
        targets={t: TargetSummary(t, "skipped", reason=plan.skipped.get(t)) for t in TARGETS},
        duration_s=opts.duration_s,
        elapsed_s=0.0,
        users=sum(plan.users.values()),
        spawn_rate=opts.spawn_rate,
        mix=dict(opts.mix),
        out_dir=str(out),
        mode="master" if expect_workers else "local",
        notes=list(plan.notes),
    )
    for t in plan.active:
        endpoints = [e["label"] for e in (plan.targets[t] or {})["endpoints"]]
        summary.targets[t] = TargetSummary(t, "ran", endpoints=endpoints, users=plan.users[t])
    if not plan.active:
        summary.notes.append("no target to load: nothing ran")
        summary.write(out)
        _say(stream, summary.table())
        return summary

    duration = int(math.ceil(opts.duration_s))
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        *[DESCRIPTORS[t].user_class for t in plan.active],
        "--headless",
        "-u",
        str(summary.users),
        "-r",
        _num(opts.spawn_rate),
        "-t",
        f"{duration}s",
        "--stop-timeout",
        str(STOP_TIMEOUT_S),
        "--csv",
        str(out / CSV_PREFIX),
        "--html",
        str(out / FILES["html"]),
        "--exit-code-on-error",
        "0",
    ]
    if expect_workers:
        cmd += [
            "--master",
            "--expect-workers",
            str(expect_workers),
            "--expect-workers-max-wait",
            str(EXPECT_WORKERS_MAX_WAIT_S),
        ]
    cmd += list(locust_args)
    deadline = STARTUP_GRACE_S + duration + STOP_TIMEOUT_S + 30 + (EXPECT_WORKERS_MAX_WAIT_S if expect_workers else 0)

    started = time.monotonic()
    code, status = _run_locust(cmd, plan, out, stream, deadline, result_path=out / FILES["result_json"])
    summary.elapsed_s = round(time.monotonic() - started, 2)
    summary.locust_exit_code = code
    if status == "timed out":
        summary.notes.append(f"locust did not stop within {deadline}s: stopped by the runner")
    elif status == "interrupted":
        summary.notes.append("interrupted: the summary covers the run up to the interruption")

    result = {}
    result_path = out / FILES["result_json"]
    if result_path.exists():
        try:
            result = json.loads(result_path.read_text())
        except (OSError, json.JSONDecodeError):
            result = {}
    per_target = target_stats_from_result(result)
    if not per_target:
        per_target = target_stats_from_csv(out / FILES["stats_csv"], out / FILES["failures_csv"])
        if per_target:
            summary.notes.append("per-target percentiles unavailable (summed from Locust's CSV)")
    if not per_target and not (out / FILES["stats_csv"]).exists():
        if status == "interrupted":
            raise KeyboardInterrupt
        raise LoadTestError(f"locust exited with code {code} without results; see {out / FILES['log']}")
    for t in plan.active:
        fill_target(summary.targets[t], per_target.get(t, {}))
    summary.files = {k: str(out / v) for k, v in FILES.items() if (out / v).exists()}
    summary.write(out)
    _say(stream, summary.table())
    if status == "interrupted":  # summary written; the caller still learns about the Ctrl-C
        raise KeyboardInterrupt
    return summary


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def locust_env(plan: Plan, result_path: Path | None) -> dict[str, str]:
    env = dict(os.environ)
    env["LOADTEST_PLAN"] = plan.to_json()
    env["LOADTEST_SECRETS"] = json.dumps(plan.secrets)
    if result_path is not None:
        env["LOADTEST_RESULT"] = str(result_path)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PACKAGE_ROOT), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_locust(
    cmd: list[str], plan: Plan, out: Path, stream: TextIO | None, deadline: float | None, result_path: Path | None
) -> tuple[int, str]:
    """Run Locust, tee its output to `stream` and out/locust.log; stop it at `deadline` seconds
    or on Ctrl-C. Returns (exit code, "ok" | "timed out" | "interrupted")."""
    log_path = out / FILES["log"]
    with log_path.open("w") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(
            cmd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=locust_env(plan, result_path),
            start_new_session=True,
            text=True,
            errors="replace",
            bufsize=1,
        )

        def pump() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if stream is not None:
                    try:
                        stream.write(line)
                        stream.flush()
                    except (OSError, ValueError):
                        pass

        reader = threading.Thread(target=pump, name="locust-output", daemon=True)
        reader.start()
        status = "ok"
        try:
            proc.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            status = "timed out"
            _stop(proc)
        except KeyboardInterrupt:
            status = "interrupted"
            _stop(proc)
        reader.join(timeout=10)
    return proc.returncode, status


def _stop(proc: subprocess.Popen) -> None:
    """SIGINT (Locust writes its reports), then SIGKILL of the whole process group."""
    for sig, wait in ((signal.SIGINT, 20), (signal.SIGKILL, 10)):
        if proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def run_worker(
    outputs_path: str | os.PathLike,
    master_host: str,
    master_port: int = 5557,
    *,
    locust_args: Sequence[str] = (),
    echo: TextIO | bool | None = True,
    **options: Any,
) -> int:
    """A Locust worker for a master started by `run(..., expect_workers=N)` on another machine.

    It reads its own outputs file and credentials (nothing secret crosses the wire); the master
    decides users, spawn rate, mix and duration. Returns Locust's exit code."""
    fields = {f.name for f in dataclasses.fields(Options)}
    unknown = set(options) - fields
    if unknown:
        raise UsageError(f"unknown load-test option(s): {', '.join(sorted(unknown))}")
    options.setdefault("out_dir", "reports/loadtest-worker")
    opts = Options(**options)
    plan = build_plan(load_outputs(outputs_path), opts, lenient_users=True)
    stream = _echo_stream(echo)
    for line in plan.describe(worker=True) + plan.notes:
        _say(stream, f"loadtest worker: {line}")
    out = Path(opts.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--worker",
        "--master-host",
        master_host,
        "--master-port",
        str(master_port),
        *locust_args,
    ]
    code, status = _run_locust(cmd, plan, out, stream, None, None)
    if status == "interrupted":
        raise KeyboardInterrupt
    return code
