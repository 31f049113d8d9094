"""Off-hours schedules as resources: what `<tier>_schedule` (stacks/schedule_contract.py) creates.

Every window of the variable becomes a switch-on and a switch-off, each in the cron dialect its
service reads, in the schedule's IANA time zone:

  compute     aws_autoscaling_schedule x2 (Unix cron): min/max/desired back to the sized
              values on, 0 off
  serverless  per function with provisioned concurrency: aws_appautoscaling_target on the live
              alias + aws_appautoscaling_scheduled_action x2 (AWS cron): the sized level on, 0
              off (the stack then drops its aws_lambda_provisioned_concurrency_config, see
              `pc_scheduled`: the two would fight over the level)
  data        aws_scheduler_schedule x2 (AWS cron) calling rds:startDBInstance /
              rds:stopDBInstance directly, with a role allowed exactly that on the primary

Nothing is created while the variable is null or the resource's role is in the tier's
CriticalPath list. The cron fields are computed by Terraform from the variable (locals
`schedule_windows` and `schedule_crons`), so a tfvars change needs no new synth.
"""

from __future__ import annotations

from cdktf import TerraformLocal, TerraformResourceLifecycle

from stacks.naming import schedule_action_name, schedule_variable
from stacks.schedule_contract import ASG_ACTION, DAYS, DB_ACTION, DB_POLICY, DB_ROLE, PC_ACTION, PC_TARGET

from . import aws
from .expr import address, num, tf
from .iam import policy, service_role

_DAYS = "[" + ", ".join(f'"{d}"' for d in DAYS) + "]"
PC_DIMENSION = "lambda:function:ProvisionedConcurrency"
RDS_TARGET = "arn:aws:scheduler:::aws-sdk:rds:{action}DBInstance"  # EventBridge Scheduler universal target


def _locals(stack) -> str:
    """Declare the stack's window and cron locals once; returns the crons local's name.

    A window's `start`/`end` are minutes after its first day's midnight; `end` may run into
    later days, so the switch-off's weekdays are shifted by whole days (element() wraps)."""
    var = f"var.{schedule_variable(stack.tier)}"
    if stack.node.try_find_child("schedule_crons") is None:
        minute = 'tonumber(split(":", w.start)[0]) * 60 + tonumber(split(":", w.start)[1])'
        TerraformLocal(
            stack,
            "schedule_windows",
            tf(
                f"{{for i, w in ({var} == null ? [] : {var}.windows) : tostring(i) => "
                f"{{days = w.days, start = {minute}, end = {minute} + w.hours * 60}}}}"
            ),
        )
        off_days = f"[for d in w.days : element({_DAYS}, index({_DAYS}, d) + floor(w.end / 1440))]"
        TerraformLocal(
            stack,
            "schedule_crons",
            tf(
                "{for k, w in local.schedule_windows : k => {"
                # Unix cron (EC2 Auto Scaling): day of week 0 = Sunday
                f'on_unix = format("%d %d * * %s", w.start % 60, floor(w.start / 60), '
                f'join(",", [for d in w.days : (index({_DAYS}, d) + 1) % 7])), '
                f'off_unix = format("%d %d * * %s", w.end % 60, floor(w.end % 1440 / 60), '
                f'join(",", [for d in {off_days} : (index({_DAYS}, d) + 1) % 7])), '
                # AWS cron (Application Auto Scaling, EventBridge Scheduler): day names
                f'on_aws = format("cron(%d %d ? * %s *)", w.start % 60, floor(w.start / 60), join(",", w.days)), '
                f'off_aws = format("cron(%d %d ? * %s *)", w.end % 60, floor(w.end % 1440 / 60), '
                f'join(",", {off_days}))'
                "}}"
            ),
        )
    return "local.schedule_crons"


def _for_each(resource, condition: str, crons: str) -> None:
    # a filter, not `cond ? crons : {}`: two object types with different keys do not unify
    resource.add_override("for_each", tf(f"{{for k, v in {crons} : k => v if {condition}}}"))


def _not_critical(stack, role: str) -> str:
    return f"!{stack.tags.in_critical_path(role)}"


def compute_schedule(stack, asg) -> None:
    """Scale the Auto Scaling group to 0 off-hours and back to the sized min/max/desired on."""
    crons = _locals(stack)
    env, tier = stack.environment, stack.tier
    zone = tf(f"var.{schedule_variable(tier)}.timezone")
    sized = {
        "min_size": num("var.compute_min_size"),
        "max_size": num("var.compute_max_size"),
        "desired_capacity": num("var.compute_desired_capacity"),
    }
    for action, cron, sizes in (
        ("on", "each.value.on_unix", sized),
        ("off", "each.value.off_unix", {"min_size": 0, "max_size": 0, "desired_capacity": 0}),
    ):
        res = aws.AutoscalingSchedule(
            stack,
            ASG_ACTION.format(action=action),
            autoscaling_group_name=asg.name,
            scheduled_action_name=schedule_action_name(env, tier, action, "${each.key}"),
            recurrence=tf(cron),
            time_zone=zone,
            **sizes,
        )
        _for_each(res, _not_critical(stack, "asg"), crons)


def pc_scheduled(stack, fn: str) -> str:
    """Terraform condition: the function's provisioned concurrency is run by the schedule."""
    var = f"var.{schedule_variable(stack.tier)}"
    return f'{var} != null && local.provisioned_concurrency["{fn}"] > 0 && {_not_critical(stack, fn)}'


def serverless_schedule(stack, fn: str, function, alias) -> None:
    """Provisioned concurrency of one function's live alias: the sized level on, 0 off."""
    crons = _locals(stack)
    env, tier, t = stack.environment, stack.tier, stack.tags
    level = f'local.provisioned_concurrency["{fn}"]'
    target = aws.AppautoscalingTarget(
        stack,
        PC_TARGET.format(fn=fn),
        count=num(f"{pc_scheduled(stack, fn)} ? 1 : 0"),
        service_namespace="lambda",
        scalable_dimension=PC_DIMENSION,
        resource_id=f"function:{function.function_name}:{alias.name}",
        min_capacity=0,
        max_capacity=num(level),
        tags=t(fn),
        lifecycle=TerraformResourceLifecycle(
            # the scheduled actions move the target's min/max: that is the schedule working, not drift
            ignore_changes=["min_capacity", "max_capacity"],
            precondition=[
                {
                    "condition": tf(f'{level} <= local.reserved_concurrency["{fn}"]'),
                    "errorMessage": f"Provisioned concurrency of {fn} must be <= its reserved concurrency.",
                }
            ],
        ),
    )
    target_ref = f"{address(target)}[0]"
    for action, cron, capacity in (
        ("on", "each.value.on_aws", tf(f"tostring({level})")),
        ("off", "each.value.off_aws", "0"),
    ):
        res = aws.AppautoscalingScheduledAction(
            stack,
            PC_ACTION.format(fn=fn, action=action),
            name=schedule_action_name(env, tier, action, f"{fn}-${{each.key}}"),
            service_namespace=tf(f"{target_ref}.service_namespace"),
            scalable_dimension=tf(f"{target_ref}.scalable_dimension"),
            resource_id=tf(f"{target_ref}.resource_id"),
            schedule=tf(cron),
            timezone=tf(f"var.{schedule_variable(tier)}.timezone"),
            scalable_target_action={"min_capacity": capacity, "max_capacity": capacity},
        )
        _for_each(res, pc_scheduled(stack, fn), crons)


def data_schedule(stack, primary, key) -> None:
    """Stop the primary off-hours and start it on, through EventBridge Scheduler (its payload
    encrypted with the stack's key `key`, which the role may decrypt)."""
    crons = _locals(stack)
    env, tier, t = stack.environment, stack.tier, stack.tags
    var = f"var.{schedule_variable(tier)}"
    scheduled = f"{var} != null && {_not_critical(stack, 'primary')}"
    role = service_role(
        stack,
        DB_ROLE.removesuffix("_role"),
        "scheduler.amazonaws.com",
        name=t.regional_name("scheduler"),
        tags=t("scheduler"),
        count=num(f"{scheduled} ? 1 : 0"),
    )
    aws.IamRolePolicy(
        stack,
        DB_POLICY,
        count=num(f"{scheduled} ? 1 : 0"),
        role=tf(f"{address(role)}[0].id"),
        name="stop-start-primary",
        policy=policy(
            stack,
            "scheduler_permissions",
            {
                "Statement": [
                    {
                        "Sid": "StopStartPrimaryOnly",
                        "Effect": "Allow",
                        "Action": ["rds:StopDBInstance", "rds:StartDBInstance"],
                        "Resource": primary.arn,
                    },
                    {"Sid": "DecryptScheduleInput", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": key.arn},
                ]
            },
        ),
    )
    for action, api, cron in (("start", "start", "each.value.on_aws"), ("stop", "stop", "each.value.off_aws")):
        res = aws.SchedulerSchedule(
            stack,
            DB_ACTION.format(action=action),
            name=schedule_action_name(env, tier, action, "${each.key}"),
            description=f"{action.title()} {primary.identifier} (off-hours schedule)",
            schedule_expression=tf(cron),
            schedule_expression_timezone=tf(f"{var}.timezone"),
            flexible_time_window={"mode": "OFF"},
            kms_key_arn=key.arn,
            target={
                "arn": RDS_TARGET.format(action=api),
                "role_arn": tf(f"{address(role)}[0].arn"),
                "input": tf(f"jsonencode({{DbInstanceIdentifier = {address(primary)}.identifier}})"),
                # a stop that finds the instance still starting (AWS's 7-day restart) succeeds on a
                # retry; after an hour the next window's action is the better one
                "retry_policy": {"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10},
            },
            lifecycle=TerraformResourceLifecycle(
                precondition=[
                    {
                        "condition": tf("var.data_replica_count == 0"),
                        "errorMessage": "AWS cannot stop an RDS instance that has a read replica: "
                        "set data_replica_count = 0 or data_schedule = null.",
                    }
                ]
            ),
        )
        _for_each(res, scheduled, crons)
