"""The weekly use pattern of a non-production environment, for the simulated account.

Staging is used on working days only: someone arrives, tests, leaves; nights and weekends are
idle. One region may also run a nightly batch job, whose hours no schedule may switch off.
`use_factor` multiplies a demand series: 1 at full use, `idle` when nobody is there.
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np

from analysis.schedule.profile import hour_slots


@dataclass(frozen=True)
class WorkingHours:
    timezone: str = "UTC"  # where the team works
    open_hour: int = 8  # first hour of use on a working day
    close_hour: int = 19  # first idle hour after it
    working_days: int = 5  # Monday .. this many days
    idle: float = 0.0  # use factor outside working hours
    batch_hour: int | None = None  # first hour of a nightly batch (every day), None = no batch
    batch_hours: int = 2  # how long the batch runs
    batch_level: float = 0.5  # use factor while it runs

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)  # an unknown zone fails here, not in the middle of a series
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        if not 0 <= self.open_hour < self.close_hour <= 24:
            raise ValueError(
                f"working hours must satisfy 0 <= open < close <= 24, got {self.open_hour}-{self.close_hour}"
            )
        if not 1 <= self.working_days <= 7:
            raise ValueError(f"working_days must be 1..7, got {self.working_days}")
        if not 0 <= self.idle <= 1 or not 0 <= self.batch_level <= 1:
            raise ValueError("use factors must be in [0, 1]")
        if self.batch_hour is not None and not (0 <= self.batch_hour < 24 and 1 <= self.batch_hours <= 24):
            raise ValueError(
                f"batch must start at 0..23 and last 1..24 hours, got {self.batch_hour}+{self.batch_hours}"
            )


def use_factor(timestamps: np.ndarray, hours: WorkingHours) -> np.ndarray:
    """Use factor at each epoch second in `timestamps` (local working hours, daylight saving followed)."""
    ts = np.asarray(timestamps, np.int64)
    if not len(ts):
        return np.empty(0)
    _, slot = hour_slots(ts, int(ts[0]), hours.timezone)
    day, hour = slot // 24, slot % 24
    working = (day < hours.working_days) & (hour >= hours.open_hour) & (hour < hours.close_hour)
    out = np.where(working, 1.0, hours.idle)
    if hours.batch_hour is not None:
        batch = (hour - hours.batch_hour) % 24 < hours.batch_hours
        out = np.where(batch & ~working, np.maximum(out, hours.batch_level), out)
    return out
