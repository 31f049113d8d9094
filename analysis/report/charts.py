"""Inline SVG utilisation charts: demand over the window against current and proposed capacity.

Pure functions returning SVG text, so the HTML report needs no script and no network.
Numbers are rounded to fixed decimals to keep the output byte-identical across runs.
"""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape

import numpy as np

WIDTH, HEIGHT = 640, 180
PAD_L, PAD_R, PAD_T, PAD_B = 56, 12, 12, 28
MAX_POINTS = 320  # per chart: keeps the page small while every bucket keeps its peak


def downsample_max(
    timestamps: np.ndarray, values: np.ndarray, buckets: int = MAX_POINTS
) -> tuple[np.ndarray, np.ndarray]:
    """Bucket the series and keep each bucket's maximum: a spike is never averaged away."""
    if len(values) <= buckets:
        return timestamps, values
    edges = np.linspace(0, len(values), buckets + 1).astype(int)
    ts = np.array([timestamps[a] for a in edges[:-1]])
    vs = np.array([values[a:b].max() for a, b in zip(edges[:-1], edges[1:])])
    return ts, vs


def _fmt(v: float) -> str:
    for limit, div, suffix in ((1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e3, 1e3, "k")):
        if abs(v) >= limit:
            return f"{v / div:.1f}{suffix}"
    return f"{v:.1f}" if abs(v) < 100 else f"{v:.0f}"


def utilisation_svg(
    title: str, unit: str, timestamps: np.ndarray, values: np.ndarray, current: float | None, proposed: float | None
) -> str:
    """A line chart of demand with horizontal lines for current and proposed capacity."""
    ts, vs = downsample_max(np.asarray(timestamps), np.asarray(values, dtype=float))
    if len(vs) == 0:
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="40" role="img" '
            f'aria-label="{escape(title)}"><text x="8" y="24" class="muted">no datapoints for '
            f'{escape(title)}</text></svg>'
        )
    lines = [x for x in (current, proposed) if x is not None]
    top = max([float(vs.max())] + lines) * 1.08 or 1.0
    t0, t1 = int(ts[0]), int(ts[-1]) if ts[-1] > ts[0] else int(ts[0]) + 1
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(t: float) -> float:
        return PAD_L + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return PAD_T + plot_h - v / top * plot_h

    points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(ts, vs))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for frac in (0.0, 0.5, 1.0):
        v = top * frac
        parts.append(f'<text x="{PAD_L - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="axis">{_fmt(v)}</text>')
    for t, anchor in ((t0, "start"), (t1, "end")):
        day = datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d")
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" class="axis">{day}</text>')
    parts.append(f'<polyline points="{points}" class="demand"/>')
    for value, css, label in ((current, "current", "current"), (proposed, "proposed", "proposed")):
        if value is not None:
            parts.append(
                f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(value):.1f}" y2="{y(value):.1f}" class="{css}"/>'
            )
            parts.append(
                f'<text x="{WIDTH - PAD_R - 4}" y="{y(value) - 4:.1f}" text-anchor="end" class="{css}-label">'
                f'{label} {_fmt(value)} {escape(unit)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def projected_svg(title: str, timestamps: np.ndarray, today: np.ndarray, projected: np.ndarray) -> str:
    """Utilisation (%) over the window today and replayed on the proposed size, with the 100% line.

    A share of each size, so the scale stays readable however far today's capacity is above the
    demand (a demand chart drawn to today's capacity is a flat line at the bottom)."""
    ts, now = downsample_max(np.asarray(timestamps), np.asarray(today, dtype=float) * 100)
    _, new = downsample_max(np.asarray(timestamps), np.asarray(projected, dtype=float) * 100)
    if len(ts) == 0:
        return utilisation_svg(title, "%", ts, now, None, None)
    top = max(100.0, float(now.max()), float(new.max())) * 1.05
    t0, t1 = int(ts[0]), int(ts[-1]) if ts[-1] > ts[0] else int(ts[0]) + 1
    plot_w, plot_h = WIDTH - PAD_L - PAD_R, HEIGHT - PAD_T - PAD_B

    def x(t: float) -> float:
        return PAD_L + (t - t0) / (t1 - t0) * plot_w

    def y(v: float) -> float:
        return PAD_T + plot_h - v / top * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<rect x="{PAD_L}" y="{PAD_T}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for v in (0.0, 50.0, 100.0):
        parts.append(f'<text x="{PAD_L - 4}" y="{y(v) + 4:.1f}" text-anchor="end" class="axis">{v:.0f}%</text>')
    for t, anchor in ((t0, "start"), (t1, "end")):
        day = datetime.fromtimestamp(t, tz=UTC).strftime("%Y-%m-%d")
        parts.append(f'<text x="{x(t):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}" class="axis">{day}</text>')
    parts.append(f'<line x1="{PAD_L}" x2="{WIDTH - PAD_R}" y1="{y(100):.1f}" y2="{y(100):.1f}" class="current"/>')
    for values, css, label, dy in ((now, "current", "today", 12), (new, "proposed", "replayed on the proposal", 24)):
        points = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in zip(ts, values))
        parts.append(f'<polyline points="{points}" class="{css}" fill="none"/>')
        parts.append(
            f'<text x="{WIDTH - PAD_R - 4}" y="{PAD_T + dy}" text-anchor="end" class="{css}-label">'
            f"{label}: peak {values.max():.0f}%</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
