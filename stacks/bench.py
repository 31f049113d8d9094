"""`make bench-synth`: wall time and peak RSS of one full synth (every tier, every region).

Runs `main.py` in a child process and samples the resident memory of its whole process
tree (Python + the jsii Node runtime) every 20 ms from /proc; prints both figures and exits
non-zero when a budget is exceeded (defaults: 8 s, 1 GiB). Pure Python, no cdktf import.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as fh:
                out += [int(c) for c in fh.read().split()]
    except OSError:
        pass
    return out


def tree_rss(pid: int) -> int:
    """Resident bytes of pid and all its descendants."""
    total, stack = 0, [pid]
    page = os.sysconf("SC_PAGE_SIZE")
    while stack:
        p = stack.pop()
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * page
        except OSError:
            continue
        stack += _children(p)
    return total


def run(argv: list[str]) -> tuple[float, int, int]:
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, tree_rss(proc.pid))
        time.sleep(0.02)
    wall = time.monotonic() - start
    if proc.returncode:
        sys.stderr.write(proc.communicate()[1].decode(errors="replace"))
    return wall, peak, proc.returncode


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--python", default=sys.executable)
    p.add_argument("--max-seconds", type=float, default=8.0)
    p.add_argument("--max-mib", type=float, default=1024.0)
    p.add_argument("main_args", nargs="*", help="extra arguments for main.py (e.g. --environment prod)")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-synth-") as out:
        wall, peak, rc = run([args.python, "main.py", "--outdir", out, *args.main_args])
        stacks = len(list(Path(out, "stacks").glob("*/cdk.tf.json")))
    if rc:
        print(f"synth failed (exit {rc})")
        return rc
    mib = peak / 2**20
    print(
        f"bench-synth: {stacks} stacks; wall time {wall:.2f} s (budget {args.max_seconds:g} s); "
        f"peak RSS {mib:.0f} MiB (budget {args.max_mib:g} MiB; Python + Node process tree)"
    )
    return 0 if wall <= args.max_seconds and mib <= args.max_mib else 1


if __name__ == "__main__":
    sys.exit(main())
