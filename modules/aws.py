"""The one door to the prebuilt AWS provider bindings.

`import cdktf_cdktf_provider_aws` runs an __init__ that imports ~2,200 submodules (about
12.5 s and 1.6 GB before any resource exists). Instead we register a bare package module
under that name (same __path__, so submodule imports resolve normally) and import only the
submodules this app uses. Every stack gets provider classes from here: `aws.Vpc`, ...

Accessing an attribute imports its submodule on first use (PEP 562 __getattr__), so a stack
pays only for the resource types it creates.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any

_PACKAGE = "cdktf_cdktf_provider_aws"

# class name -> submodule of the provider package. Add a line to use a new resource type.
_CLASSES: dict[str, str] = {
    "AwsProvider": "provider",
    # data sources
    "DataAwsAvailabilityZones": "data_aws_availability_zones",
    "DataAwsCallerIdentity": "data_aws_caller_identity",
    "DataAwsPartition": "data_aws_partition",
    "DataAwsIamPolicyDocument": "data_aws_iam_policy_document",
    "DataAwsIamRole": "data_aws_iam_role",
    "DataAwsVpc": "data_aws_vpc",
    "DataAwsSubnets": "data_aws_subnets",
    "DataAwsSubnet": "data_aws_subnet",
    "DataAwsSecurityGroup": "data_aws_security_group",
    "DataAwsSsmParameter": "data_aws_ssm_parameter",
    "DataAwsDbInstance": "data_aws_db_instance",
    "DataAwsElasticacheReplicationGroup": "data_aws_elasticache_replication_group",
    "DataAwsSecretsmanagerSecret": "data_aws_secretsmanager_secret",
    "DataAwsSecretsmanagerRandomPassword": "data_aws_secretsmanager_random_password",
    "DataAwsServicequotasServiceQuota": "data_aws_servicequotas_service_quota",
    # network
    "Vpc": "vpc",
    "Subnet": "subnet",
    "InternetGateway": "internet_gateway",
    "Eip": "eip",
    "NatGateway": "nat_gateway",
    "RouteTable": "route_table",
    "Route": "route",
    "RouteTableAssociation": "route_table_association",
    "VpcEndpoint": "vpc_endpoint",
    "FlowLog": "flow_log",
    "DefaultSecurityGroup": "default_security_group",
    "SecurityGroup": "security_group",
    "VpcSecurityGroupIngressRule": "vpc_security_group_ingress_rule",
    "VpcSecurityGroupEgressRule": "vpc_security_group_egress_rule",
    # shared
    "KmsKey": "kms_key",
    "KmsAlias": "kms_alias",
    "CloudwatchLogGroup": "cloudwatch_log_group",
    "CloudwatchMetricAlarm": "cloudwatch_metric_alarm",
    "IamRole": "iam_role",
    "IamRolePolicy": "iam_role_policy",
    "IamRolePolicyAttachment": "iam_role_policy_attachment",
    "IamInstanceProfile": "iam_instance_profile",
    "SecretsmanagerSecret": "secretsmanager_secret",
    "SecretsmanagerSecretVersion": "secretsmanager_secret_version",
    # data
    "DbSubnetGroup": "db_subnet_group",
    "DbParameterGroup": "db_parameter_group",
    "DbInstance": "db_instance",
    # cache
    "ElasticacheSubnetGroup": "elasticache_subnet_group",
    "ElasticacheReplicationGroup": "elasticache_replication_group",
    # compute
    "LaunchTemplate": "launch_template",
    "AutoscalingGroup": "autoscaling_group",
    "AutoscalingPolicy": "autoscaling_policy",
    "Lb": "lb",
    "LbTargetGroup": "lb_target_group",
    "LbListener": "lb_listener",
    # serverless
    "LambdaFunction": "lambda_function",
    "LambdaAlias": "lambda_alias",
    "LambdaProvisionedConcurrencyConfig": "lambda_provisioned_concurrency_config",
    # off-hours schedules
    "AutoscalingSchedule": "autoscaling_schedule",
    "AppautoscalingTarget": "appautoscaling_target",
    "AppautoscalingScheduledAction": "appautoscaling_scheduled_action",
    "SchedulerSchedule": "scheduler_schedule",
}


def _bare_package() -> types.ModuleType:
    """Register the provider package without executing its eager __init__."""
    mod = sys.modules.get(_PACKAGE)
    if mod is not None:
        return mod
    spec = importlib.util.find_spec(_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"{_PACKAGE} is not installed (make install)")
    mod = types.ModuleType(_PACKAGE)
    mod.__path__ = list(spec.submodule_search_locations)
    mod.__file__ = spec.origin
    mod.__package__ = _PACKAGE
    sys.modules[_PACKAGE] = mod
    return mod


_bare_package()


def __getattr__(name: str) -> Any:
    try:
        submodule = _CLASSES[name]
    except KeyError:
        raise AttributeError(f"modules.aws has no {name!r}: add it to _CLASSES") from None
    cls = getattr(importlib.import_module(f"{_PACKAGE}.{submodule}"), name)
    globals()[name] = cls  # cache: next access skips __getattr__
    return cls


def submodule(name: str) -> types.ModuleType:
    """A provider submodule, for its nested config structs (e.g. launch_template)."""
    return importlib.import_module(f"{_PACKAGE}.{name}")
