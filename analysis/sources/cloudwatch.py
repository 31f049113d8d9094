"""MetricsSource over CloudWatch GetMetricData, used at the API's limits.

- A call carries <= 500 queries and <= 100,800 expected datapoints: series are bin-packed by
  their expected datapoint count (45 d at 300 s = 12,960 points -> 7 series per call).
  Each series is requested once over the whole window, so metrics requested (what CloudWatch
  bills, $0.01 per 1,000) is the minimum too; splitting series in time would save at most
  ~10% of the calls and multiply the bill by the number of pieces.
- Pages are followed with NextToken; a series left `PartialData` without a token, or
  `InternalError`, is asked again for what is missing (bounded rounds).
- Calls of one region run in a bounded thread pool; botocore's adaptive retry mode rate-limits
  on throttling, and a throttling error that still escapes is retried here with backoff.
- Every request sent is counted (retries included) against the theoretical minimum.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from analysis.model import MetricQuery, Series

MAX_QUERIES = 500  # MetricDataQueries per GetMetricData call
MAX_DATAPOINTS = 100_800  # datapoints per call (and per page)
USD_PER_METRIC = 0.01 / 1000  # GetMetricData: $0.01 per 1,000 metrics requested
FOLLOW_UP_ROUNDS = 3
DAY = 86_400


class CloudWatchError(Exception):
    """Collection in one region cannot go on (access denied, retries exhausted)."""


def required_period(start: int, now: int) -> int:
    """Smallest period CloudWatch still serves for data starting at `start` (retention tiers)."""
    age = now - start
    if age <= 15 * DAY:
        return 60
    if age <= 63 * DAY:
        return 300
    return 3600


def expected_points(query: MetricQuery, start: int, end: int) -> int:
    return max(1, math.ceil((end - start) / query.period))


# --- planning ----------------------------------------------------------------------------


def plan_calls(queries: Sequence[MetricQuery], start: int, end: int) -> list[list[MetricQuery]]:
    """Bin-pack queries into calls (first fit decreasing, one size class at a time).

    Series of one size fill a call exactly (min(500, 100,800 // points) per call); a smaller
    class first tops up the calls a larger class left open. A series above 100,800 points
    gets a call of its own and is paged with NextToken.
    """
    by_size: dict[int, list[MetricQuery]] = defaultdict(list)
    for q in dict.fromkeys(queries):  # a series asked twice is fetched once
        by_size[expected_points(q, start, end)].append(q)
    calls: list[list[MetricQuery]] = []
    room: list[list[int]] = []  # per open call: [queries left, points left]
    for size in sorted(by_size, reverse=True):
        pending = by_size[size]
        if size > MAX_DATAPOINTS:
            calls += [[q] for q in pending]
            room += [[0, 0] for _ in pending]
            continue
        i = 0
        for c, (q_left, p_left) in enumerate(room):
            take = min(q_left, p_left // size, len(pending) - i)
            if take > 0:
                calls[c] += pending[i : i + take]
                room[c] = [q_left - take, p_left - take * size]
                i += take
            if i == len(pending):
                break
        per_call = min(MAX_QUERIES, MAX_DATAPOINTS // size)
        while i < len(pending):
            chunk = pending[i : i + per_call]
            calls.append(list(chunk))
            room.append([MAX_QUERIES - len(chunk), MAX_DATAPOINTS - len(chunk) * size])
            i += len(chunk)
    return calls


def minimum_calls(queries: Sequence[MetricQuery], start: int, end: int) -> int:
    """Theoretical minimum of GetMetricData calls for this query set (each series requested once).

    The largest of three lower bounds, each valid for any packing: queries / 500; total
    datapoints / 100,800; and for every size t, the series of >= t points over the most such
    series one call can hold (min(500, 100,800 // t)). Series above 100,800 points need
    ceil(points / 100,800) pages each. For series of one size the bound is exact.
    """
    sizes = sorted((expected_points(q, start, end) for q in dict.fromkeys(queries)), reverse=True)
    big = [s for s in sizes if s > MAX_DATAPOINTS]
    small = sizes[len(big) :]
    pages = sum(math.ceil(s / MAX_DATAPOINTS) for s in big)
    if not small:
        return pages
    bound = max(math.ceil(len(small) / MAX_QUERIES), math.ceil(sum(small) / MAX_DATAPOINTS))
    for n, t in enumerate(small, 1):  # n series have >= t points
        if n == len(small) or small[n] != t:
            bound = max(bound, math.ceil(n / min(MAX_QUERIES, MAX_DATAPOINTS // t)))
    return pages + bound


# --- usage accounting --------------------------------------------------------------------


@dataclass
class ApiUsage:
    """What a collection cost: figures printed by `collect` and recorded in the JSON report."""

    calls: int = 0  # GetMetricData requests sent: pages, follow-ups and retries included
    planned_calls: int = 0
    minimum_calls: int = 0
    metrics_requested: int = 0  # queries in answered requests, pages included (what CloudWatch bills)
    series: int = 0
    datapoints: int = 0
    throttled: int = 0  # requests refused for throttling (and retried)
    incomplete_series: int = 0  # still partial after the follow-up rounds
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def cost_usd(self) -> float:
        return self.metrics_requested * USD_PER_METRIC

    @property
    def ratio(self) -> float:
        return self.calls / self.minimum_calls if self.minimum_calls else 1.0

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                setattr(self, name, getattr(self, name) + n)

    def as_dict(self) -> dict[str, Any]:
        return {
            "api_calls": self.calls,
            "planned_calls": self.planned_calls,
            "minimum_calls": self.minimum_calls,
            "calls_vs_minimum": round(self.ratio, 4),
            "metrics_requested": self.metrics_requested,
            "cost_usd": round(self.cost_usd, 6),
            "series": self.series,
            "datapoints": self.datapoints,
            "throttled": self.throttled,
            "incomplete_series": self.incomplete_series,
        }

    def summary(self) -> str:
        return (
            f"GetMetricData: {self.calls} calls (theoretical minimum {self.minimum_calls}, "
            f"{self.ratio:.3f}x), {self.metrics_requested} metrics requested = ${self.cost_usd:.4f} "
            f"at $0.01/1,000; {self.series} series, {self.datapoints} datapoints"
            + (f", {self.throttled} throttled requests retried" if self.throttled else "")
            + (f", {self.incomplete_series} series incomplete" if self.incomplete_series else "")
        )


# --- decoding ----------------------------------------------------------------------------


def epoch_seconds(timestamps: Sequence[Any]) -> np.ndarray:
    """GetMetricData timestamps (epoch numbers from our fast parser, or datetimes) -> int64."""
    if len(timestamps) == 0:
        return np.zeros(0, np.int64)
    if isinstance(timestamps[0], datetime):
        return np.fromiter((t.timestamp() for t in timestamps), np.float64, len(timestamps)).astype(np.int64)
    return np.asarray(timestamps, dtype=np.float64).astype(np.int64)


def decode(region: str, query: MetricQuery, timestamps: list, values: list) -> Series:
    ts = epoch_seconds(timestamps)
    vals = np.asarray(values, dtype=np.float64)
    if len(ts) > 1 and not np.all(ts[1:] > ts[:-1]):  # pages out of order or repeated: sort, keep first
        order = np.argsort(ts, kind="stable")
        ts, vals = ts[order], vals[order]
        keep = np.concatenate([[True], ts[1:] != ts[:-1]])
        ts, vals = ts[keep], vals[keep]
    return Series(region, query, ts, vals)


def _utc(epoch: int) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


def _query_json(qid: str, q: MetricQuery) -> dict[str, Any]:
    return {
        "Id": qid,
        "ReturnData": True,
        "MetricStat": {
            "Metric": {
                "Namespace": q.namespace,
                "MetricName": q.metric_name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in q.dimensions],
            },
            "Period": q.period,
            "Stat": q.stat,
        },
    }


# --- the source --------------------------------------------------------------------------


class CloudWatchSource:
    """MetricsSource: GetMetricData through a `Connector` (analysis/sources/aws.py)."""

    def __init__(
        self,
        connector,
        max_workers: int = 4,
        throttle_retries: int = 6,
        sleep: Callable[[float], None] = time.sleep,
        progress: Callable[[str, int, int], None] | None = None,
        now: Callable[[], float] = time.time,
    ):
        self.connector = connector
        self.max_workers = max_workers
        self.throttle_retries = throttle_retries
        self.sleep = sleep
        self.progress = progress  # (region, calls done, calls planned)
        self.now = now
        self.usage = ApiUsage()
        self.messages: list[str] = []

    def client(self, region: str):
        return self.connector.client("cloudwatch", region, raw_timestamps=True)

    def fetch(self, region: str, queries: Sequence[MetricQuery], start: int, end: int) -> dict[MetricQuery, Series]:
        queries = list(dict.fromkeys(queries))
        floor = required_period(start, int(self.now()))
        too_fine = sorted({q.period for q in queries if q.period % floor})
        if too_fine:
            raise ValueError(
                f"period(s) {too_fine} s return no data for a window starting "
                f"{(int(self.now()) - start) / DAY:.0f} days ago: use a multiple of {floor} s"
            )
        plan = plan_calls(queries, start, end)
        self.usage.add(planned_calls=len(plan), minimum_calls=minimum_calls(queries, start, end), series=len(queries))
        client = self.client(region)
        out: dict[MetricQuery, Series] = {}
        done = 0
        if self.progress:
            self.progress(region, 0, len(plan))
        with ThreadPoolExecutor(max_workers=max(1, self.max_workers)) as pool:
            futures = [pool.submit(self._collect_call, client, region, call, start, end) for call in plan]
            try:
                for fut in as_completed(futures):
                    out.update(fut.result())
                    done += 1
                    if self.progress:
                        self.progress(region, done, len(plan))
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
        return {q: out[q] for q in queries}

    def _collect_call(
        self, client, region: str, call: list[MetricQuery], start: int, end: int
    ) -> dict[MetricQuery, Series]:
        """One planned call: its pages, then follow-ups for series left partial."""
        got_ts: dict[MetricQuery, list] = {q: [] for q in call}
        got_vals: dict[MetricQuery, list] = {q: [] for q in call}
        todo = {start: call}  # follow-up start -> queries
        for _round in range(1 + FOLLOW_UP_ROUNDS):
            again: dict[int, list[MetricQuery]] = defaultdict(list)
            for first, qs in sorted(todo.items()):
                status = self._request_pages(client, qs, first, end, got_ts, got_vals)
                for q, code in status.items():
                    if code in ("PartialData", "InternalError"):
                        last = got_ts[q][-1] if got_ts[q] else None
                        resume = first if last is None else int(epoch_seconds([last])[0]) + q.period
                        if resume < end:
                            again[resume].append(q)
                    elif code == "Forbidden":
                        self.messages.append(f"{region}: {q.namespace}/{q.metric_name} forbidden for this principal")
            todo = again
            if not todo:
                break
        self.usage.add(incomplete_series=sum(len(qs) for qs in todo.values()))
        series = {q: decode(region, q, got_ts[q], got_vals[q]) for q in call}
        self.usage.add(datapoints=sum(len(s.timestamps) for s in series.values()))
        return series

    def _request_pages(
        self, client, qs: list[MetricQuery], start: int, end: int, got_ts: dict, got_vals: dict
    ) -> dict[MetricQuery, str]:
        by_id = {f"q{i}": q for i, q in enumerate(qs)}
        params = {
            "MetricDataQueries": [_query_json(i, q) for i, q in by_id.items()],
            "StartTime": _utc(start),
            "EndTime": _utc(end),
            "ScanBy": "TimestampAscending",
            "MaxDatapoints": MAX_DATAPOINTS,
        }
        status: dict[MetricQuery, str] = {}
        token = None
        while True:
            response = self._send(client, dict(params, NextToken=token) if token else params, len(qs))
            for result in response.get("MetricDataResults", []):
                q = by_id.get(result["Id"])
                if q is None:
                    continue
                got_ts[q].extend(result.get("Timestamps", []))
                got_vals[q].extend(result.get("Values", []))
                status[q] = result.get("StatusCode", "Complete")
            token = response.get("NextToken")
            if not token:
                return status
            # more pages follow: a PartialData status only means "see next page"
            status = {q: s for q, s in status.items() if s != "PartialData"}

    def _send(self, client, params: dict[str, Any], n_queries: int) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        from analysis.sources.aws import error_code, is_access_denied, is_throttling

        for attempt in range(self.throttle_retries + 1):
            try:
                response = client.get_metric_data(**params)
            except ClientError as e:
                retries = e.response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
                self.usage.add(calls=1 + retries)
                if is_access_denied(e):
                    raise CloudWatchError(f"cloudwatch:GetMetricData access denied ({error_code(e)})") from None
                if not is_throttling(e):
                    raise
                self.usage.add(throttled=1 + retries)
                if attempt == self.throttle_retries:
                    raise CloudWatchError(f"GetMetricData still throttled after {attempt + 1} attempts") from None
                self.sleep(min(20.0, 0.5 * 2**attempt) * (0.5 + random.random() / 2))
                continue
            retries = response.get("ResponseMetadata", {}).get("RetryAttempts", 0)
            self.usage.add(calls=1 + retries, metrics_requested=n_queries, throttled=retries)
            return response
        raise AssertionError("unreachable")
