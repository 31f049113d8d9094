"""Inline SVG heat map of an environment's weekly use (weekday x hour) with the proposed
schedule's on windows drawn over it.

A cell's shade is the share of observed weeks in which something was used in that hour (hatched
grey: never observed). Pure function returning SVG text; numbers are rounded to fixed decimals
so the report stays byte-identical across runs.
"""

from __future__ import annotations

from html import escape

import numpy as np

from stacks.schedule_contract import DAYS, MINUTES_PER_WEEK, WeeklySchedule

CELL_W, CELL_H = 22, 18
PAD_L, PAD_T, PAD_R, PAD_B = 40, 28, 12, 52
WIDTH = PAD_L + 24 * CELL_W + PAD_R
HEIGHT = PAD_T + 7 * CELL_H + PAD_B


def _segments(schedule: WeeklySchedule) -> list[tuple[int, int, int]]:
    """(day, first minute, last minute) of each on stretch, split at midnight and at the week's end."""
    out = []
    for w in schedule.windows:
        for s, e in w.intervals():
            t = s
            while t < e:
                day_end = (t // 1440 + 1) * 1440
                stop = min(e, day_end)
                out.append(((t // 1440) % 7, t % 1440, t % 1440 + (stop - t)))
                t = stop
    return sorted(out)


def heatmap_svg(title: str, share: np.ndarray, schedule: WeeklySchedule | None) -> str:
    """`share`: 168 values in [0, 1] (hour 0 = Monday 00:00 in the schedule's zone), NaN = no data."""
    share = np.asarray(share, float)
    if share.shape != (MINUTES_PER_WEEK // 60,):
        raise ValueError(f"a weekly heat map needs 168 hourly values, got {share.shape}")
    zone = schedule.timezone if schedule else "UTC"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD_L}" y="16" class="title">{escape(title)}</text>',
    ]
    for h in range(0, 24, 3):
        parts.append(f'<text x="{PAD_L + h * CELL_W}" y="{PAD_T + 7 * CELL_H + 14}" class="axis">{h:02d}</text>')
    for d, name in enumerate(DAYS):
        y = PAD_T + d * CELL_H
        parts.append(f'<text x="{PAD_L - 6}" y="{y + CELL_H - 5}" text-anchor="end" class="axis">{name.title()}</text>')
        for h in range(24):
            v = share[d * 24 + h]
            x = PAD_L + h * CELL_W
            if np.isnan(v):
                parts.append(f'<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" class="nodata"/>')
            else:
                parts.append(
                    f'<rect x="{x}" y="{y}" width="{CELL_W}" height="{CELL_H}" class="use" '
                    f'fill-opacity="{0.06 + 0.94 * float(v):.2f}"><title>{name.title()} {h:02d}:00 '
                    f"used in {float(v):.0%} of weeks</title></rect>"
                )
    if schedule is not None:
        for day, a, b in _segments(schedule):
            parts.append(
                f'<rect x="{PAD_L + a / 60 * CELL_W:.1f}" y="{PAD_T + day * CELL_H}" width="{(b - a) / 60 * CELL_W:.1f}" '
                f'height="{CELL_H}" class="window"/>'
            )
    caption = f"outline: {schedule.describe()}" if schedule else "no schedule proposed"
    parts.append(
        f'<text x="{PAD_L}" y="{HEIGHT - 20}" class="axis">shade: share of weeks used, hour by hour ({escape(zone)})</text>'
        f'<text x="{PAD_L}" y="{HEIGHT - 6}" class="axis">{escape(caption)}</text>'
    )
    parts.append("</svg>")
    return "".join(parts)
