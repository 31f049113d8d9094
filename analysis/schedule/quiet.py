"""What `guard` asks before judging a tier's rollback alarms: is the tier switched off, or just
starting, by its off-hours schedule?

Off: nothing runs, nothing is published, and no traffic is not an error. Starting: for the
first minutes after a switch-on, instances register and the database starts; a reset or a failed
invocation then is a start-up, not a breach of the change being guarded. Either way the alarm
is not read as a failure; after the grace the errors count again, from the switch-on's end.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from analysis import tfvars_io
from analysis.errors import AnalysisError
from stacks.naming import SCHEDULED_TIERS, schedule_variable, stack_name
from stacks.schedule_contract import WeeklySchedule
from stacks.tfvars import override_path


@dataclass(frozen=True)
class Quiet:
    judge_from: float | None  # epoch seconds errors count from again; None = do not judge now
    reason: str | None = None  # why the alarms are not read (one line), None when judged normally


STARTUP_GRACE = 15 * 60  # seconds: ASG health-check grace (300 s) plus launch; an RDS start takes ~10 min


def stack_schedule(tfvars_path: Path, tier: str) -> WeeklySchedule | None:
    """The schedule the stack's committed tfvars give its tier (None: always on)."""
    try:
        return WeeklySchedule.from_tfvars(tfvars_io.read(tfvars_path).get(schedule_variable(tier)))
    except ValueError as e:
        raise AnalysisError(f"{tfvars_path}: {schedule_variable(tier)}: {e}") from None


def quiet(schedule: WeeklySchedule | None, now: float, since: float, grace: float = STARTUP_GRACE) -> Quiet:
    """From when (if at all) a tier's errors count, for a change made at `since`."""
    if schedule is None:
        return Quiet(since)
    on = schedule.on_since(now)
    if on is None:
        return Quiet(None, f"switched off by its schedule ({schedule.describe()}): no traffic is not an error")
    if now - on < grace:
        return Quiet(
            None,
            f"switched on {int((now - on) // 60)} min ago by its schedule: start-up within the "
            f"{int(grace // 60)} min grace is not a breach",
        )
    return Quiet(max(since, on + grace))


def schedules(
    tfvars_root: Path, environment: str, regions: Iterable[str], tiers: Iterable[str]
) -> dict[tuple[str, str], WeeklySchedule | None]:
    """(tier, region) -> the schedule its committed tfvars give (scheduled tiers only)."""
    return {
        (tier, region): stack_schedule(override_path(tfvars_root, environment, stack_name(tier, region)), tier)
        for region in sorted(set(regions))
        for tier in sorted(set(tiers))
        if tier in SCHEDULED_TIERS
    }
