"""Benchmark of `make analyze` on the simulated account: wall time per stage, total, peak RSS.

    python -m analysis.bench.analyze [--stacks-dir cdktf.out/stacks] [--days 45]

Prints figures only; the budget (a finished report in under two minutes on a 2-core machine)
is a target to compare against, never asserted.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from analysis.collect import DEFAULT_DAYS
from analysis.run import RunOptions, execute

BUDGET_S = 120.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stacks-dir", default="cdktf.out/stacks")
    parser.add_argument("--days", type=int, default=DEFAULT_DAYS)
    args = parser.parse_args()

    marks: list[tuple[float, str]] = []
    t0 = time.perf_counter()

    def progress(line: str) -> None:
        marks.append((time.perf_counter() - t0, line))

    with tempfile.TemporaryDirectory() as out:
        result = execute(RunOptions(days=args.days, output=Path(out), stacks_dir=Path(args.stacks_dir)), progress)
        total = time.perf_counter() - t0
    previous = 0.0
    print(f"make analyze (simulated account, {args.days} days, {len(result.records)} resources)")
    for at, line in marks:
        print(f"  {at - previous:7.2f} s  {line[:100]}")
        previous = at
    print(f"  {total - previous:7.2f} s  sizing, pricing and reports")
    rss = max(
        resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    )
    print(f"total wall time: {total:.2f} s ({total / BUDGET_S:.0%} of the {BUDGET_S:.0f} s budget)")
    print(f"peak RSS: {rss / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
