"""modules/schedules.py synthesized for real (conftest): each tier's schedule resources, their
crons as Terraform computes them from `<tier>_schedule`, and the conditions that create nothing
(null schedule, CriticalPath, no provisioned concurrency)."""

from __future__ import annotations

import pytest

from stacks.schedule_contract import TF_RULES, TF_TYPE

pytestmark = pytest.mark.synth


def _res(stack: dict, rtype: str) -> dict:
    return stack["resource"][rtype]


def test_variable_is_a_nullable_object_with_the_contract_rules(synthesized):
    for tier in ("compute", "serverless", "data"):
        var = synthesized[tier]["variable"][f"{tier}_schedule"]
        assert var["type"] == TF_TYPE and var["nullable"] is True and var.get("default") is None
        assert [v["error_message"] for v in var["validation"]] == [msg for _, msg in TF_RULES]
        assert all(f"var.{tier}_schedule" in v["condition"] for v in var["validation"])


def test_crons_are_computed_from_the_variable(synthesized):
    for tier in ("compute", "serverless", "data"):
        loc = synthesized[tier]["locals"]
        assert f"var.{tier}_schedule == null ? [] : var.{tier}_schedule.windows" in loc["schedule_windows"]
        crons = loc["schedule_crons"]
        for key in ("on_unix", "off_unix", "on_aws", "off_aws"):
            assert f"{key} = format(" in crons
        assert 'format("cron(%d %d ? * %s *)"' in crons  # AWS cron: 6 fields, ? for day of month
        assert 'format("%d %d * * %s"' in crons  # Unix cron: 5 fields


def test_compute_scales_to_zero_off_and_back_to_the_sized_values_on(synthesized):
    res = _res(synthesized["compute"], "aws_autoscaling_schedule")
    assert set(res) == {"schedule_on", "schedule_off"}
    on, off = res["schedule_on"], res["schedule_off"]
    guard = '{for k, v in local.schedule_crons : k => v if !contains(var.compute_critical_path, "asg")}'
    assert on["for_each"] == off["for_each"] == "${" + guard + "}"
    assert (on["min_size"], on["max_size"], on["desired_capacity"]) == (
        "${var.compute_min_size}",
        "${var.compute_max_size}",
        "${var.compute_desired_capacity}",
    )
    assert (off["min_size"], off["max_size"], off["desired_capacity"]) == (0, 0, 0)
    assert on["recurrence"] == "${each.value.on_unix}" and off["recurrence"] == "${each.value.off_unix}"
    assert on["time_zone"] == "${var.compute_schedule.timezone}"
    assert on["autoscaling_group_name"] == "${aws_autoscaling_group.asg.name}"
    assert on["scheduled_action_name"] == "rightsize-staging-compute-on-${each.key}"


def test_serverless_schedules_provisioned_concurrency_on_the_alias(synthesized):
    stack = synthesized["serverless"]
    target = _res(stack, "aws_appautoscaling_target")["orders_pc_target"]
    cond = (
        'var.serverless_schedule != null && local.provisioned_concurrency["orders"] > 0 '
        '&& !contains(var.serverless_critical_path, "orders")'
    )
    assert target["count"] == "${" + cond + " ? 1 : 0}"
    assert target["service_namespace"] == "lambda"
    assert target["scalable_dimension"] == "lambda:function:ProvisionedConcurrency"
    assert (
        target["resource_id"]
        == "function:${aws_lambda_function.orders.function_name}:${aws_lambda_alias.orders_live.name}"
    )
    assert target["lifecycle"]["ignore_changes"] == ["min_capacity", "max_capacity"]
    (pre,) = target["lifecycle"]["precondition"]
    assert pre["condition"] == '${local.provisioned_concurrency["orders"] <= local.reserved_concurrency["orders"]}'

    actions = _res(stack, "aws_appautoscaling_scheduled_action")
    on, off = actions["orders_pc_on"], actions["orders_pc_off"]
    assert on["schedule"] == "${each.value.on_aws}" and off["schedule"] == "${each.value.off_aws}"
    assert on["timezone"] == "${var.serverless_schedule.timezone}"
    level = '${tostring(local.provisioned_concurrency["orders"])}'
    assert on["scalable_target_action"] == {"min_capacity": level, "max_capacity": level}
    assert off["scalable_target_action"] == {"min_capacity": "0", "max_capacity": "0"}
    assert on["resource_id"] == "${aws_appautoscaling_target.orders_pc_target[0].resource_id}"
    assert on["for_each"] == "${{for k, v in local.schedule_crons : k => v if " + cond + "}}"
    # the fixed config steps aside while the schedule owns the level
    pcc = _res(stack, "aws_lambda_provisioned_concurrency_config")["orders_provisioned"]
    assert f"!({cond})" in pcc["count"]


def test_data_stops_and_starts_the_primary_with_a_role_allowed_only_that(synthesized):
    stack = synthesized["data"]
    sched = _res(stack, "aws_scheduler_schedule")
    start, stop = sched["schedule_start"], sched["schedule_stop"]
    assert start["target"]["arn"] == "arn:aws:scheduler:::aws-sdk:rds:startDBInstance"
    assert stop["target"]["arn"] == "arn:aws:scheduler:::aws-sdk:rds:stopDBInstance"
    assert start["schedule_expression"] == "${each.value.on_aws}"
    assert stop["schedule_expression"] == "${each.value.off_aws}"
    assert stop["schedule_expression_timezone"] == "${var.data_schedule.timezone}"
    assert stop["flexible_time_window"] == {"mode": "OFF"}
    assert stop["target"]["input"] == "${jsonencode({DbInstanceIdentifier = aws_db_instance.primary.identifier})}"
    assert stop["target"]["role_arn"] == "${aws_iam_role.scheduler_role[0].arn}"
    assert stop["target"]["retry_policy"] == {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10}
    assert stop["lifecycle"]["precondition"][0]["condition"] == "${var.data_replica_count == 0}"
    cond = 'var.data_schedule != null && !contains(var.data_critical_path, "primary")'
    assert start["for_each"] == stop["for_each"] == "${{for k, v in local.schedule_crons : k => v if " + cond + "}}"
    role = _res(stack, "aws_iam_role")["scheduler_role"]
    assert role["count"] == '${var.data_schedule != null && !contains(var.data_critical_path, "primary") ? 1 : 0}'
    docs = stack["data"]["aws_iam_policy_document"]
    trust = docs["scheduler_trust"]["statement"][0]
    assert trust["principals"] == [{"type": "Service", "identifiers": ["scheduler.amazonaws.com"]}]
    perm, decrypt = docs["scheduler_permissions"]["statement"]
    assert perm["actions"] == ["rds:StopDBInstance", "rds:StartDBInstance"]
    assert perm["resources"] == ["${aws_db_instance.primary.arn}"]
    assert decrypt["actions"] == ["kms:Decrypt"] and decrypt["resources"] == ["${aws_kms_key.kms.arn}"]
    assert stop["kms_key_arn"] == start["kms_key_arn"] == "${aws_kms_key.kms.arn}"  # payload under the stack's CMK


def test_planned_addresses_are_what_the_stacks_create(synthesized):
    from stacks.schedule_contract import WeeklySchedule, Window, planned

    s = WeeklySchedule((Window(("MON",), "07:00", 2), Window(("TUE",), "07:00", 2)), "UTC")
    scheduled_types = {
        "aws_autoscaling_schedule",
        "aws_appautoscaling_target",
        "aws_appautoscaling_scheduled_action",
        "aws_scheduler_schedule",
        "aws_iam_role",
        "aws_iam_role_policy",
    }
    for tier, fns in (("compute", ()), ("serverless", ("orders",)), ("data", ())):
        addresses = planned(tier, s, fns)
        assert len(addresses) == len(set(addresses))
        made = {f"{t}.{i}" for t, rs in synthesized[tier]["resource"].items() if t in scheduled_types for i in rs}
        assert {a.split("[")[0] for a in addresses} == made, tier
    assert planned("compute", s)[:2] == [
        'aws_autoscaling_schedule.schedule_on["0"]',
        'aws_autoscaling_schedule.schedule_on["1"]',
    ]
