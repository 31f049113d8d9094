"""Off-hours schedules, pure parts: the tfvars value and its validation, weekly profiles in a time
zone, detection on synthetic weekly profiles, the per-environment proposal and its pricing, the
heat map, the simulated working-hours pattern."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import numpy as np
import pytest

from analysis.model import Change, Cost, Recommendation, Resource
from analysis.pricing.catalog import HOURS_PER_MONTH, PriceCatalog
from analysis.report.heatmap import heatmap_svg
from analysis.schedule.detect import DetectionPolicy, detect, use_share, windows
from analysis.schedule.pricing import schedule_cost
from analysis.schedule.profile import Signals, weekly_profile
from analysis.schedule.propose import Decision, Status, propose
from analysis.schedule.workload import WorkingHours, use_factor
from stacks.naming import schedule_variable
from stacks.schedule_contract import TF_RULES, WeeklySchedule, Window, problem

END = int(datetime(2026, 11, 2, tzinfo=UTC).timestamp())  # a Monday 00:00 UTC
START = END - 42 * 86400  # six whole weeks
TS = np.arange(START, END, 300, dtype=np.int64)
BERLIN = "Europe/Berlin"


def office(tz: str = "UTC", **kw) -> np.ndarray:
    return use_factor(TS, WorkingHours(timezone=tz, **kw)) * 100


def profile(values: np.ndarray, tz: str = "UTC", floor: float = 5.0):
    return weekly_profile(TS, values, START, END, tz, floor, "req")


# --------------------------------------------------------------------------- the tfvars value
GOOD = {"timezone": BERLIN, "windows": [{"days": ["MON", "TUE", "WED", "THU", "FRI"], "start": "07:00", "hours": 13}]}


def test_round_trip_and_description():
    s = WeeklySchedule.from_tfvars(GOOD)
    assert s is not None and s.to_tfvars() == GOOD
    assert s.describe() == "on Mon-Fri 07:00-20:00 Europe/Berlin"
    assert s.on_hours_per_week() == 65
    assert WeeklySchedule.from_tfvars(None) is None and problem(None) is None
    assert Window(("SAT",), "22:00", 4).describe() == "Sat 22:00-02:00 (+1 day)"


@pytest.mark.parametrize(
    "value, message",
    [
        ({**GOOD, "timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({**GOOD, "timezone": "../etc/passwd"}, "unknown time zone"),
        ({**GOOD, "windows": [{"days": ["MON"], "start": "25:00", "hours": 2}]}, "start must be HH:MM"),
        ({**GOOD, "windows": [{"days": ["MON"], "start": "7am", "hours": 2}]}, "start must be HH:MM"),
        ({**GOOD, "windows": [{"days": ["MONDAY"], "start": "07:00", "hours": 2}]}, "unknown day(s) MONDAY"),
        ({**GOOD, "windows": [{"days": ["MON", "MON"], "start": "07:00", "hours": 2}]}, "day listed twice"),
        ({**GOOD, "windows": [{"days": ["MON"], "start": "07:00", "hours": 168}]}, "hours must be a whole number"),
        ({**GOOD, "windows": [{"days": ["MON"], "start": "07:00", "hours": 1.5}]}, "hours must be a whole number"),
        ({**GOOD, "windows": []}, "at least one window"),
        ({"timezone": "UTC"}, "null or {timezone, windows}"),
        (
            {
                **GOOD,
                "windows": [
                    {"days": ["MON"], "start": "07:00", "hours": 10},
                    {"days": ["MON"], "start": "12:00", "hours": 2},
                ],
            },
            "overlapping windows: Mon 07:00-17:00 and Mon 12:00-14:00",
        ),
        (  # touching: an off and an on at the same minute
            {
                **GOOD,
                "windows": [
                    {"days": ["MON"], "start": "07:00", "hours": 5},
                    {"days": ["MON"], "start": "12:00", "hours": 2},
                ],
            },
            "overlapping windows",
        ),
        (  # Sunday night into Monday morning wraps the week
            {
                **GOOD,
                "windows": [
                    {"days": ["SUN"], "start": "22:00", "hours": 10},
                    {"days": ["MON"], "start": "07:00", "hours": 2},
                ],
            },
            "overlapping windows: Sun 22:00-08:00 (+1 day) and Mon 07:00-09:00",
        ),
    ],
)
def test_bad_values_are_one_line_errors(value, message):
    err = problem(value)
    assert err is not None and message in err and "\n" not in err


def test_terraform_rules_cover_the_same_cases():
    messages = [m for _, m in TF_RULES]
    assert any("IANA" in m for m in messages) and any("overlap" in m for m in messages)
    assert any("HH:MM" in m for m in messages) and any("days" in m for m in messages)
    for cond, _ in TF_RULES:  # null is always valid, and each rule tests the variable
        assert cond.startswith("{var} == null || ")


def test_is_on_follows_the_time_zone_and_daylight_saving():
    s = WeeklySchedule.from_tfvars(GOOD)
    assert s is not None
    summer = int(datetime(2026, 7, 6, 5, 30, tzinfo=UTC).timestamp())  # Mon 07:30 CEST
    winter = int(datetime(2026, 12, 7, 5, 30, tzinfo=UTC).timestamp())  # Mon 06:30 CET
    assert s.is_on(summer) and not s.is_on(winter)
    sunday_night = WeeklySchedule((Window(("SUN",), "22:00", 4),), "UTC")
    assert sunday_night.is_on(int(datetime(2026, 11, 2, 1, 0, tzinfo=UTC).timestamp()))  # Monday 01:00


# --------------------------------------------------------------------------- profiles and detection
def test_profile_is_in_local_hours():
    p = profile(office(BERLIN), BERLIN)
    assert p.peak.shape == (7, 168)  # the window starts mid-week in Berlin: 7 local weeks
    share = use_share({"x": p})
    assert share[8] == 1.0 and share[7] == 0.0 and share[18] == 1.0 and share[19] == 0.0  # Monday
    assert np.all(share[5 * 24 :] == 0)  # weekend


def test_clean_working_week_gets_the_window_with_margins():
    d = detect({"us-east-1/app": profile(office(BERLIN), BERLIN)}, DetectionPolicy(timezone=BERLIN))
    assert d.schedule is not None
    assert d.schedule.describe() == "on Mon-Fri 07:00-20:00 Europe/Berlin"
    assert d.off_hours == 168 - 65 and d.confidence == 1.0 and d.largest_off_use is None


def test_noisy_working_week_keeps_the_window():
    rng = np.random.default_rng(3)
    values = office() * (1 + 0.2 * rng.standard_normal(len(TS))) + rng.uniform(0, 4, len(TS))  # noise below floor
    d = detect({"a": profile(values)})
    assert d.schedule is not None and d.schedule.describe() == "on Mon-Fri 07:00-20:00 UTC"


def test_one_week_of_overtime_is_reported_not_obeyed():
    values = office()
    late = (TS >= START + 7 * 86400 + 21 * 3600) & (TS < START + 7 * 86400 + 23 * 3600)  # 2nd Monday 21-23
    values = np.where(late, 40.0, values)
    d = detect({"us-east-1/app": profile(values)})
    assert d.schedule is not None and d.schedule.describe() == "on Mon-Fri 07:00-20:00 UTC"
    assert (d.weeks, d.weeks_agreeing) == (6, 5)
    use = d.largest_off_use
    assert use is not None and use.resource == "us-east-1/app" and use.value == 40.0
    assert use.when == "Mon 2026-09-28 21:00"  # the second Monday of the window


def test_overtime_every_week_moves_the_window():
    values = np.where(office(open_hour=8, close_hour=21) > 0, 100.0, 0.0)
    d = detect({"a": profile(values)})
    assert d.schedule is not None and d.schedule.describe() == "on Mon-Fri 07:00-22:00 UTC"


def test_round_the_clock_workload_gets_no_schedule():
    rng = np.random.default_rng(1)
    d = detect({"a": profile(50 + 10 * rng.standard_normal(len(TS)))})
    assert d.schedule is None and "around the clock" in d.reason


def test_never_used_gets_no_schedule():
    d = detect({"a": profile(np.zeros(len(TS)))})
    assert d.schedule is None and "never switch it on" in d.reason


def test_night_batch_of_one_region_stays_on():
    east = profile(office())
    west = profile(office(batch_hour=2, batch_hours=2))
    d = detect({"us-east-1/app": east, "us-west-2/app": west})
    s = d.schedule
    assert s is not None and s.describe() == "on Mon-Sun 01:00-05:00, Mon-Fri 07:00-20:00 UTC"
    for day in range(7):  # every batch hour is on, every night
        for hour in (2, 3):
            assert s.is_on(START + day * 86400 + hour * 3600 + 600)


def test_windows_merge_equal_runs_and_wrap_the_week():
    on = np.zeros(168, bool)
    on[6 * 24 + 22 :] = True  # Sunday 22:00 ..
    on[:2] = True  # .. Monday 02:00
    assert windows(on) == (Window(("SUN",), "22:00", 4),)


# --------------------------------------------------------------------------- proposal and pricing
def rec(kind, rid, config, stack=None, status="no-change", changes=(), excluded=None, region="us-east-1"):
    role = config.get("role", "asg" if kind == "asg" else rid.rsplit("-", 1)[-1])
    r = Resource(kind, region, rid, None, {"Role": role}, config, stack, {}, excluded)
    cost = Cost(None, None, None)
    return Recommendation(r, tuple(changes), 1.0, status, "", "low", {}, cost, cost, "in-place")


ASG = {"instance_type": "c5.4xlarge", "desired_capacity": 6, "min_size": 3, "max_size": 12}
PRIMARY = {
    "role": "primary",
    "instance_class": "db.r6g.large",
    "engine": "postgres",
    "multi_az": True,
    "replica_ids": ["rightsize-staging-data-replica-1"],
}
REPLICA = {"role": "replica", "instance_class": "db.r6g.large", "engine": "postgres", "multi_az": False}
LAMBDA = {"memory_size": 1024, "provisioned_concurrency": 10, "architecture": "x86_64"}
CACHE = {"node_type": "cache.r6g.large", "engine": "redis", "num_shards": 1, "replicas_per_shard": 1}


@pytest.fixture(scope="module")
def catalog():
    return PriceCatalog.load()


def staging(replica_removed: bool, critical_fn: bool = False) -> list[Recommendation]:
    sized_asg = [Change("instance_type", "c5.4xlarge", "c6i.xlarge", "compute_instance_type")]
    remove = [Change("count", 1, 0, "data_replica_count")] if replica_removed else []
    return [
        rec("asg", "rightsize-staging-compute-asg", ASG, "compute-us-east-1", "emitted", sized_asg),
        rec("rds", "rightsize-staging-data-primary", PRIMARY, "data-us-east-1"),
        rec(
            "rds",
            "rightsize-staging-data-replica-1",
            REPLICA,
            "data-us-east-1",
            "emitted" if replica_removed else "no-change",
            remove,
        ),
        rec("lambda", "rightsize-staging-serverless-orders", LAMBDA, "serverless-us-east-1"),
        rec(
            "lambda",
            "rightsize-staging-serverless-catalog",
            LAMBDA,
            "serverless-us-east-1",
            excluded="CriticalPath=true" if critical_fn else None,
        ),
        rec("elasticache", "rightsize-staging-cache-cluster", CACHE, "cache-us-east-1"),
    ]


def office_profiles(recs):
    return {f"{r.resource.region}/{r.resource.resource_id}": profile(office()) for r in recs}


def test_proposal_schedules_what_can_stop(catalog):
    recs = staging(replica_removed=True, critical_fn=True)
    p = propose("staging", recs, office_profiles(recs), catalog)
    assert p.status == Status.PROPOSED
    by_id = {r.resource_id: r for r in p.resources}
    assert by_id["rightsize-staging-compute-asg"].decision == Decision.SCHEDULED
    primary = by_id["rightsize-staging-data-primary"]
    assert primary.decision == Decision.SCHEDULED and "removing its idle replica" in primary.reason
    assert "7 days" in primary.reason
    assert by_id["rightsize-staging-data-replica-1"].decision == Decision.REPLICA
    assert by_id["rightsize-staging-serverless-catalog"].decision == Decision.CRITICAL_PATH
    cache = by_id["rightsize-staging-cache-cluster"]
    assert cache.decision == Decision.NOT_STOPPABLE and cache.cost.continuing and cache.cost.continuing > 0
    value = WeeklySchedule((Window(("MON", "TUE", "WED", "THU", "FRI"), "07:00", 13),), "UTC").to_tfvars()
    assert p.tfvars == {
        "compute-us-east-1": {schedule_variable("compute"): value},
        "data-us-east-1": {schedule_variable("data"): value},
        "serverless-us-east-1": {schedule_variable("serverless"): value},
    }
    assert set(p.saved_by_tier()) == {"compute", "data", "serverless"}


def test_primary_with_a_kept_replica_is_not_stopped(catalog):
    recs = staging(replica_removed=False)
    p = propose("staging", recs, office_profiles(recs), catalog)
    primary = next(r for r in p.resources if r.resource_id == "rightsize-staging-data-primary")
    assert primary.decision == Decision.HAS_REPLICA and "read replica" in primary.reason
    assert "data-us-east-1" not in p.tfvars


def test_production_is_never_scheduled(catalog):
    recs = staging(replica_removed=True)
    p = propose("production", recs, office_profiles(recs), catalog)
    assert p.status == Status.EXCLUDED_ENVIRONMENT and not p.tfvars and not p.resources


def test_round_the_clock_environment_writes_nothing(catalog):
    recs = staging(replica_removed=True)
    flat = {k: profile(np.full(len(TS), 50.0)) for k in office_profiles(recs)}
    p = propose("staging", recs, flat, catalog)
    assert p.status == Status.NONE and not p.tfvars
    assert {r.decision for r in p.resources} == {Decision.NO_SCHEDULE}


def test_saving_is_priced_on_the_sized_configuration_never_double_counted(catalog):
    recs = staging(replica_removed=True)
    asg = recs[0]
    off = 103
    cost = schedule_cost(asg, off, catalog)
    sized = catalog.hourly("ec2", "us-east-1", "c6i.xlarge", "linux_shared")["on_demand"].value
    today = catalog.hourly("ec2", "us-east-1", "c5.4xlarge", "linux_shared")["on_demand"].value
    assert sized is not None and today is not None
    assert cost.saved == pytest.approx(6 * sized * off / 168 * HOURS_PER_MONTH)
    assert cost.saved != pytest.approx(6 * today * off / 168 * HOURS_PER_MONTH)
    # not emitted: today's size runs, so the schedule saves on today's size
    kept = rec("asg", "x", ASG, "compute-us-east-1", "below-threshold", asg.changes)
    assert schedule_cost(kept, off, catalog).saved == pytest.approx(6 * today * off / 168 * HOURS_PER_MONTH)
    # sizing saving + schedule saving = current cost - what still runs (no hour counted twice)
    sizing_saving = 6 * (today - sized) * HOURS_PER_MONTH
    still_paid = 6 * sized * (168 - off) / 168 * HOURS_PER_MONTH
    assert sizing_saving + cost.saved == pytest.approx(6 * today * HOURS_PER_MONTH - still_paid)


def test_lambda_saves_only_provisioned_concurrency(catalog):
    fn = rec("lambda", "f-orders", LAMBDA, "serverless-us-east-1")
    rate = catalog.price(
        "lambda", "us-east-1", "x86_64", "provisioned_concurrency", "provisioned_concurrency_gb_second"
    )
    assert rate.value is not None
    cost = schedule_cost(fn, 84, catalog)
    assert cost.saved == pytest.approx(10 * 1.0 * rate.value * 3600 * 84 / 168 * HOURS_PER_MONTH)
    assert cost.reserved_note is None


def test_reservation_note_says_when_a_schedule_makes_it_a_bad_buy(catalog):
    primary = rec("rds", "p", {**PRIMARY, "replica_ids": []}, "data-us-east-1")
    short = schedule_cost(primary, 103, catalog).reserved_note  # on 39% of hours
    assert short is not None and "do not buy or renew" in short
    long = schedule_cost(primary, 20, catalog).reserved_note  # on 88% of hours
    assert long is not None and "still beats on-demand" in long


def test_signals_pick_the_use_metric_of_each_kind():
    s = Signals()
    fn = rec("lambda", "f", LAMBDA).resource
    assert [q.metric_name for q in s.queries(fn)] == ["Invocations"]
    db = rec("rds", "d", PRIMARY).resource
    assert [(q.metric_name, q.stat) for q in s.queries(db)] == [("DatabaseConnections", "Maximum")]


# --------------------------------------------------------------------------- heat map
def test_heatmap_draws_the_window_and_is_deterministic():
    p = {"a": profile(office())}
    d = detect(p)
    svg = heatmap_svg("staging", use_share(p), d.schedule)
    assert svg == heatmap_svg("staging", use_share(p), d.schedule)
    windows_drawn = re.findall(r'<rect x="([\d.]+)" y="(\d+)" width="([\d.]+)" height="18" class="window"/>', svg)
    assert len(windows_drawn) == 5  # Mon-Fri
    assert {(x, w) for x, _, w in windows_drawn} == {("194.0", "286.0")}  # 07:00 for 13 h at 22 px per hour
    assert svg.count('class="use"') == 168
    assert "on Mon-Fri 07:00-20:00 UTC" in svg
    assert 'class="window"' not in heatmap_svg("x", use_share(p), None)


def test_heatmap_splits_a_window_at_midnight():
    s = WeeklySchedule((Window(("SUN",), "22:00", 4),), "UTC")
    svg = heatmap_svg("x", np.zeros(168), s)
    drawn = re.findall(r'<rect x="([\d.]+)" y="(\d+)" width="([\d.]+)" height="18" class="window"/>', svg)
    assert sorted(drawn) == sorted([("524.0", "136", "44.0"), ("40.0", "28", "44.0")])


# --------------------------------------------------------------------------- simulated pattern
def test_working_hours_with_a_night_batch():
    hours = WorkingHours(batch_hour=2, batch_hours=2, batch_level=0.5)
    monday = np.array([END + h * 3600 for h in range(24)])
    f = use_factor(monday, hours)
    assert list(f[[1, 2, 3, 4, 8, 18, 19]]) == [0.0, 0.5, 0.5, 0.0, 1.0, 1.0, 0.0]
    saturday = use_factor(np.array([END + 5 * 86400 + 10 * 3600]), hours)
    assert saturday[0] == 0.0
    with pytest.raises(ValueError):
        WorkingHours(timezone="Nowhere/Land")


def test_on_since_is_the_switch_on_instant():
    s = WeeklySchedule((Window(("SUN",), "22:00", 4),), "UTC")
    monday_0130 = datetime(2026, 11, 2, 1, 30, 17, tzinfo=UTC).timestamp()
    assert s.on_since(monday_0130) == datetime(2026, 11, 1, 22, 0, tzinfo=UTC).timestamp()
    assert s.on_since(monday_0130 + 3 * 3600) is None


def test_guard_does_not_judge_a_tier_switched_off_or_starting(tmp_path):
    from analysis.errors import AnalysisError
    from analysis.schedule.quiet import STARTUP_GRACE, quiet, stack_schedule

    path = tmp_path / "compute-us-east-1.auto.tfvars.json"
    assert stack_schedule(path, "compute") is None  # no file: always on
    path.write_text('{"compute_schedule": ' + __import__("json").dumps(GOOD) + "}")
    s = stack_schedule(path, "compute")
    assert s is not None
    monday = datetime(2026, 12, 7, tzinfo=UTC).timestamp()  # CET = UTC+1: on from 06:00 UTC
    change = monday - 86400
    night = quiet(s, monday + 3 * 3600, change)
    assert night.judge_from is None and night.reason and "switched off" in night.reason
    starting = quiet(s, monday + 6 * 3600 + 300, change)
    assert starting.judge_from is None and starting.reason and "start-up" in starting.reason
    later = quiet(s, monday + 9 * 3600, change)
    assert later.reason is None and later.judge_from == monday + 6 * 3600 + STARTUP_GRACE
    assert quiet(None, monday, change).judge_from == change
    path.write_text('{"compute_schedule": {"timezone": "Mars/Base", "windows": []}}')
    with pytest.raises(AnalysisError, match="compute_schedule: "):
        stack_schedule(path, "compute")


# --------------------------------------------------------------------------- the run stage and its report
def test_analyse_reads_the_use_signals_and_reports(catalog):
    import json

    from analysis.model import Series
    from analysis.schedule import report
    from analysis.schedule.analyse import analyse

    nlb = "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/rs-staging-nlb/abc"
    recs = [
        rec("asg", "rightsize-staging-compute-asg", {**ASG, "load_balancer_arns": [nlb]}, "compute-us-east-1"),
        rec("rds", "rightsize-staging-data-primary", {**PRIMARY, "replica_ids": []}, "data-us-east-1"),
        rec("lambda", "rightsize-staging-serverless-orders", LAMBDA, "serverless-us-east-1"),
        rec(
            "lambda",
            "rightsize-staging-serverless-sessions",
            {**LAMBDA, "provisioned_concurrency": 0},
            "serverless-us-east-1",
        ),
        rec("nat", "vpc-1", {"nat_gateway_count": 1, "az_count": 2, "nat_gateway_ids": ["nat-1"]}, "network-us-east-1"),
    ]
    series = []
    signals = Signals()
    for r in recs:
        for q in signals.queries(r.resource):
            series.append(Series(r.resource.region, q, TS, office()))
    proposal, profiles = analyse("staging", recs, series, START, END, catalog)
    assert set(profiles) == {f"us-east-1/{r.resource.resource_id}" for r in recs}
    assert proposal.status == Status.PROPOSED
    assert sorted(proposal.tfvars) == ["compute-us-east-1", "data-us-east-1", "serverless-us-east-1"]

    data = report.as_dict(proposal)
    assert json.loads(json.dumps(data)) == data  # JSON-ready
    assert data["description"] == "on Mon-Fri 07:00-20:00 UTC" and data["off_hours_per_week"] == 103
    assert data["monthly_saved_on_demand"] == pytest.approx(sum(data["monthly_saved_by_tier"].values()), abs=0.02)
    assert data["monthly_continuing_not_stoppable"] > 0  # the NAT gateway keeps billing

    table = report.pr_table(proposal)
    assert table.count("\n|") == 7  # header, rule, compute, data, network, serverless, total
    assert "| serverless-us-east-1 | orders | $" in table and "| sessions: nothing-to-stop |" in table
    assert "| network-us-east-1 | - | - (still $" in table
    assert table.rstrip().endswith(f"| **total** | | **${proposal.saved:,.2f}** | |")

    plan = report.planned_resources(proposal)
    assert plan["serverless-us-east-1"][0] == "aws_appautoscaling_target.orders_pc_target[0]"
    assert not any("sessions" in a for a in plan["serverless-us-east-1"])
    assert plan["data-us-east-1"][:2] == ["aws_iam_role.scheduler_role[0]", "aws_iam_role_policy.scheduler_policy[0]"]
    assert report.heatmap(proposal, profiles).count('class="window"') == 5


def test_tfvars_updates_write_the_proposal_and_clear_what_no_longer_applies(catalog, tmp_path):
    import json

    from analysis.schedule.analyse import tfvars_updates

    base = tmp_path / "staging"
    base.mkdir()
    stale = {"timezone": "UTC", "windows": [{"days": ["MON"], "start": "07:00", "hours": 2}]}
    (base / "data-us-east-1.auto.tfvars.json").write_text(json.dumps({"data_schedule": stale}))
    recs = staging(replica_removed=False)  # the replica stays: the primary can no longer be stopped
    p = propose("staging", recs, office_profiles(recs), catalog)
    updates = tfvars_updates(p, tmp_path, "staging")
    assert updates[base / "data-us-east-1.auto.tfvars.json"] == {"data_schedule": None}
    assert updates[base / "compute-us-east-1.auto.tfvars.json"] == dict(p.tfvars["compute-us-east-1"])
    assert base / "cache-us-east-1.auto.tfvars.json" not in updates  # cache has no schedule variable
    assert tfvars_updates(propose("production", recs, office_profiles(recs), catalog), tmp_path, "production") == {}
