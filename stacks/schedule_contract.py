"""The off-hours schedule as a tfvars value, written once (pure: no cdktf, no boto3).

A tier's `<tier>_schedule` variable is null (always on) or the weekly hours it runs:

    {"timezone": "Europe/Berlin",
     "windows": [{"days": ["MON", "TUE", "WED", "THU", "FRI"], "start": "07:00", "hours": 13}]}

Each window switches the tier on at `start` (local time, IANA `timezone`) on each of `days` and
off `hours` later (possibly on a later day). A start plus a length, not a start and an end, so a
window may cross midnight or a weekend without ambiguity. Windows may not overlap or touch:
a touching pair would fire an off and an on at the same minute.

The stacks turn a window into the cron expressions their resources accept (modules/schedules.py;
`aws_autoscaling_schedule` takes Unix cron, Application Auto Scaling and EventBridge Scheduler
take AWS `cron(...)`, all with the IANA time zone); the analysis writes the value and validates
it here; `guard` asks `is_on` whether a quiet tier is simply switched off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")  # index = datetime.weekday()
MINUTES_PER_WEEK = 7 * 24 * 60
MAX_HOURS = 7 * 24 - 1  # a window is at least one hour shorter than the week: it must switch off
START_RE = r"([01][0-9]|2[0-3]):[0-5][0-9]"
TIMEZONE_RE = r"[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*"

# The Terraform type of every `<tier>_schedule` variable (null = no schedule).
TF_TYPE = "object({timezone = string, windows = list(object({days = list(string), start = string, hours = number}))})"


@dataclass(frozen=True)
class Window:
    """On from `start` on each of `days` for `hours` hours."""

    days: tuple[str, ...]  # no default: names from DAYS, in week order
    start: str = "07:00"  # local HH:MM
    hours: int = 13  # 07:00 + 13 h = 20:00

    def __post_init__(self) -> None:
        if not self.days:
            raise ValueError("a window needs at least one day")
        unknown = [d for d in self.days if d not in DAYS]
        if unknown:
            raise ValueError(f"unknown day(s) {', '.join(map(str, unknown))}; days: {', '.join(DAYS)}")
        if len(set(self.days)) != len(self.days):
            raise ValueError(f"day listed twice in {', '.join(self.days)}")
        if not isinstance(self.start, str) or not re.fullmatch(START_RE, self.start):
            raise ValueError(f"start must be HH:MM (00:00..23:59), got {self.start!r}")
        if isinstance(self.hours, bool) or not isinstance(self.hours, int) or not 1 <= self.hours <= MAX_HOURS:
            raise ValueError(f"hours must be a whole number 1..{MAX_HOURS}, got {self.hours!r}")

    @property
    def start_minute(self) -> int:
        """Minutes after local midnight."""
        hh, mm = self.start.split(":")
        return int(hh) * 60 + int(mm)

    def intervals(self) -> list[tuple[int, int]]:
        """[on, off) in minutes of the week (Monday 00:00 = 0); `off` may pass the week's end."""
        return [
            (DAYS.index(d) * 1440 + self.start_minute, DAYS.index(d) * 1440 + self.start_minute + self.hours * 60)
            for d in self.days
        ]

    def describe(self) -> str:
        """`Mon-Fri 07:00-20:00`, `Sat 22:00-02:00 (+1 day)`."""
        end = self.start_minute + self.hours * 60
        days_later = end // 1440
        later = f" (+{days_later} day{'s' if days_later > 1 else ''})" if days_later else ""
        return f"{_day_ranges(self.days)} {self.start}-{end % 1440 // 60:02d}:{end % 60:02d}{later}"


@dataclass(frozen=True)
class WeeklySchedule:
    """The hours a tier runs, in one IANA time zone."""

    windows: tuple[Window, ...]  # no default: at least one
    timezone: str = "UTC"  # IANA name; daylight saving time is followed by AWS and by `is_on`

    def __post_init__(self) -> None:
        if not self.windows:
            raise ValueError("a schedule needs at least one window (null means no schedule)")
        if not isinstance(self.timezone, str) or not re.fullmatch(TIMEZONE_RE, self.timezone):
            raise ValueError(f"unknown time zone {self.timezone!r} (an IANA name such as Europe/Berlin)")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r} (an IANA name such as Europe/Berlin)") from None
        spans = sorted((s, e, w) for w in self.windows for s, e in w.intervals())
        for (_, e1, w1), (s2, _, w2) in zip(spans, spans[1:] + [(spans[0][0] + MINUTES_PER_WEEK, 0, spans[0][2])]):
            if e1 >= s2:  # touching counts: an off and an on at the same minute
                raise ValueError(f"overlapping windows: {w1.describe()} and {w2.describe()}")

    def on_minutes(self) -> int:
        return sum(w.hours * 60 * len(w.days) for w in self.windows)

    def on_hours_per_week(self) -> float:
        return self.on_minutes() / 60

    def on_since(self, epoch: float) -> float | None:
        """When the window holding this instant switched the tier on (epoch seconds), None when off."""
        t = datetime.fromtimestamp(epoch, ZoneInfo(self.timezone))
        minute = t.weekday() * 1440 + t.hour * 60 + t.minute
        for w in self.windows:
            for s, e in w.intervals():
                for m in (minute, minute + MINUTES_PER_WEEK):  # a window may run past Sunday midnight
                    if s <= m < e:
                        return epoch - t.second - t.microsecond / 1e6 - (m - s) * 60
        return None

    def is_on(self, epoch: float) -> bool:
        """Whether the schedule has the tier running at this instant."""
        return self.on_since(epoch) is not None

    def describe(self) -> str:
        """`on Mon-Fri 07:00-20:00 Europe/Berlin`."""
        return f"on {', '.join(w.describe() for w in self.windows)} {self.timezone}"

    def to_tfvars(self) -> dict[str, Any]:
        return {
            "timezone": self.timezone,
            "windows": [{"days": list(w.days), "start": w.start, "hours": w.hours} for w in self.windows],
        }

    @staticmethod
    def from_tfvars(value: Any) -> WeeklySchedule | None:
        """A tfvars value (null = no schedule); ValueError with one line for anything malformed."""
        if value is None:
            return None
        if not isinstance(value, Mapping) or set(value) != {"timezone", "windows"}:
            raise ValueError("a schedule is null or {timezone, windows}")
        windows = value["windows"]
        if not isinstance(windows, list):
            raise ValueError("windows must be a list of {days, start, hours}")
        out = []
        for w in windows:
            if not isinstance(w, Mapping) or set(w) != {"days", "start", "hours"}:
                raise ValueError("each window is {days, start, hours}")
            if not isinstance(w["days"], list):
                raise ValueError("days must be a list such as [\"MON\", \"TUE\"]")
            hours = w["hours"]
            if isinstance(hours, float) and hours.is_integer():
                hours = int(hours)  # JSON numbers may come back as floats
            out.append(Window(tuple(w["days"]), w["start"], hours))
        return WeeklySchedule(tuple(out), value["timezone"])


def problem(value: Any) -> str | None:
    """The props `check`: None, or what is wrong with a `<tier>_schedule` value (one line)."""
    try:
        WeeklySchedule.from_tfvars(value)
    except ValueError as e:
        return str(e)
    return None


def _day_ranges(days: tuple[str, ...]) -> str:
    """("MON", "TUE", "WED", "SAT") -> "Mon-Wed, Sat"."""
    idx = sorted(DAYS.index(d) for d in days)
    runs: list[list[int]] = []
    for i in idx:
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    name = lambda i: DAYS[i].title()  # noqa: E731
    return ", ".join(name(r[0]) if len(r) == 1 else f"{name(r[0])}-{name(r[-1])}" for r in runs)


# --- what the stacks create per window (construct ids shared with modules/schedules.py) ---------
ASG_ACTION = "schedule_{action}"  # aws_autoscaling_schedule, action on/off
PC_TARGET = "{fn}_pc_target"  # aws_appautoscaling_target (count 1)
PC_ACTION = "{fn}_pc_{action}"  # aws_appautoscaling_scheduled_action, action on/off
DB_ROLE, DB_POLICY = "scheduler_role", "scheduler_policy"  # aws_iam_role / aws_iam_role_policy (count 1)
DB_ACTION = "schedule_{action}"  # aws_scheduler_schedule, action start/stop


def planned(tier: str, schedule: WeeklySchedule, functions: tuple[str, ...] = ()) -> list[str]:
    """Terraform addresses a schedule creates in a tier's stack (`functions`: the serverless
    functions it runs provisioned concurrency for)."""
    keys = [str(i) for i in range(len(schedule.windows))]

    def each(rtype: str, template: str, actions: tuple[str, ...], **kw: str) -> list[str]:
        return [f'{rtype}.{template.format(action=a, **kw)}["{k}"]' for a in actions for k in keys]

    if tier == "compute":
        return each("aws_autoscaling_schedule", ASG_ACTION, ("on", "off"))
    if tier == "serverless":
        out = []
        for fn in functions:
            out.append(f"aws_appautoscaling_target.{PC_TARGET.format(fn=fn)}[0]")
            out += each("aws_appautoscaling_scheduled_action", PC_ACTION, ("on", "off"), fn=fn)
        return out
    if tier == "data":
        return [f"aws_iam_role.{DB_ROLE}[0]", f"aws_iam_role_policy.{DB_POLICY}[0]"] + each(
            "aws_scheduler_schedule", DB_ACTION, ("start", "stop")
        )
    raise ValueError(f"tier {tier!r} has no schedule")


# --- Terraform validation blocks (the same rules, on the variable) -----------------------------
_LISTED_DAYS = ", ".join(f'"{d}"' for d in DAYS)
# Every (window, day) as one number, 1000 x the minute of the week it switches on + its hours
# (< 1000). A number, not an object: checkov's HCL parser cannot read two object constructors
# holding strings in one expression, and flatten() would flatten a pair.
_SPANS = (
    "flatten([for w in {var}.windows : [for d in w.days : 1000 * ("
    f"index([{_LISTED_DAYS}], d) * 1440 + tonumber(split(\":\", w.start)[0]) * 60"
    ' + tonumber(split(":", w.start)[1])) + w.hours]])'
)
TF_RULES: tuple[tuple[str, str], ...] = (
    (
        f'{{var}} == null || try(can(regex("^{TIMEZONE_RE}$", {{var}}.timezone)), false)',
        "Schedule timezone must be an IANA time zone name such as Europe/Berlin.",
    ),
    (
        "{var} == null || try(length({var}.windows) > 0, false)",
        "A schedule needs at least one window (null means no schedule).",
    ),
    (
        "{var} == null || try(alltrue([for w in {var}.windows : length(w.days) > 0 && length(w.days) == "
        f"length(distinct(w.days)) && length(setsubtract(w.days, [{_LISTED_DAYS}])) == 0]), false)",
        f"Schedule days must be distinct names among {', '.join(DAYS)}.",
    ),
    (
        f'{{var}} == null || try(alltrue([for w in {{var}}.windows : can(regex("^{START_RE}$", w.start))]), false)',
        "Schedule window start must be HH:MM (00:00..23:59).",
    ),
    (
        "{var} == null || try(alltrue([for w in {var}.windows : w.hours >= 1 && w.hours <= "
        f"{MAX_HOURS} && floor(w.hours) == w.hours]), false)",
        f"Schedule window hours must be a whole number 1..{MAX_HOURS}.",
    ),
    (
        # every ordered pair of switch-ons: the other one starts strictly after this one ends
        f"{{var}} == null || try(alltrue([for i, a in {_SPANS} : alltrue([for j, b in {_SPANS} : "
        f"i == j || (floor(b / 1000) - floor(a / 1000) + {MINUTES_PER_WEEK}) % {MINUTES_PER_WEEK} "
        "> a % 1000 * 60])]), false)",
        "Schedule windows must not overlap or touch.",
    ),
)
