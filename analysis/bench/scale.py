"""Benchmark: the offline re-analysis of fleets of 100, 1,000 and 10,000 resources x 45 days.

    python -m analysis.bench.scale [--sizes 100,1000,10000] [--stacks-dir cdktf.out/stacks] [--dir DIR]

Fleets are built from the simulated account: its inventory and 45-day snapshot replicated with
renamed ids (deterministic; the series of a copy are its original's). For each fleet it runs
`python -m analysis run --target aws --metrics-snapshot ... --inventory ...` in a child process
and, as the floor for the same data, a child that streams the snapshot row group by row group
and computes every series' max and exact p99 with numpy. It prints datapoints, wall time, peak
RSS (of each child alone) and the ratio to the floor. The targets (peak RSS <= 2 GiB at every
size, 10,000 resources in <= 10 minutes, within 3x of the floor) are compared, never asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from analysis.model import Resource, Series

TARGET_RSS_GIB = 2.0
TARGET_10K_S = 600.0
TARGET_FLOOR_RATIO = 3.0
COLUMNS: tuple[tuple[str, int], ...] = (("resources", 9), ("datapoints", 14), ("build s", 8), ("run s", 8))
COLUMNS += (("run GiB", 8), ("floor s", 8), ("floor GiB", 9), ("ratio", 6))
RENAMED_CONFIG = ("member_clusters", "nat_gateway_ids")  # ids that are also metric dimensions


def copy_of(r: Resource, i: int) -> Resource:
    """The i-th copy of a resource: every id that names it or its metrics gets a suffix."""
    suffix = f"-x{i:05d}"
    cfg = dict(r.config)
    for field in RENAMED_CONFIG:
        if field in cfg:
            cfg[field] = tuple(f"{x}{suffix}" for x in cfg[field])
    if "load_balancer_arns" in cfg:
        cfg["load_balancer_arns"] = tuple(a.replace("/net/", f"/net{suffix}/", 1) for a in cfg["load_balancer_arns"])
    if "source_id" in cfg and cfg["source_id"]:
        cfg["source_id"] = f"{cfg['source_id']}{suffix}"
    if "replica_ids" in cfg:
        cfg["replica_ids"] = tuple(f"{x}{suffix}" for x in cfg["replica_ids"])
    return replace(r, resource_id=f"{r.resource_id}{suffix}", config=cfg)


def build_fleet(
    n: int, base: list[Resource], base_series: dict[str, list[Series]], meta: dict[str, int], out: Path
) -> tuple[Path, int]:
    """Snapshot + inventory of n resources (copies of `base`, in turn); returns (snapshot, datapoints)."""
    from analysis.collect import resource_key
    from analysis.inventory import inventory_path, save_inventory
    from analysis.scale.batches import queries_of, write_by_resource

    fleet = [copy_of(base[j % len(base)], j // len(base)) for j in range(n)]
    origin = {resource_key(c): base[j % len(base)] for j, c in enumerate(fleet)}

    def series_of(copy: Resource) -> list[Series]:
        original = origin[resource_key(copy)]
        stored = {s.query: s for s in base_series[resource_key(original)]}
        return [
            Series(copy.region, q_copy, stored[q].timestamps, stored[q].values)
            for q, q_copy in zip(queries_of(original), queries_of(copy))
            if q in stored
        ]

    path = out / f"fleet-{n}.parquet"
    rows = write_by_resource(path, fleet, series_of, meta)
    save_inventory(inventory_path(path), fleet, source=f"bench: {n} copies of the simulated account's resources")
    return path, rows


def simulated_account(stacks_dir: Path, out: Path) -> tuple[list[Resource], dict[str, list[Series]], dict[str, int]]:
    """The simulated account's resources and each one's series (what `make analyze` generates)."""
    from analysis.collect import resource_key
    from analysis.inventory import load_inventory
    from analysis.run import RunOptions, execute
    from analysis.scale.batches import ALL_TIME, fetch
    from analysis.sim.scenario import SIM_END
    from analysis.sources.snapshot import SnapshotSource

    execute(RunOptions(output=out / "sim", stacks_dir=stacks_dir), progress=lambda _: None)
    snapshot = out / "sim" / "sim-metrics.parquet"
    resources = load_inventory(snapshot)
    src = SnapshotSource(snapshot)
    series = {resource_key(r): list(fetch(src, r, -ALL_TIME, ALL_TIME).values()) for r in resources}
    return resources, series, {"window_start": SIM_END - 45 * 86_400, "window_end": SIM_END, "period": 300}


# Starts the measured command from a small interpreter: a child forked from the benchmark itself
# would count the benchmark's own pages in its peak RSS.
LAUNCHER = (
    "import resource, subprocess, sys; rc = subprocess.run(sys.argv[2:]).returncode; "
    "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)"
)


def measure(cmd: list[str]) -> tuple[float, float, str]:
    """(wall seconds, peak RSS GiB of that command alone, stdout) of a child process."""
    with tempfile.TemporaryDirectory() as tmp:
        rss = Path(tmp) / "maxrss"
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-c", LAUNCHER, str(rss), *cmd], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode:
            raise SystemExit(f"{' '.join(cmd[:4])} ... failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
        return wall, int(rss.read_text()) / 1024 / 1024, proc.stdout


def floor(path: str) -> None:
    """The floor: stream the snapshot, every series' max and exact p99 (numpy), nothing else.

    Series are contiguous in the file; one that runs over a row group boundary is carried over."""
    import pyarrow.parquet as pq

    keys = ("region", "metric_name", "dimensions", "stat")
    pf = pq.ParquetFile(path, read_dictionary=list(keys))
    series, checksum = 0, 0.0
    carry: tuple[tuple, np.ndarray] | None = None

    def done(v: np.ndarray) -> None:
        nonlocal series, checksum
        checksum += float(v.max()) + float(np.percentile(v, 99))
        series += 1

    for rg in range(pf.metadata.num_row_groups):
        t = pf.read_row_group(rg, columns=[*keys, "value"])
        values = t["value"].to_numpy()
        cols = [t[c].combine_chunks() for c in keys]
        codes = np.stack([c.indices.to_numpy() for c in cols], axis=1)
        bounds = np.concatenate([[0], np.flatnonzero(np.any(codes[1:] != codes[:-1], axis=1)) + 1, [len(values)]])
        for a, b in zip(bounds[:-1], bounds[1:]):
            key = tuple(c.dictionary[int(i)].as_py() for c, i in zip(cols, codes[a]))
            v = values[a:b]
            if a == 0 and carry is not None:
                if carry[0] == key:
                    v = np.concatenate([carry[1], v])
                else:
                    done(carry[1])
                carry = None
            if b == len(values):
                carry = (key, v)
            else:
                done(v)
    if carry is not None:
        done(carry[1])
    print(f"{series} {checksum:.6g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--stacks-dir", default="cdktf.out/stacks")
    parser.add_argument("--dir", help="where fleets are written (default: a temporary directory, removed)")
    parser.add_argument("--floor", metavar="SNAPSHOT", help=argparse.SUPPRESS)  # the floor's child process
    args = parser.parse_args()
    if args.floor:
        floor(args.floor)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        out = Path(tmp)
        base, base_series, meta = simulated_account(Path(args.stacks_dir), out)
        print(
            f"fleets built from the simulated account's {len(base)} resources; targets: peak RSS <= "
            f"{TARGET_RSS_GIB:g} GiB, 10,000 resources <= {TARGET_10K_S / 60:.0f} min, <= {TARGET_FLOOR_RATIO:g}x the floor"
        )
        print(" ".join(f"{h:>{w}}" for h, w in COLUMNS) + "  targets")
        for n in sizes:
            t0 = time.perf_counter()
            snapshot, rows = build_fleet(n, base, base_series, meta, out)
            build = time.perf_counter() - t0
            run_s, run_gib, _ = measure(
                [
                    sys.executable,
                    "-m",
                    "analysis",
                    "run",
                    "--target",
                    "aws",
                    "--metrics-snapshot",
                    str(snapshot),
                    "--inventory",
                    str(snapshot.with_name(snapshot.stem + ".inventory.json")),
                    "--output",
                    str(out / f"report-{n}"),
                    "--stacks-dir",
                    args.stacks_dir,
                ]
            )
            floor_s, floor_gib, _ = measure([sys.executable, "-m", "analysis.bench.scale", "--floor", str(snapshot)])
            ratio = run_s / floor_s
            ok = run_gib <= TARGET_RSS_GIB and ratio <= TARGET_FLOOR_RATIO and (n < 10_000 or run_s <= TARGET_10K_S)
            cells = [f"{n:,}", f"{rows:,}", f"{build:.1f}", f"{run_s:.1f}", f"{run_gib:.2f}"]
            cells += [f"{floor_s:.1f}", f"{floor_gib:.2f}", f"{ratio:.2f}x"]
            print(" ".join(f"{c:>{w}}" for c, (_, w) in zip(cells, COLUMNS)), "met" if ok else "MISSED", flush=True)
            snapshot.unlink()


if __name__ == "__main__":
    main()
