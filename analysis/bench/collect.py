"""Benchmark: plan GetMetricData for a fleet and decode a full simulated response set.

`make bench-collect` (or `python -m analysis.bench.collect --resources 1000 --days 45`) prints
calls planned vs the theoretical minimum (target <= 1.05x), what the run would bill, and the
time to plan and to decode every datapoint through CloudWatchSource's own code path (a fake
client answers each call at once with full series, as botocore hands them over with our
epoch-seconds timestamp parser).
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from analysis.model import Resource

REGION = "us-east-1"


def synthetic_fleet(n: int, region: str = REGION) -> list[Resource]:
    """n resources cycling through the five kinds, shaped like the staging fleet."""
    out = []
    for i in range(n):
        k = i % 5
        if k == 0:
            out.append(Resource("rds", region, f"db-{i}", None, {}, {"role": "replica" if i % 3 == 0 else "primary"}))
        elif k == 1:
            out.append(
                Resource(
                    "elasticache",
                    region,
                    f"cache-{i}",
                    None,
                    {},
                    {"member_clusters": tuple(f"cache-{i}-0001-00{j}" for j in (1, 2, 3))},
                )
            )
        elif k == 2:
            out.append(
                Resource(
                    "asg",
                    region,
                    f"asg-{i}",
                    None,
                    {},
                    {
                        "load_balancer_arns": (
                            f"arn:aws:elasticloadbalancing:{region}:123456789012:loadbalancer/net/nlb-{i}/0123456789abcdef",
                        )
                    },
                )
            )
        elif k == 3:
            out.append(Resource("lambda", region, f"fn-{i}", None, {}, {"alias": "live"}))
        else:
            out.append(Resource("nat", region, f"vpc-{i}", None, {}, {"nat_gateway_ids": (f"nat-{i}a", f"nat-{i}b")}))
    return out


class SimulatedCloudWatch:
    """Answers GetMetricData with a full series for every query (one shared list per window)."""

    def __init__(self):
        self._series: dict[tuple[float, float, int], tuple[list, list]] = {}

    def _full(self, start: float, end: float, period: int) -> tuple[list, list]:
        key = (start, end, period)
        if key not in self._series:
            ts = np.arange(start, end, period, dtype=np.float64)
            self._series[key] = ts.tolist(), np.random.default_rng(0).random(len(ts)).tolist()
        return self._series[key]

    def get_metric_data(self, MetricDataQueries, StartTime, EndTime, **_):
        results = []
        for q in MetricDataQueries:
            ts, vals = self._full(StartTime.timestamp(), EndTime.timestamp(), q["MetricStat"]["Period"])
            results.append({"Id": q["Id"], "StatusCode": "Complete", "Timestamps": ts, "Values": vals})
        return {"MetricDataResults": results, "ResponseMetadata": {"RetryAttempts": 0}}


class _Connector:
    def __init__(self, client):
        self._client = client

    def client(self, service, region, **_):
        return self._client


def main(argv: list[str] | None = None) -> None:
    from analysis import registry
    from analysis.collect import window
    from analysis.sources.cloudwatch import MAX_DATAPOINTS, CloudWatchSource, expected_points, minimum_calls, plan_calls

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--resources", type=int, default=1000)
    p.add_argument("--days", type=int, default=45)
    args = p.parse_args(argv)

    now = time.time()
    start, end, period = window(args.days, now)
    fleet = synthetic_fleet(args.resources)
    kinds = registry.kinds()
    t0 = time.perf_counter()
    queries = [q for r in fleet for q in kinds[r.kind].queries(r, period=period)]
    plan = plan_calls(queries, start, end)
    minimum = minimum_calls(queries, start, end)
    t_plan = time.perf_counter() - t0
    points = sum(expected_points(q, start, end) for q in queries)
    fluid = math.ceil(points / MAX_DATAPOINTS)

    src = CloudWatchSource(_Connector(SimulatedCloudWatch()), max_workers=4, now=lambda: now)
    t0 = time.perf_counter()
    got = src.fetch(REGION, queries, start, end)
    t_fetch = time.perf_counter() - t0
    decoded = sum(len(s.timestamps) for s in got.values())

    print(
        f"fleet: {args.resources} resources x {args.days} days at {period} s -> {len(queries)} series, "
        f"{points:,} datapoints"
    )
    print(
        f"calls planned: {len(plan)}   theoretical minimum: {minimum}   ratio: {len(plan) / minimum:.4f}x "
        f"(target <= 1.05x)"
    )
    print(
        f"metrics requested: {src.usage.metrics_requested} = ${src.usage.cost_usd:.2f} at $0.01/1,000 "
        f"(each series once; splitting series in time could reach {fluid} calls, "
        f"{fluid / len(plan):.3f}x, but bills every piece as a metric)"
    )
    print(
        f"planning: {t_plan * 1000:.1f} ms   simulated collection + decode: {t_fetch:.2f} s for {decoded:,} "
        f"datapoints ({decoded / t_fetch / 1e6:.1f} M points/s), calls made: {src.usage.calls}"
    )


if __name__ == "__main__":
    main()
