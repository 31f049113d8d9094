"""`python -m loadtest`: drive load at the environment described by the stack outputs.

Exit codes: 0 the run finished (its failures are in the summary), 1 it could not run (outputs
unreadable, Locust failed, no target to load, or --max-error-rate exceeded), 2 usage error,
130 interrupted.
"""

from __future__ import annotations

import argparse
import sys

from .plan import (
    DESCRIPTORS,
    TARGETS,
    LoadTestError,
    Options,
    UsageError,
    build_plan,
    load_outputs,
    parse_range,
)

DEFAULTS = Options()


#: The targets that take a password, by title, with where it comes from.
CREDENTIALS = {t.title: t.credential for t in DESCRIPTORS.values() if t.credential is not None}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loadtest",
        description=f"Locust load on {', '.join(t.title for t in DESCRIPTORS.values())} from the stack outputs "
        "JSON written by `cdktf output --outputs-file`.",
        epilog="Arguments after `--` go to Locust unchanged (e.g. `-- --master-bind-port 5600`). "
        "Exit codes: 0 finished (failures are in the summary), 1 could not run, 2 usage error.",
    )
    p.add_argument("--outputs", required=True, metavar="FILE", help="stack outputs JSON ({stack: {output: value}})")
    run = p.add_argument_group("run")
    run.add_argument("--duration", default="60s", help="run time: 30s, 5m, 1h30m or seconds (default 60s)")
    run.add_argument(
        "--users", type=int, default=DEFAULTS.users, help="concurrent users in total (default %(default)s)"
    )
    run.add_argument(
        "--spawn-rate", type=float, default=DEFAULTS.spawn_rate, help="users started per second (default %(default)s)"
    )
    run.add_argument(
        "--mix",
        default=None,
        metavar="T=W,...",
        help=f"users per target by weight, e.g. postgres=3,redis=5,lambda=1,http=1; targets not named "
        f"are off (default: equal weights). Targets: {', '.join(TARGETS)}",
    )
    run.add_argument(
        "--out",
        default=DEFAULTS.out_dir,
        metavar="DIR",
        help="where the summary and Locust's CSV/HTML go (default %(default)s)",
    )
    run.add_argument(
        "--regions",
        default="",
        metavar="R1,R2",
        help="only stacks of these regions (stack names are <tier>-<region>); default all",
    )
    run.add_argument(
        "--wait",
        default="0.1:0.5",
        metavar="LOW:HIGH",
        help="think time between a user's operations, seconds (default %(default)s)",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=DEFAULTS.timeout_s,
        help="connect/operation timeout, seconds (default %(default)s)",
    )
    run.add_argument(
        "--max-error-rate",
        type=float,
        default=None,
        metavar="R",
        help="exit 1 when a target's error rate is above R (0..1); default: never",
    )
    run.add_argument("--dry-run", action="store_true", help="print the plan (targets, skips, users) and exit")
    run.add_argument("-q", "--quiet", action="store_true", help="no live stats (still in <out>/locust.log)")

    conn = p.add_argument_group("connections and credentials")
    conn.add_argument(
        "--endpoint-url",
        default=None,
        help="AWS-compatible endpoint for Lambda invoke and Secrets Manager (e.g. moto server)",
    )
    conn.add_argument(
        "--tls",
        choices=("auto", "on", "off"),
        default="auto",
        help="TLS to PostgreSQL (sslmode=require) and Redis; auto: on unless the host is loopback",
    )
    conn.add_argument("--tls-insecure", action="store_true", help="do not verify Redis/HTTPS certificates")
    for title, c in CREDENTIALS.items():
        conn.add_argument(
            f"--{c.option.replace('_', '-')}",
            default=None,
            help=f"{title} {c.what} (else ${c.env}, else the {c.secret_output} secret)",
        )
    conn.add_argument("--redis-username", default=None, help="Redis ACL user name (default: none)")

    mix = p.add_argument_group("operation mix")
    mix.add_argument(
        "--pg-read-ratio",
        type=float,
        default=DEFAULTS.pg_read_ratio,
        help="share of PostgreSQL reads (default %(default)s)",
    )
    mix.add_argument("--pg-table", default=DEFAULTS.pg_table, help="table the load test creates (default %(default)s)")
    mix.add_argument(
        "--pg-seed-rows",
        type=int,
        default=DEFAULTS.pg_seed_rows,
        help="rows seeded into an empty table (default %(default)s)",
    )
    mix.add_argument(
        "--redis-read-ratio",
        type=float,
        default=DEFAULTS.redis_read_ratio,
        help="share of Redis GETs (default %(default)s)",
    )
    mix.add_argument(
        "--redis-keys", type=int, default=DEFAULTS.redis_keys, help="key space, Zipf-distributed (default %(default)s)"
    )
    mix.add_argument(
        "--redis-ttl", default="60:3600", metavar="LOW:HIGH", help="TTL range, seconds (default %(default)s)"
    )
    mix.add_argument(
        "--redis-value-bytes", default="100:2000", metavar="LOW:HIGH", help="value size range (default %(default)s)"
    )
    mix.add_argument(
        "--redis-mode",
        choices=("auto", "cluster", "single"),
        default="auto",
        help="cluster client, plain client, or ask the server (default auto)",
    )
    mix.add_argument(
        "--http-path",
        action="append",
        default=None,
        metavar="PATH",
        help="path to GET through the NLB, repeatable (default /)",
    )
    mix.add_argument(
        "--http-scheme", choices=("auto", "http", "https"), default="auto", help="auto: https on port 443, else http"
    )
    mix.add_argument(
        "--lambda-timeout",
        type=float,
        default=DEFAULTS.lambda_timeout_s,
        help="invoke read timeout, seconds (default %(default)s)",
    )

    dist = p.add_argument_group("distributed (Locust master/worker)")
    dist.add_argument("--master", action="store_true", help="run as Locust master; needs --expect-workers")
    dist.add_argument(
        "--expect-workers", type=int, default=0, metavar="N", help="master: wait for N workers before starting"
    )
    dist.add_argument("--worker", action="store_true", help="run as a Locust worker of --master-host")
    dist.add_argument("--master-host", default="127.0.0.1", help="worker: the master's address (default %(default)s)")
    dist.add_argument("--master-port", type=int, default=5557, help="worker: the master's port (default %(default)s)")
    return p


def options_from_args(a: argparse.Namespace) -> dict:
    return dict(
        regions=tuple(r.strip() for r in a.regions.split(",") if r.strip()),
        tls=a.tls,
        tls_insecure=a.tls_insecure,
        **{c.option: getattr(a, c.option) for c in CREDENTIALS.values()},
        redis_username=a.redis_username,
        pg_read_ratio=a.pg_read_ratio,
        pg_table=a.pg_table,
        pg_seed_rows=a.pg_seed_rows,
        redis_read_ratio=a.redis_read_ratio,
        redis_keys=a.redis_keys,
        redis_ttl=parse_range(a.redis_ttl, "--redis-ttl", integer=True),
        redis_value_bytes=parse_range(a.redis_value_bytes, "--redis-value-bytes", integer=True),
        redis_mode=a.redis_mode,
        http_paths=tuple(a.http_path or ("/",)),
        http_scheme=a.http_scheme,
        wait=parse_range(a.wait, "--wait"),
        timeout_s=a.timeout,
        lambda_timeout_s=a.lambda_timeout,
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    locust_args: list[str] = []
    if "--" in argv:  # everything after `--` is Locust's
        i = argv.index("--")
        argv, locust_args = argv[:i], argv[i + 1 :]
    a = parser.parse_args(argv)
    try:
        return _main(a, locust_args)
    except UsageError as e:
        print(f"{parser.prog}: error: {e}", file=sys.stderr)
        return 2
    except LoadTestError as e:
        print(f"loadtest: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("loadtest: interrupted", file=sys.stderr)
        return 130


def _main(a: argparse.Namespace, locust_args: list[str]) -> int:
    from .runner import make_options, run_plan, run_worker

    extra = options_from_args(a)
    if a.worker and a.master:
        raise UsageError("--master and --worker exclude each other")
    if a.master and a.expect_workers < 1:
        raise UsageError("--master needs --expect-workers N (N >= 1)")
    if a.expect_workers and not a.master:
        raise UsageError("--expect-workers needs --master")
    if a.max_error_rate is not None and not 0 <= a.max_error_rate <= 1:
        raise UsageError("--max-error-rate must be between 0 and 1")
    if a.worker:
        return run_worker(
            a.outputs,
            a.master_host,
            a.master_port,
            locust_args=locust_args,
            echo=not a.quiet,
            endpoint_url=a.endpoint_url,
            out_dir=a.out,
            **extra,
        )

    opts = make_options(a.duration, a.users, a.spawn_rate, a.mix, a.out, a.endpoint_url, **extra)
    plan = build_plan(load_outputs(a.outputs), opts, resolve_secrets=not a.dry_run)
    if a.dry_run:
        for line in plan.describe() + plan.notes:
            print(f"loadtest: {line}")
        return 0
    summary = run_plan(plan, expect_workers=a.expect_workers, locust_args=locust_args, echo=None if a.quiet else True)
    if a.quiet:
        print(summary.table())
    if not summary.ran:
        print("loadtest: error: no target to load (every target was skipped)", file=sys.stderr)
        return 1
    if a.max_error_rate is not None:
        over = [t for t in summary.ran if summary.targets[t].error_rate > a.max_error_rate]
        if over:
            print(f"loadtest: error rate above {a.max_error_rate:.1%} on: {', '.join(over)}", file=sys.stderr)
            return 1
    return 0
