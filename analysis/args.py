"""Flag values shared by the analysis commands: one parser per kind of value, one error style."""

from __future__ import annotations

from analysis.collect import MAX_DAYS, MIN_DAYS
from analysis.errors import UsageError


def parse_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise UsageError(f"--days must be a whole number of days, {MIN_DAYS}..{MAX_DAYS}; got {text!r}") from None
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise UsageError(f"--days must be {MIN_DAYS}..{MAX_DAYS} (CloudWatch keeps hourly data 455 days); got {days}")
    return days


def parse_regions(text: str) -> list[str]:
    from analysis.sources.aws import known_regions

    regions = list(dict.fromkeys(r.strip() for r in text.split(",") if r.strip()))
    if not regions:
        raise UsageError("--regions needs at least one region name, e.g. us-east-1,us-west-2")
    unknown = [r for r in regions if r not in known_regions()]
    if unknown:
        raise UsageError(f"--regions: unknown region name(s) {', '.join(unknown)} (e.g. us-east-1)")
    return regions


def parse_tags(texts: list[str]) -> tuple[tuple[str, str], ...]:
    from analysis.inventory import parse_tag_filter

    try:
        return tuple(parse_tag_filter(t) for t in texts)
    except ValueError as e:
        raise UsageError(str(e)) from None


def parse_fraction(text: str, flag: str, *, low: float = 0.0, high: float = 1.0) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag} must be a number {low:g}..{high:g}; got {text!r}") from None
    if not low <= value <= high:
        raise UsageError(f"{flag} must be {low:g}..{high:g}; got {text}")
    return value
