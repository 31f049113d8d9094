"""Watch the rollback alarms after a change; on > 1% connection errors restore the previous tfvars.

Scope: the stacks whose tfvars were changed (those with a copy in tfvars/<env>/.previous/, or the
ones named with --stack). For each, the alarms of the tiers that judge it (alarms.WATCHED_TIERS)
in the stack's region are read with DescribeAlarms (state ALARM = breach), and their raw error and
total metrics are summed with GetMetricData since the change (ratio above the threshold = breach,
even before the alarm's 3-of-5 evaluation fires). On breach the previous tfvars are restored byte
for byte and the caller exits EXIT_ROLLED_BACK so a pipeline redeploys; for a database Blue/Green
change the rollback path (the `-old1` blue and the pre-change snapshot) is reported from the
rollout state. A file whose restore would change a CriticalPath resource's key is never touched.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from analysis import tfvars_io
from analysis.errors import AnalysisError, UsageError
from analysis.rollout import alarms
from analysis.schedule.quiet import quiet
from stacks.naming import BLUE_SUFFIX, TFVARS_SUFFIX, alarm_tier, parse_stack
from stacks.schedule_contract import WeeklySchedule

MAX_WINDOW = 6 * 3600


@dataclass(frozen=True)
class Breach:
    region: str
    alarm: str
    reason: str


@dataclass(frozen=True)
class Target:
    """One changed stack: its tfvars file and where its alarms live."""

    stack: str
    path: Path

    @property
    def tier(self) -> str:
        return parse_stack(self.stack)[0]

    @property
    def region(self) -> str:
        return parse_stack(self.stack)[1]


def targets(
    tfvars_root: Path, environment: str, stacks: Iterable[str] = (), regions: Collection[str] | None = None
) -> list[Target]:
    """The named stacks, or every stack with a kept previous copy (what --apply / rollout changed)."""
    base = Path(tfvars_root) / environment
    names = list(stacks) or sorted(
        tfvars_io.stack_of(p) for p in (base / tfvars_io.PREVIOUS_DIR).glob(f"*{TFVARS_SUFFIX}")
    )
    if not names:
        raise UsageError(
            f"nothing to guard: no kept previous tfvars in {base / tfvars_io.PREVIOUS_DIR} "
            "(apply a change first, or name --stack)"
        )
    out = []
    for name in sorted(set(names)):
        try:
            reg = parse_stack(name)[1]
        except ValueError:
            raise UsageError(
                f"--stack {name!r}: expected <tier>-<region> with tier one of {', '.join(alarms.WATCHED_TIERS)}"
            ) from None
        if regions is None or reg in regions:
            out.append(Target(name, tfvars_io.override_file(tfvars_root, environment, name)))
    if not out:
        raise UsageError(f"nothing to guard in region {', '.join(regions or ())}")
    return out


def check_files(targets: Iterable[Target]) -> None:
    """AnalysisError naming the first corrupt tfvars file or kept previous copy."""
    for t in targets:
        tfvars_io.read(t.path)
        kept = tfvars_io.read_bytes(tfvars_io.previous_path(t.path))
        if kept:
            tfvars_io.parse(kept, tfvars_io.previous_path(t.path))


def _flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        if isinstance(v, Mapping):
            out.update({f"{k}.{mk}": mv for mk, mv in v.items()})
        out[k] = v
    return out


def changed_keys(before: Mapping[str, Any], after: Mapping[str, Any]) -> set[str]:
    a, b = _flatten(before), _flatten(after)
    return {k for k in a.keys() | b.keys() if a.get(k) != b.get(k)}


def excluded_keys(recommendations: Path | None) -> dict[str, str]:
    """tfvars key address -> resource id of every CriticalPath-excluded recommendation."""
    if recommendations is None or not recommendations.exists():
        return {}
    from analysis.rollout.plan import load

    return {
        c["tfvars_key"]: r["resource_id"]
        for r in load(recommendations)["recommendations"]
        if r["status"] == "excluded"
        for c in r.get("changes", [])
        if c.get("tfvars_key")
    }


class Guard:
    def __init__(
        self,
        environment: str,
        targets: list[Target],
        client: Callable[[str, str], Any],
        *,
        threshold: float = alarms.THRESHOLD_PERCENT,
        min_total: float = 100,
        since: dt.datetime | None = None,
        log: Callable[[str], None] = print,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        schedules: Mapping[tuple[str, str], WeeklySchedule | None] | None = None,
        wall: Callable[[], float] = time.time,
    ):
        """`schedules`: (tier, region) -> the tier's off-hours schedule there (quiet.schedules)."""
        self.env, self.targets, self.client = environment, targets, client
        self.schedules, self.wall = schedules or {}, wall
        self.threshold, self.min_total = threshold, min_total
        self.since = since or dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
        self.log, self.sleep, self.clock = log, sleep, clock
        self._alarms: dict[str, list[dict[str, Any]]] | None = None

    # --- what to watch -----------------------------------------------------------------------
    def alarms(self) -> dict[str, list[dict[str, Any]]]:
        """region -> rollback alarms judging the targets (read once; states are re-read per check)."""
        if self._alarms is None:
            found: dict[str, dict[str, dict[str, Any]]] = {}
            for t in self.targets:
                per_region = found.setdefault(t.region, {})
                prefixes = [alarms.alarm_prefix(self.env, tier) for tier in alarms.WATCHED_TIERS[t.tier]]
                mine = [a for a in self._describe(t.region, prefixes)]
                if not mine:
                    raise AnalysisError(
                        f"no rollback alarms named {' / '.join(p + '*' for p in prefixes)} in "
                        f"{t.region}: the {t.stack} change cannot be judged (deploy the stacks' "
                        "alarms first)"
                    )
                per_region.update({a["AlarmName"]: a for a in mine})
            self._alarms = {r: [a[n] for n in sorted(a)] for r, a in sorted(found.items())}
        return self._alarms

    def _describe(self, region: str, prefixes: list[str]) -> list[dict[str, Any]]:
        cw = self.client("cloudwatch", region)
        out = []
        for prefix in prefixes:
            for page in cw.get_paginator("describe_alarms").paginate(
                AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"]
            ):
                out += page["MetricAlarms"]
        return out

    # --- one check -------------------------------------------------------------------------------
    def check(self) -> list[Breach]:
        breaches = []
        for region, all_watched in self.alarms().items():
            judged = self._judged(region, all_watched)
            watched = [a for a in all_watched if a["AlarmName"] in judged]
            if not watched:
                continue
            current = {
                a["AlarmName"]: a
                for a in self._describe(region, sorted({alarms.alarm_prefix(self.env, self._tier(a)) for a in watched}))
            }
            for alarm in watched:
                live = current.get(alarm["AlarmName"], alarm)
                if live.get("StateValue") == "ALARM":
                    breaches.append(
                        Breach(region, alarm["AlarmName"], f"alarm is ALARM: {live.get('StateReason', '')}".strip())
                    )
            for since in sorted(set(judged.values())):
                breaches += self._raw(region, [a for a in watched if judged[a["AlarmName"]] == since], since)
        return breaches

    def _judged(self, region: str, watched: list[dict[str, Any]]) -> dict[str, dt.datetime]:
        """Alarm name -> since when its errors count, for the alarms judged now: a tier switched off
        or starting by its off-hours schedule is not judged (no traffic is not an error, a
        start-up is not a breach)."""
        now, out = self.wall(), {}
        for alarm in watched:
            q = quiet(self.schedules.get((self._tier(alarm), region)), now, self.since.timestamp())
            if q.judge_from is None:
                self.log(f"guard: {region} {alarm['AlarmName']}: not judged now: {q.reason}")
            else:
                out[alarm["AlarmName"]] = dt.datetime.fromtimestamp(q.judge_from, dt.UTC)
        return out

    def _tier(self, alarm: Mapping[str, Any]) -> str:
        tier = alarm_tier(self.env, alarm["AlarmName"])
        if tier is None:  # DescribeAlarms was asked for our prefixes only
            raise AnalysisError(f"{alarm['AlarmName']}: not a rollback alarm of environment {self.env}")
        return tier

    def _raw(self, region: str, watched: list[dict[str, Any]], since: dt.datetime) -> list[Breach]:
        """errors / total summed since `since`, from each alarm's own MetricStat queries."""
        queries: list[dict[str, Any]] = []
        roles: list[tuple[str, bool, bool]] = []  # roles[i] = (alarm name, counts as error, counts as total)
        for alarm in watched:
            spec = alarms.SPECS.get(self._tier(alarm))
            for q in alarm.get("Metrics") or []:
                stat = q.get("MetricStat")
                if not stat:
                    continue
                qid, name = q["Id"], stat["Metric"]["MetricName"]
                is_err = qid.startswith("err") or (
                    not qid.startswith("tot") and spec is not None and name in spec.errors
                )
                is_tot = qid.startswith("tot") or (
                    not qid.startswith("err") and spec is not None and name in spec.total
                )
                if is_err or is_tot:
                    queries.append(
                        {"Id": f"q{len(queries)}", "ReturnData": True, "MetricStat": {**stat, "Stat": "Sum"}}
                    )
                    roles.append((alarm["AlarmName"], is_err, is_tot))
        if not queries:
            return []
        now = dt.datetime.now(dt.UTC)
        sums = [0.0] * len(queries)
        cw = self.client("cloudwatch", region)
        for start in range(0, len(queries), 500):  # GetMetricData: <= 500 queries per call
            token = None
            while True:
                kw: dict[str, Any] = {"NextToken": token} if token else {}
                res = cw.get_metric_data(
                    MetricDataQueries=queries[start : start + 500],
                    StartTime=since,
                    EndTime=now + dt.timedelta(minutes=1),
                    **kw,
                )
                for r in res["MetricDataResults"]:
                    sums[int(r["Id"][1:])] += sum(r.get("Values", []))
                token = res.get("NextToken")
                if not token:
                    break
        per_alarm: dict[str, list[float]] = {}
        for (name, is_err, is_tot), value in zip(roles, sums):
            acc = per_alarm.setdefault(name, [0.0, 0.0])
            acc[0] += value if is_err else 0.0
            acc[1] += value if is_tot else 0.0
        out = []
        for name, (errors, total) in sorted(per_alarm.items()):
            pct = 100.0 * errors / total if total else 0.0
            self.log(f"guard: {region} {name}: errors {errors:g} / total {total:g} = {pct:.2f}%")
            if total >= self.min_total and pct > self.threshold:
                out.append(
                    Breach(
                        region,
                        name,
                        f"raw errors {errors:g} / total {total:g} = {pct:.2f}% > "
                        f"{self.threshold:g}% since {since:%Y-%m-%dT%H:%M:%SZ}",
                    )
                )
        return out

    # --- the window ----------------------------------------------------------------------------
    def watch(self, window: float, interval: float) -> list[Breach]:
        deadline = self.clock() + window
        n = 0
        while True:
            n += 1
            breaches = self.check()
            if breaches:
                return breaches
            left = deadline - self.clock()
            if left <= 0:
                self.log(f"guard: healthy after {n} check(s) over {window:g} s")
                return []
            self.sleep(min(interval, left))


def db_rollback_paths(state_dir: Path, stacks: set[str]) -> list[str]:
    """Rollback lines for completed / in-flight Blue/Green rollouts of the guarded data stacks."""
    lines = []
    for path in sorted(state_dir.glob("*/*.json")):
        try:
            st = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            lines.append(f"database: {path} is unreadable; check the RDS console for -old1 instances")
            continue
        if st.get("stack") not in stacks:
            continue
        rid = st.get("resource_id", path.stem)
        lines.append(
            f"database {rid} ({st.get('region')}): Blue/Green phase {st.get('phase')}; previous primary kept as "
            f"{st.get('blue_after_switchover', rid + BLUE_SUFFIX)} ({st.get('source_class', '?')}), pre-change snapshot "
            f"{st.get('snapshot_id', '?')}. Redeploying the restored tfvars modifies {rid} back in place "
            f"(Multi-AZ: a failover-length interruption); for a data-level rollback point clients at the -old1 "
            f"instance or restore the snapshot"
        )
    return lines


@dataclass(frozen=True)
class Rollback:
    restored: int  # files changed (or that would change in a dry run)
    refused: tuple[str, ...]  # files left alone because they touch CriticalPath keys


def rollback(
    targets: list[Target],
    breaches: list[Breach],
    *,
    excluded: Mapping[str, str],
    state_dir: Path,
    dry_run: bool,
    log: Callable[[str], None] = print,
) -> Rollback:
    """Restore every target's previous tfvars (never one that would change a CriticalPath key)."""
    verb = "would restore" if dry_run else "restored"
    for b in breaches:
        log(f"guard: BREACH {b.region} {b.alarm}: {b.reason}")
    allowed, refused = [], []
    for t in targets:
        kept = tfvars_io.read_bytes(tfvars_io.previous_path(t.path))
        if kept is None:
            log(f"guard: {t.path}: no previous copy kept, nothing to restore")
            continue
        before = tfvars_io.read(t.path)
        after = {} if kept == b"" else tfvars_io.parse(kept, tfvars_io.previous_path(t.path))
        critical = sorted(k for k in changed_keys(before, after) if k in excluded)
        if critical:
            log(
                f"guard: NOT restoring {t.path}: it would change {', '.join(critical)} of CriticalPath resource(s) "
                f"{', '.join(sorted({excluded[k] for k in critical}))}"
            )
            refused.append(str(t.path))
            continue
        allowed.append((t.path, kept == b""))
    restored = 0
    # every allowed file in one transaction: a failure restores none, never half the change set
    for written, (_, absent) in zip(tfvars_io.restore_all([p for p, _ in allowed], dry_run=dry_run), allowed):
        if written.changed:
            restored += 1
            what = "deleted (it did not exist before)" if absent else "to the previous version"
            log(f"guard: {verb} {written.path} {what}; reverted:\n{written.diff.rstrip()}")
        else:
            log(f"guard: {written.path} already equals the previous version")
    for line in db_rollback_paths(state_dir, {t.stack for t in targets if t.tier == "data"}):
        log(f"guard: {line}")
    return Rollback(restored, tuple(refused))
