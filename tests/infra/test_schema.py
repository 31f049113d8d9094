"""The schema check: every synthesized stack against the hashicorp/aws provider schema the
bindings were generated from (tests/infra/provider_schema.py), i.e. what `terraform validate`
would say, plus ForceNew arguments computed from attributes that change in place."""

from __future__ import annotations

import copy

import pytest

from stacks.naming import TIERS, stack_name

from . import provider_schema as ps
from .conftest import REGIONS

STACKS = [stack_name(t, r) for r in REGIONS for t in TIERS]


def test_extract_is_from_the_installed_provider_bindings():
    schema = ps.load()
    assert schema["package"] == ps.installed_version(), f"schema extract is stale: run {ps.COMMAND}"
    from modules.aws import _CLASSES

    covered = len(schema["resource"]) + len(schema["data"]) + len(schema["provider"])
    assert covered == len(_CLASSES), f"modules/aws.py classes and the extract differ: run {ps.COMMAND}"


@pytest.mark.synth
@pytest.mark.parametrize("name", STACKS)
def test_synthesized_stack_matches_the_provider_schema(synth, name):
    problems = ps.check_stack(synth.stack(name))
    assert not problems, "\n".join(problems)


@pytest.mark.synth
def test_the_check_catches_what_terraform_validate_would(synth):
    stack = copy.deepcopy(synth.stack("data-us-east-1"))
    primary = stack["resource"]["aws_db_instance"]["primary"]
    primary["instance_clas"] = primary.pop("instance_class")  # a typo: unknown + missing required
    primary["allocated_storage"] = "lots"
    primary["parameter"] = [{"name": "x"}]  # a block of another type
    stack["resource"]["aws_db_instance"]["replica"]["availability_zone"] = (
        "${aws_db_instance.primary.availability_zone}"
    )
    stack["resource"]["aws_db_subnet_group"]["subnet_group"]["name"] = "${var.data_no_such_variable}"
    stack["resource"]["aws_no_such_thing"] = {"x": {}}
    problems = "\n".join(ps.check_stack(stack))
    for expected in (
        "aws_db_instance.primary: unsupported argument or block 'instance_clas'",
        "aws_db_instance.primary: missing required argument 'instance_class'",
        "aws_db_instance.primary.allocated_storage: expected number",
        "unsupported argument or block 'parameter'",
        "aws_db_instance.replica.availability_zone: forces replacement and is computed from "
        "aws_db_instance.primary.availability_zone",
        "reference to undeclared variable var.data_no_such_variable",
        "aws_no_such_thing: unknown type",
    ):
        assert expected in problems, problems
