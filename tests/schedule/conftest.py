"""Shared fixtures of the schedule tests: minimal tier stacks around modules/schedules.py,
synthesized for real once per session (cdktf App.synth into a temp dir)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import ClassVar

import pytest
from cdktf import App, TerraformLocal

from modules import aws
from modules.base import TierStack
from modules.expr import num, tf
from modules.schedules import compute_schedule, data_schedule, pc_scheduled, serverless_schedule
from stacks.props import knob, schedule_knob


@dataclass(frozen=True)
class ComputeTest:
    sizing_keys: ClassVar[dict] = {}
    compute_schedule: dict | None = schedule_knob("compute")
    compute_critical_path: list = knob([], "roles", tf_type="list(string)")
    compute_min_size: int = knob(2, "min")
    compute_max_size: int = knob(4, "max")
    compute_desired_capacity: int = knob(2, "desired")


@dataclass(frozen=True)
class ServerlessTest:
    sizing_keys: ClassVar[dict] = {}
    serverless_schedule: dict | None = schedule_knob("serverless")
    serverless_critical_path: list = knob([], "roles", tf_type="list(string)")


@dataclass(frozen=True)
class DataTest:
    sizing_keys: ClassVar[dict] = {}
    data_schedule: dict | None = schedule_knob("data")
    data_critical_path: list = knob([], "roles", tf_type="list(string)")
    data_replica_count: int = knob(0, "replicas")


class Compute(TierStack):
    tier = "compute"

    def resources(self) -> None:
        asg = aws.AutoscalingGroup(self, "asg", name=self.tags.name("asg"), min_size=1, max_size=1)
        compute_schedule(self, asg)

    def outputs(self) -> None:
        pass


class Serverless(TierStack):
    tier = "serverless"

    def resources(self) -> None:
        TerraformLocal(self, "provisioned_concurrency", {"orders": 7})
        TerraformLocal(self, "reserved_concurrency", {"orders": 10})
        fn = aws.LambdaFunction(
            self, "orders", function_name=self.tags.name("orders"), role="arn:aws:iam::1:role/r", runtime="python3.12"
        )
        alias = aws.LambdaAlias(self, "orders_live", name="live", function_name=fn.function_name, function_version="1")
        aws.LambdaProvisionedConcurrencyConfig(
            self,
            "orders_provisioned",
            count=num(f"!({pc_scheduled(self, 'orders')}) && local.provisioned_concurrency[\"orders\"] > 0 ? 1 : 0"),
            function_name=fn.function_name,
            qualifier=alias.name,
            provisioned_concurrent_executions=num('local.provisioned_concurrency["orders"]'),
        )
        serverless_schedule(self, "orders", fn, alias)

    def outputs(self) -> None:
        pass


class Data(TierStack):
    tier = "data"

    def resources(self) -> None:
        primary = aws.DbInstance(self, "primary", identifier=self.tags.name("primary"), instance_class=tf("var.x"))
        key = aws.KmsKey(self, "kms", description="stack key")
        data_schedule(self, primary, key)

    def outputs(self) -> None:
        pass


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory) -> dict[str, dict]:
    out = tmp_path_factory.mktemp("schedules")
    app = App(outdir=str(out))
    for cls, props in ((Compute, ComputeTest()), (Serverless, ServerlessTest()), (Data, DataTest())):
        cls(app, environment="staging", region="us-east-1", props=props)
    app.synth()
    return {
        tier: json.loads((out / "stacks" / f"{tier}-us-east-1" / "cdk.tf.json").read_text())
        for tier in ("compute", "serverless", "data")
    }
