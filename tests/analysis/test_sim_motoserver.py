"""The simulated account's moto server answers the Lambda APIs moto itself lacks."""

import io
import zipfile

import boto3
import pytest

from analysis.sim.motoserver import running


@pytest.fixture(scope="module")
def lam():
    with running() as url:
        kw = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        role = boto3.client("iam", **kw).create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        client = boto3.client("lambda", **kw)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            z.writestr("h.py", "def h(event, context):\n    return 1\n")
        client.create_function(
            FunctionName="f",
            Runtime="python3.12",
            Role=role,
            Handler="h.h",
            Code={"ZipFile": buf.getvalue()},
            MemorySize=3008,
        )
        version = client.publish_version(FunctionName="f")["Version"]
        client.create_alias(FunctionName="f", Name="live", FunctionVersion=version)
        client.put_function_concurrency(FunctionName="f", ReservedConcurrentExecutions=100)
        yield client


def test_provisioned_concurrency_round_trip(lam):
    lam.put_provisioned_concurrency_config(FunctionName="f", Qualifier="live", ProvisionedConcurrentExecutions=50)
    got = lam.get_provisioned_concurrency_config(FunctionName="f", Qualifier="live")
    assert got["RequestedProvisionedConcurrentExecutions"] == 50 and got["Status"] == "READY"
    listed = lam.list_provisioned_concurrency_configs(FunctionName="f")["ProvisionedConcurrencyConfigs"]
    assert [c["FunctionArn"].rsplit(":", 1)[1] for c in listed] == ["live"]


def test_missing_config_is_the_real_not_found_error(lam):
    with pytest.raises(lam.exceptions.ProvisionedConcurrencyConfigNotFoundException):
        lam.get_provisioned_concurrency_config(FunctionName="f", Qualifier="nope")


def test_account_settings_subtract_reserved_concurrency(lam):
    limit = lam.get_account_settings()["AccountLimit"]
    assert limit["ConcurrentExecutions"] == 1000 and limit["UnreservedConcurrentExecutions"] == 900
