"""The schedule stage of `make analyze`: the use signals of every resource from the same metrics
the sizing read, their weekly profiles, and the environment's proposal.

    proposal, profiles = analyse("staging", recs, source, start, end, catalog)

`source_or_series` is what the sizing engine takes: a MetricsSource (`fetch`) or Series.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from analysis import tfvars_io
from analysis.model import Recommendation, Resource
from analysis.pricing.catalog import PriceCatalog
from analysis.schedule.profile import Signals, WeeklyProfile, weekly_profile
from analysis.schedule.propose import Decision, EnvironmentProposal, SchedulePolicy, Status, key, propose
from analysis.sizing.engine import fetcher
from stacks.naming import SCHEDULED_TIERS, schedule_variable, tier_of
from stacks.tfvars import override_path

DEFAULT_SIGNALS = Signals()
DEFAULT_POLICY = SchedulePolicy()


def profiles(
    resources: Sequence[Resource],
    source_or_series: Any,
    start: int,
    end: int,
    timezone: str = "UTC",
    signals: Signals = DEFAULT_SIGNALS,
) -> dict[str, WeeklyProfile]:
    """`<region>/<resource_id>` -> weekly profile of its use signal (resources without one are left out)."""
    fetch = fetcher(source_or_series, start, end)
    out = {}
    for r in sorted(resources, key=lambda r: (r.region, r.kind, r.resource_id)):
        queries = signals.queries(r)
        if not queries:
            continue
        found = signals.series(r, fetch(r.region, queries))
        if found is None:
            continue
        signal, ts, values = found
        out[key(r)] = weekly_profile(ts, values, start, end, timezone, signal.floor, signal.unit)
    return out


def analyse(
    environment: str,
    recs: Sequence[Recommendation],
    source_or_series: Any,
    start: int,
    end: int,
    catalog: PriceCatalog,
    policy: SchedulePolicy = DEFAULT_POLICY,
) -> tuple[EnvironmentProposal, dict[str, WeeklyProfile]]:
    found = profiles(
        [r.resource for r in recs], source_or_series, start, end, policy.detection.timezone, policy.signals
    )
    return propose(environment, recs, found, catalog, policy), found


def tfvars_updates(proposal: EnvironmentProposal, tfvars_root: Path, environment: str) -> dict[Path, dict[str, Any]]:
    """tfvars file -> {`<tier>_schedule`: value} to write: the proposed schedules, and null where a
    stack has one that no longer applies (e.g. a replica came back). Never touches an excluded
    environment's files nor a stack whose resources are CriticalPath."""
    if proposal.status == Status.EXCLUDED_ENVIRONMENT:
        return {}
    out: dict[Path, dict[str, Any]] = {}
    stacks = sorted({r.stack for r in proposal.resources if r.stack and tier_of(r.stack) in SCHEDULED_TIERS})
    for stack in stacks:
        variable = schedule_variable(tier_of(stack))
        path = override_path(tfvars_root, environment, stack)
        if stack in proposal.tfvars:
            out[path] = dict(proposal.tfvars[stack])
            continue
        critical = any(r.decision == Decision.CRITICAL_PATH for r in proposal.resources if r.stack == stack)
        if not critical and tfvars_io.read(path).get(variable) is not None:
            out[path] = {variable: None}
    return out
