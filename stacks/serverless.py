"""serverless-<region>: the five functions (orders, catalog, reports on PostgreSQL; sessions,
ratelimit on Redis), each with memory/timeout/reserved concurrency from the map variables,
published versions, an alias `live` and provisioned concurrency on that alias.

Code: functions/<name>/handler.py plus functions/lib (stdlib PostgreSQL/Redis clients),
packaged at synth as one archive asset. Functions run in the private subnets; their group
reaches PostgreSQL 5432, Redis 6379 and the interface endpoints 443 only. Each role may
write its own log group, read only the secret it needs, and decrypt with that secret's key.
"""

from __future__ import annotations

import shutil
import tempfile
from functools import lru_cache
from pathlib import Path

from cdktf import AssetType, TerraformAsset, TerraformLocal, TerraformResourceLifecycle

from modules import aws
from modules.alarms import rollback_alarm
from modules.base import TierStack
from modules.expr import hcl_literal, num, strings, tf
from modules.iam import policy, service_role
from modules.kms import StackKey, log_group
from modules.lookup import Backends
from modules.schedules import pc_scheduled, serverless_schedule
from modules.security import security_group
from stacks.naming import FUNCTION_WIRING as WIRING
from stacks.naming import FUNCTIONS, PROJECT, REDIS_PORT, Tier, resource_name, secret_name
from stacks.props import DEFAULTS_BY_MAP
from stacks.rules import LAMBDA_UNRESERVED_MIN

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
RUNTIME = "python3.12"
MAPS = ("memory_size", "timeout", "architecture", "reserved_concurrency", "provisioned_concurrency")
LAMBDA_CONCURRENCY_QUOTA = ("lambda", "L-B99A9384")  # Service Quotas: Lambda concurrent executions


@lru_cache(maxsize=1)
def clean_code_dir() -> str:
    """A copy of functions/ without bytecode caches, so the archive (and its hash) depends
    only on the source files."""
    target = Path(tempfile.mkdtemp(prefix="rightsize-functions-")) / "functions"
    shutil.copytree(FUNCTIONS_DIR, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".*"))
    return str(target)


class ServerlessStack(TierStack):
    tier = Tier.SERVERLESS

    def resources(self) -> None:
        t, env, region = self.tags, self.environment, self.region
        self.key = StackKey(self, t, region=region)
        backends = Backends(self, environment=env, region=region)
        net = backends.net
        # Map variables merged over their defaults: an override may list only the functions it changes.
        for name in MAPS:
            TerraformLocal(
                self, name, tf(f"merge({hcl_literal(DEFAULTS_BY_MAP['serverless_' + name])}, var.serverless_{name})")
            )

        sg = security_group(
            self,
            "lambda_sg",
            t,
            role="lambda-sg",
            vpc_id=net.vpc_id,
            description="Functions: PostgreSQL, Redis and Secrets Manager out; nothing in",
        )
        backends.admit(self, t, client_sg=sg.id, client="lambda", who="Functions")

        # What the functions connect to, found by name.
        db = aws.DataAwsDbInstance(self, "db", db_instance_identifier=resource_name(env, Tier.DATA, "primary"))
        cache = aws.DataAwsElasticacheReplicationGroup(
            self, "cache", replication_group_id=resource_name(env, Tier.CACHE, "cluster")
        )
        secrets = {
            Tier.DATA: aws.DataAwsSecretsmanagerSecret(self, "db_secret", name=secret_name(env, Tier.DATA, "master")),
            Tier.CACHE: aws.DataAwsSecretsmanagerSecret(
                self, "cache_secret", name=secret_name(env, Tier.CACHE, "auth")
            ),
        }
        wiring_env = {
            Tier.DATA: {
                "DB_HOST": db.address,
                "DB_PORT": tf("tostring(data.aws_db_instance.db.port)"),
                "DB_NAME": db.db_name,
                "DB_SECRET_ARN": secrets[Tier.DATA].arn,
            },
            Tier.CACHE: {
                "CACHE_HOST": cache.configuration_endpoint_address,
                "CACHE_PORT": str(REDIS_PORT),
                "CACHE_SECRET_ARN": secrets[Tier.CACHE].arn,
            },
        }

        # The account's real concurrency limit (new accounts start far below the default 1000).
        service, quota = LAMBDA_CONCURRENCY_QUOTA
        aws.DataAwsServicequotasServiceQuota(self, "lambda_concurrency", service_code=service, quota_code=quota)
        code = TerraformAsset(self, "code", path=clean_code_dir(), type=AssetType.ARCHIVE)
        self.functions: dict[str, aws.LambdaFunction] = {}
        self.aliases: dict[str, aws.LambdaAlias] = {}
        for fn in FUNCTIONS:
            self._function(fn, code, sg.id, net.private_ids, secrets[WIRING[fn]], wiring_env[WIRING[fn]])

    def _function(self, fn: str, code: TerraformAsset, sg_id: str, subnet_ids, secret, environment: dict) -> None:
        t = self.tags
        name = t.name(fn)
        logs = log_group(
            self,
            f"{fn}_logs",
            name=f"/aws/lambda/{name}",
            key=self.key,
            retention_var="serverless_log_retention_days",
            tags=t(fn),
        )
        role = service_role(self, fn, "lambda.amazonaws.com", name=t.regional_name(fn), tags=t(fn))
        permissions = aws.IamRolePolicy(
            self,
            f"{fn}_policy",
            role=role.id,
            name="function",
            policy=policy(
                self,
                f"{fn}_permissions",
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "OwnLogs",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": [f"{logs.arn}:*"],
                        },
                        {
                            "Sid": "OwnSecret",
                            "Effect": "Allow",
                            "Action": "secretsmanager:GetSecretValue",
                            "Resource": secret.arn,
                        },
                        {
                            "Sid": "DecryptSecretAndEnv",
                            "Effect": "Allow",
                            "Action": "kms:Decrypt",
                            "Resource": [secret.kms_key_id, self.key.arn],
                        },
                        *self._vpc_statements(),
                        {
                            "Sid": "Tracing",
                            "Effect": "Allow",
                            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                            "Resource": "*",
                        },
                    ],
                },
            ),
        )
        function = aws.LambdaFunction(
            self,
            fn,
            function_name=name,
            description=f"{PROJECT} {fn} ({WIRING[fn]})",
            role=role.arn,
            runtime=RUNTIME,
            handler=f"{fn}.handler.handler",
            filename=code.path,
            source_code_hash=code.asset_hash,
            memory_size=num(f'local.memory_size["{fn}"]'),
            timeout=num(f'local.timeout["{fn}"]'),
            architectures=[tf(f'local.architecture["{fn}"]')],
            reserved_concurrent_executions=num(f'local.reserved_concurrency["{fn}"]'),
            publish=True,
            vpc_config={"subnet_ids": subnet_ids, "security_group_ids": [sg_id]},
            tracing_config={"mode": "Active"},
            kms_key_arn=self.key.arn,
            environment={"variables": {"FUNCTION": fn, **environment}},
            logging_config={"log_format": "JSON", "log_group": logs.name},
            # The role's permissions exist before the function: creating a VPC function checks them.
            depends_on=[logs, permissions],
            tags=t(fn),
            lifecycle=TerraformResourceLifecycle(
                precondition=[
                    {
                        "condition": tf(
                            "sum(values(local.reserved_concurrency)) <= "
                            f"data.aws_servicequotas_service_quota.lambda_concurrency.value - {LAMBDA_UNRESERVED_MIN}"
                        ),
                        "errorMessage": "Reserved concurrency totals ${sum(values(local.reserved_concurrency))} but "
                        "the account's Lambda concurrency quota is "
                        "${data.aws_servicequotas_service_quota.lambda_concurrency.value} and "
                        f"{LAMBDA_UNRESERVED_MIN} must stay unreserved: lower serverless_reserved_concurrency "
                        f"or request a quota increase (Service Quotas, {LAMBDA_CONCURRENCY_QUOTA[1]}).",
                    }
                ]
            ),
        )
        alias = aws.LambdaAlias(
            self,
            f"{fn}_live",
            name="live",
            function_name=function.function_name,
            function_version=function.version,
            description="Published version behind provisioned concurrency",
        )
        aws.LambdaProvisionedConcurrencyConfig(
            self,
            f"{fn}_provisioned",
            # with a schedule, Application Auto Scaling owns the level (the two would fight)
            count=num(f'local.provisioned_concurrency["{fn}"] > 0 && !({pc_scheduled(self, fn)}) ? 1 : 0'),
            function_name=function.function_name,
            qualifier=alias.name,
            provisioned_concurrent_executions=num(f'local.provisioned_concurrency["{fn}"]'),
            lifecycle=TerraformResourceLifecycle(
                precondition=[
                    {
                        "condition": tf(f'local.provisioned_concurrency["{fn}"] <= local.reserved_concurrency["{fn}"]'),
                        "errorMessage": f"Provisioned concurrency of {fn} must be <= its reserved concurrency.",
                    }
                ]
            ),
        )
        serverless_schedule(self, fn, function, alias)
        self.functions[fn], self.aliases[fn] = function, alias

    def _vpc_statements(self) -> list[dict]:
        """What Lambda needs to run a function in the VPC (the ENI part of
        AWSLambdaVPCAccessExecutionRole, without its account-wide logs:*): create interfaces only
        in the private subnets with the functions' group; Describe* works only on "*"."""

        def arn(kind: str, id_: str) -> str:  # HCL without nested interpolation (checkov parses it)
            return (
                f'format("arn:%s:ec2:{self.region}:%s:{kind}/%s", data.aws_partition.partition.partition, '
                f"data.aws_caller_identity.caller.account_id, {id_})"
            )

        any_interface = arn("network-interface", '"*"')
        interfaces = tf(any_interface)
        create_on = strings(
            f"concat([{any_interface}, {arn('security-group', 'aws_security_group.lambda_sg.id')}], "
            f"[for id in data.aws_subnets.private_subnets.ids : {arn('subnet', 'id')}])"
        )
        return [
            {
                "Sid": "VpcInterfacesCreate",
                "Effect": "Allow",
                "Action": "ec2:CreateNetworkInterface",
                "Resource": create_on,
            },
            {
                "Sid": "VpcInterfacesManage",
                "Effect": "Allow",
                "Action": [
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                "Resource": interfaces,
            },
            {
                "Sid": "VpcDescribe",
                "Effect": "Allow",
                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                "Resource": "*",
            },
        ]

    def alarms(self) -> None:
        """Per function: failed + throttled invocations per attempted invocation of its live alias."""
        for fn in FUNCTIONS:
            name = self.functions[fn].function_name
            rollback_alarm(
                self,
                f"{fn}_conn_errors",
                role=fn,
                qualifier=fn,
                dimensions={"FunctionName": name, "Resource": f"{name}:{self.aliases[fn].name}"},
            )

    def outputs(self) -> None:
        self.output(
            "serverless_function_names",
            {fn: f.function_name for fn, f in self.functions.items()},
            "Function short name -> function name",
        )
        self.output(
            "serverless_function_aliases",
            {fn: a.arn for fn, a in self.aliases.items()},
            "Function short name -> ARN of its `live` alias",
        )
