"""The end-of-run summary: per target requests, failures, error rate, latency; written as
summary.json, summary.csv and summary.txt beside Locust's own CSV and HTML reports."""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .plan import TARGETS


@dataclass
class TargetSummary:
    target: str
    status: str  # "ran" | "skipped"
    reason: str | None = None  # why it was skipped
    endpoints: list[str] = field(default_factory=list)
    users: int = 0
    requests: int = 0
    failures: int = 0
    error_rate: float = 0.0  # failures / requests (0 when no request)
    rps: float = 0.0
    avg_ms: float | None = None
    p50_ms: float | None = None
    p95_ms: float | None = None
    p99_ms: float | None = None
    max_ms: float | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)  # [{name, error, occurrences}], most first
    operations: list[dict[str, Any]] = field(default_factory=list)  # per operation, same fields


@dataclass
class Summary:
    """What `loadtest.run` returns. `targets` has every target, skipped ones included."""

    targets: dict[str, TargetSummary]
    duration_s: float
    elapsed_s: float
    users: int
    spawn_rate: float
    mix: dict[str, float]
    out_dir: str
    files: dict[str, str] = field(default_factory=dict)
    locust_exit_code: int | None = None
    mode: str = "local"  # local | master
    notes: list[str] = field(default_factory=list)

    @property
    def ran(self) -> list[str]:
        return [t for t, s in self.targets.items() if s.status == "ran"]

    @property
    def skipped(self) -> dict[str, str]:
        return {t: s.reason or "" for t, s in self.targets.items() if s.status == "skipped"}

    @property
    def total_requests(self) -> int:
        return sum(s.requests for s in self.targets.values())

    @property
    def total_failures(self) -> int:
        return sum(s.failures for s in self.targets.values())

    @property
    def error_rate(self) -> float:
        return self.total_failures / self.total_requests if self.total_requests else 0.0

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["targets"] = {t: asdict(s) for t, s in self.targets.items()}
        d.update(total_requests=self.total_requests, total_failures=self.total_failures, error_rate=self.error_rate)
        return d

    def table(self) -> str:
        """The human summary (also summary.txt)."""

        def ms(v):
            return "-" if v is None else f"{v:.0f}"

        head = (
            f"{'target':<9} {'users':>5} {'requests':>9} {'failures':>9} {'errors':>7} {'req/s':>7} "
            f"{'p50 ms':>7} {'p95 ms':>7}  note"
        )
        lines = [
            f"load test summary: {self.elapsed_s:.1f}s of {self.duration_s:.0f}s planned, "
            f"{self.users} users ({self.mode})",
            head,
            "-" * len(head),
        ]
        for t in TARGETS:
            s = self.targets.get(t)
            if s is None:
                continue
            if s.status == "skipped":
                lines.append(
                    f"{t:<9} {'-':>5} {'-':>9} {'-':>9} {'-':>7} {'-':>7} {'-':>7} {'-':>7}  skipped: {s.reason}"
                )
                continue
            note = ""
            if s.errors:
                top = s.errors[0]
                note = f"{top['occurrences']}x {top['error']}"[:110]
            lines.append(
                f"{t:<9} {s.users:>5} {s.requests:>9} {s.failures:>9} {s.error_rate:>7.1%} "
                f"{s.rps:>7.1f} {ms(s.p50_ms):>7} {ms(s.p95_ms):>7}  {note}"
            )
        lines.append("-" * len(head))
        lines.append(
            f"{'total':<9} {self.users:>5} {self.total_requests:>9} {self.total_failures:>9} {self.error_rate:>7.1%}"
        )
        for name in ("html", "stats_csv", "summary_json"):
            if name in self.files:
                lines.append(f"{name}: {self.files[name]}")
        return "\n".join(lines)

    def write(self, out_dir: str | Path) -> dict[str, str]:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        paths = {
            "summary_json": out / "summary.json",
            "summary_csv": out / "summary.csv",
            "summary_txt": out / "summary.txt",
        }
        self.files.update({k: str(v) for k, v in paths.items()})
        paths["summary_json"].write_text(json.dumps(self.to_dict(), indent=2, sort_keys=True) + "\n")
        with paths["summary_csv"].open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(
                [
                    "target",
                    "status",
                    "users",
                    "requests",
                    "failures",
                    "error_rate",
                    "rps",
                    "avg_ms",
                    "p50_ms",
                    "p95_ms",
                    "p99_ms",
                    "max_ms",
                    "top_error",
                    "reason",
                ]
            )
            for t in TARGETS:
                s = self.targets.get(t)
                if s is None:
                    continue
                w.writerow(
                    [
                        t,
                        s.status,
                        s.users,
                        s.requests,
                        s.failures,
                        f"{s.error_rate:.6f}",
                        f"{s.rps:.3f}",
                        _num(s.avg_ms),
                        _num(s.p50_ms),
                        _num(s.p95_ms),
                        _num(s.p99_ms),
                        _num(s.max_ms),
                        s.errors[0]["error"] if s.errors else "",
                        s.reason or "",
                    ]
                )
        paths["summary_txt"].write_text(self.table() + "\n")
        return self.files


def _num(v):
    return "" if v is None else f"{v:.1f}"


def target_stats_from_result(result: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per-target dicts from the locustfile's result JSON."""
    return result.get("targets", {}) if isinstance(result, dict) else {}


def target_stats_from_csv(stats_csv: Path, failures_csv: Path | None) -> dict[str, dict[str, Any]]:
    """Fallback when the result JSON is missing: sum Locust's per-operation CSV rows per target
    (percentiles cannot be combined from the rows, so they stay empty)."""
    out: dict[str, dict[str, Any]] = {}
    if not stats_csv.exists():
        return out
    with stats_csv.open(newline="") as f:
        for row in csv.DictReader(f):
            t = row.get("Type") or ""
            if t not in TARGETS:
                continue
            d = out.setdefault(
                t,
                {"requests": 0, "failures": 0, "rps": 0.0, "errors": [], "operations": [], "_rt": 0.0, "max_ms": None},
            )
            n = int(float(row.get("Request Count") or 0))
            d["requests"] += n
            d["failures"] += int(float(row.get("Failure Count") or 0))
            d["rps"] += float(row.get("Requests/s") or 0)
            d["_rt"] += n * float(row.get("Average Response Time") or 0)
            mx = float(row.get("Max Response Time") or 0)
            d["max_ms"] = mx if d["max_ms"] is None else max(d["max_ms"], mx)
    for d in out.values():
        d["avg_ms"] = d.pop("_rt") / d["requests"] if d["requests"] else None
    if failures_csv and failures_csv.exists():
        with failures_csv.open(newline="") as f:
            for row in csv.DictReader(f):
                t = row.get("Method") or ""
                if t in out:
                    out[t]["errors"].append(
                        {
                            "name": row.get("Name"),
                            "error": row.get("Error"),
                            "occurrences": int(float(row.get("Occurrences") or 0)),
                        }
                    )
        for d in out.values():
            d["errors"].sort(key=lambda e: -e["occurrences"])
    return out


def fill_target(s: TargetSummary, d: dict[str, Any]) -> None:
    s.requests = int(d.get("requests") or 0)
    s.failures = int(d.get("failures") or 0)
    # a failure Locust could not attach to a request still counts
    logged = sum(int(e.get("occurrences") or 0) for e in d.get("errors") or [])
    s.failures = max(s.failures, logged) if s.requests == 0 else s.failures
    s.requests = max(s.requests, s.failures)
    s.error_rate = s.failures / s.requests if s.requests else 0.0
    s.rps = float(d.get("rps") or 0.0)
    for k in ("avg_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"):
        v = d.get(k)
        setattr(s, k, None if v is None else float(v))
    s.errors = list(d.get("errors") or [])[:10]
    s.operations = list(d.get("operations") or [])
