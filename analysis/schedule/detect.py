"""Detection of the recurring off window of an environment from its resources' weekly profiles.

An hour of the week is off when, in (nearly) every week it was observed, no resource of the
environment used anything above its idle floor there. Everything else is on, widened by a
margin before and after every stretch of use; the on hours become the windows of a
`WeeklySchedule`. One schedule per environment, because its tiers need each other: compute is
no use without its database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from analysis.schedule.profile import HOURS_PER_WEEK, WeeklyProfile
from stacks.schedule_contract import DAYS, WeeklySchedule, Window


@dataclass(frozen=True)
class DetectionPolicy:
    timezone: str = "UTC"  # IANA zone the profile and the schedule are read in
    min_idle_share: float = 0.8  # an hour is off when idle in >= this share of its observed weeks
    min_weeks: int = 2  # hours seen in fewer weeks than this stay on (not enough evidence)
    margin_before: int = 1  # hours kept on before every stretch of use
    margin_after: int = 1  # hours kept on after it
    min_off_hours: int = 12  # fewer off hours a week than this: no schedule (not worth a restart)

    def __post_init__(self) -> None:
        if not 0 < self.min_idle_share <= 1:
            raise ValueError(f"min_idle_share must be in (0, 1], got {self.min_idle_share}")
        if self.min_weeks < 1:
            raise ValueError(f"min_weeks must be >= 1, got {self.min_weeks}")
        if self.margin_before < 0 or self.margin_after < 0:
            raise ValueError("margins must be >= 0 hours")
        if not 1 <= self.min_off_hours <= HOURS_PER_WEEK:
            raise ValueError(f"min_off_hours must be 1..{HOURS_PER_WEEK}, got {self.min_off_hours}")


@dataclass(frozen=True)
class OffUse:
    """The largest use seen inside the off window (what the schedule would have cut)."""

    resource: str  # "<region>/<resource_id>"
    value: float  # in `unit`
    unit: str
    share_of_peak: float  # value / the resource's largest value over the window
    when: str  # "Tue 2026-10-06 21:00", local time


@dataclass(frozen=True)
class Detection:
    on: tuple[bool, ...]  # per hour of week (Monday 00:00 local = 0), after margins
    weeks: int  # weeks with any datapoint
    weeks_agreeing: int  # weeks in which every observed off hour was idle
    largest_off_use: OffUse | None  # None: nothing above the idle floor inside the off window
    schedule: WeeklySchedule | None  # None: no off window worth switching off for
    reason: str  # why there is (or is no) schedule, one line

    @property
    def off_hours(self) -> int:
        return HOURS_PER_WEEK - sum(self.on)

    @property
    def confidence(self) -> float:
        return self.weeks_agreeing / self.weeks if self.weeks else 0.0


def _dilate(use: np.ndarray, before: int, after: int) -> np.ndarray:
    """On where used, plus `before` hours ahead of and `after` hours behind each used hour (circular)."""
    on = use.copy()
    for k in range(1, before + 1):
        on |= np.roll(use, -k)
    for k in range(1, after + 1):
        on |= np.roll(use, k)
    return on


def windows(on: np.ndarray) -> tuple[Window, ...]:
    """The circular runs of on hours as windows; runs with the same start and length share one."""
    if on.all() or not on.any():
        raise ValueError("windows need both on and off hours")
    first_off = int(np.argmin(on))
    runs: dict[tuple[int, int], list[str]] = {}
    h, end = first_off, first_off + HOURS_PER_WEEK
    while h < end:
        if on[h % HOURS_PER_WEEK]:
            length = 0
            while on[(h + length) % HOURS_PER_WEEK]:
                length += 1
            start = h % HOURS_PER_WEEK
            runs.setdefault((start % 24, length), []).append(DAYS[start // 24])
            h += length
        else:
            h += 1
    out = [
        Window(tuple(sorted(days, key=DAYS.index)), f"{hour:02d}:00", length) for (hour, length), days in runs.items()
    ]
    return tuple(sorted(out, key=lambda w: (DAYS.index(w.days[0]), w.start)))


def _largest_off_use(profiles: Mapping[str, WeeklyProfile], off: np.ndarray) -> OffUse | None:
    best: OffUse | None = None
    for key in sorted(profiles):
        p = profiles[key]
        masked = np.where(p.active & off[None, :], p.peak, np.nan)
        if np.isnan(masked).all():
            continue
        week, slot = np.unravel_index(int(np.nanargmax(masked)), masked.shape)
        value = float(masked[week, slot])
        top = float(np.nanmax(p.peak))
        share = value / top if top > 0 else 1.0
        if best is None or share > best.share_of_peak:
            day = date.fromisoformat(p.week0) + timedelta(days=int(week) * 7 + int(slot) // 24)
            when = f"{DAYS[slot // 24].title()} {day.isoformat()} {slot % 24:02d}:00"
            best = OffUse(key, value, p.unit, share, when)
    return best


def _combined(profiles: Mapping[str, WeeklyProfile]) -> tuple[np.ndarray, np.ndarray]:
    """(weeks, 168) any resource active, any resource observed."""
    active = np.any([p.active for p in profiles.values()], axis=0)
    observed = np.any([p.observed for p in profiles.values()], axis=0)
    return active, observed


def use_share(profiles: Mapping[str, WeeklyProfile]) -> np.ndarray:
    """Per hour of week: the share of observed weeks in which some resource was used (NaN: never observed)."""
    active, observed = _combined(profiles)
    seen = observed.sum(axis=0)
    used = (active & observed).sum(axis=0)
    return np.where(seen > 0, used / np.maximum(seen, 1), np.nan)


def detect(profiles: Mapping[str, WeeklyProfile], policy: DetectionPolicy = DetectionPolicy()) -> Detection:
    """The environment's schedule from its resources' profiles ("<region>/<resource_id>" -> profile)."""
    if not profiles:
        return Detection((True,) * HOURS_PER_WEEK, 0, 0, None, None, "no resource with a use signal")
    shapes = {p.peak.shape for p in profiles.values()}
    if len(shapes) != 1:
        raise ValueError(f"profiles cover different windows: {sorted(shapes)}")
    active, observed = _combined(profiles)
    seen = observed.sum(axis=0)
    off_candidate = (seen >= policy.min_weeks) & (1 - use_share(profiles) >= policy.min_idle_share)
    on = _dilate(~off_candidate, policy.margin_before, policy.margin_after)
    weeks = int(observed.any(axis=1).sum())
    off = ~on
    agreeing = int(sum(1 for w in range(active.shape[0]) if observed[w].any() and not (active[w] & off).any()))
    largest = _largest_off_use(profiles, off)

    def result(schedule: WeeklySchedule | None, reason: str) -> Detection:
        return Detection(tuple(bool(x) for x in on), weeks, agreeing, largest, schedule, reason)

    if weeks < policy.min_weeks:
        return result(None, f"{weeks} week(s) of data: at least {policy.min_weeks} are needed to see a weekly pattern")
    if not on.any():
        return result(None, "no use above the idle floor all week: a schedule would never switch it on")
    if int(off.sum()) < policy.min_off_hours:
        return result(
            None,
            f"used around the clock: {int(off.sum())} idle hour(s) a week, fewer than {policy.min_off_hours}",
        )
    schedule = WeeklySchedule(windows(on), policy.timezone)
    return result(
        schedule,
        f"idle {int(off.sum())} of {HOURS_PER_WEEK} hours a week in {agreeing} of {weeks} weeks "
        f"(margin {policy.margin_before} h before, {policy.margin_after} h after use)",
    )
