"""The tier stacks wire modules/schedules.py (one synth per session, see conftest): every
scheduled tier has its `<tier>_schedule` variable and the resources it drives; cache and network,
which cannot be stopped, have neither."""

from __future__ import annotations

import pytest

from stacks import FUNCTIONS
from stacks.naming import SCHEDULED_TIERS, schedule_variable
from stacks.schedule_contract import WeeklySchedule, Window, planned

from .conftest import REGIONS

pytestmark = pytest.mark.synth
ANY = WeeklySchedule((Window(("MON",), "07:00", 2),), "UTC")


@pytest.mark.parametrize("region", REGIONS)
def test_scheduled_tiers_have_the_variable_and_its_resources(synth, region):
    for tier in ("network", "data", "cache", "compute", "serverless"):
        stack = synth.stack(f"{tier}-{region}")
        assert (schedule_variable(tier) in stack["variable"]) == (tier in SCHEDULED_TIERS), tier
    for tier in SCHEDULED_TIERS:
        stack = synth.stack(f"{tier}-{region}")
        made = {f"{t}.{i}" for t, rs in stack["resource"].items() for i in rs}
        fns = FUNCTIONS if tier == "serverless" else ()
        assert {a.split("[")[0] for a in planned(tier, ANY, fns)} <= made, tier
        assert f"var.{schedule_variable(tier)}" in stack["locals"]["schedule_windows"]


def test_provisioned_concurrency_config_steps_aside_for_a_schedule(synth):
    for fn in FUNCTIONS:
        pcc = synth.resource("serverless-us-east-1", "aws_lambda_provisioned_concurrency_config", f"{fn}_provisioned")
        assert "!(var.serverless_schedule != null && " in pcc["count"], fn
