"""data-<region>: RDS PostgreSQL primary (Multi-AZ, gp3, KMS, TLS enforced) and
`data_replica_count` read replicas spread over the private subnets' AZs (taken from their
sorted list, so a failover of the primary never changes the plan).

The master password is never in tfvars, outputs, variables, the repo or the state: an
ephemeral `aws_secretsmanager_random_password` feeds the write-only arguments
`password_wo` (the instance) and `secret_string_wo` (the Secrets Manager secret the app and
functions read). Bump `data_password_version` to rotate. (`manage_master_user_password`
conflicts with read replicas; see aws-facts.md.)
"""

from __future__ import annotations

from modules import aws
from modules.base import TierStack
from modules.expr import flag, num, tf
from modules.iam import assume_role
from modules.kms import StackKey, log_group
from modules.lookup import Network
from modules.schedules import data_schedule
from modules.security import security_group
from stacks.naming import DATABASE_NAME, MASTER_USERNAME, POSTGRES_PORT, Tier, secret_name
from stacks.props import MAINTENANCE_WINDOWS, window_note

ENGINE_VERSION = "16"
PARAMETER_FAMILY = "postgres16"
LOG_EXPORTS = ("postgresql", "upgrade")  # every instance's CloudWatch Logs exports
BACKUP_WINDOW = "03:00-04:00"  # UTC, before the maintenance window


class DataStack(TierStack):
    tier = Tier.DATA
    # alarms(): none. RDS publishes no connection-error metric for PostgreSQL (stacks.alarms_contract
    # .NO_METRIC); a data change is judged by the compute and serverless alarms of its clients.

    def resources(self) -> None:
        t = self.tags
        self.key = StackKey(self, t, region=self.region)
        net = Network(self, environment=self.environment, region=self.region)
        # AZs of the private subnets: the replicas' AZs come from this stable, sorted list.
        aws.DataAwsSubnet(self, "private_subnet", id=tf("each.value")).add_override(
            "for_each", tf("toset(data.aws_subnets.private_subnets.ids)")
        )

        self.sg = security_group(
            self,
            "db_sg",
            t,
            role="db-sg",
            vpc_id=net.vpc_id,
            description=f"PostgreSQL: ingress rules are added by the client stacks ({POSTGRES_PORT} only)",
        )
        subnets = aws.DbSubnetGroup(
            self,
            "subnet_group",
            name=t.name("subnets"),
            subnet_ids=net.private_ids,
            description="Private subnets of the VPC",
            tags=t("subnet-group"),
        )
        params = aws.DbParameterGroup(
            self,
            "params",
            name=t.name("postgres16"),
            family=PARAMETER_FAMILY,
            description="TLS only, statement logging",
            tags=t("parameter-group"),
            parameter=[
                {"name": "rds.force_ssl", "value": "1"},
                {"name": "log_statement", "value": "ddl"},
                {"name": "log_min_duration_statement", "value": "1000"},
                {"name": "log_connections", "value": "1"},
            ],
        )
        monitoring = aws.IamRole(
            self,
            "monitoring_role",
            name=t.regional_name("monitoring"),
            assume_role_policy=assume_role(self, "monitoring_trust", "monitoring.rds.amazonaws.com"),
            tags=t("monitoring"),
        )
        monitoring_policy = aws.IamRolePolicyAttachment(
            self,
            "monitoring_policy",
            role=monitoring.name,
            policy_arn="arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole",
        )
        primary_name, replica_name = t.name("primary"), t.name("replica")
        # Every log group the exports write to exists first (KMS, retention): RDS would create
        # missing ones itself, unencrypted and kept forever.
        exports = ", ".join(f'"{e}"' for e in LOG_EXPORTS)
        primary_logs = log_group(
            self,
            "primary_logs",
            name=tf("each.value"),
            key=self.key,
            retention_var="data_log_retention_days",
            tags=t("primary"),
        )
        primary_logs.add_override(
            "for_each", tf(f'toset([for e in [{exports}] : "/aws/rds/instance/{primary_name}/${{e}}"])')
        )
        replica_logs = log_group(
            self,
            "replica_logs",
            name=tf("each.value"),
            key=self.key,
            retention_var="data_log_retention_days",
            tags=t("replica"),
        )
        replica_logs.add_override(
            "for_each",
            tf(
                "toset(flatten([for i in range(var.data_replica_count) : "
                f'[for e in [{exports}] : "/aws/rds/instance/{replica_name}-${{i + 1}}/${{e}}"]]))'
            ),
        )

        # Master password: ephemeral -> write-only arguments only.
        password = self.ephemeral(
            "aws_secretsmanager_random_password", "master", {"password_length": 32, "exclude_punctuation": True}
        )
        self.secret = aws.SecretsmanagerSecret(
            self,
            "master_secret",
            name=secret_name(self.environment, self.tier, "master"),
            kms_key_id=self.key.arn,
            description="PostgreSQL master credentials (JSON: username, password)",
            recovery_window_in_days=0 if self.destroyable else 30,
            tags=t("secret"),
        )
        aws.SecretsmanagerSecretVersion(
            self,
            "master_secret_version",
            secret_id=self.secret.id,
            secret_string_wo=tf(
                f'jsonencode({{username = "{MASTER_USERNAME}", password = {password}.random_password}})'
            ),
            secret_string_wo_version=num("var.data_password_version"),
        )

        common = dict(
            storage_type="gp3",
            iops=num("var.data_iops"),
            storage_throughput=num("var.data_storage_throughput"),
            vpc_security_group_ids=[self.sg.id],
            parameter_group_name=params.name,
            publicly_accessible=False,
            backup_retention_period=num("var.data_backup_retention_period"),
            deletion_protection=flag("var.data_deletion_protection"),
            copy_tags_to_snapshot=True,
            auto_minor_version_upgrade=True,
            iam_database_authentication_enabled=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=self.key.arn,
            monitoring_interval=60,
            monitoring_role_arn=monitoring.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            apply_immediately=flag("var.data_apply_immediately"),
            ca_cert_identifier="rds-ca-rsa2048-g1",
        )
        self.primary = aws.DbInstance(
            self,
            "primary",
            identifier=primary_name,
            engine="postgres",
            engine_version=ENGINE_VERSION,
            instance_class=tf("var.data_instance_class"),
            allocated_storage=num("var.data_allocated_storage"),
            multi_az=flag("var.data_multi_az"),
            db_name=DATABASE_NAME,
            port=POSTGRES_PORT,
            username=MASTER_USERNAME,
            password_wo=tf(f"{password}.random_password"),
            password_wo_version=num("var.data_password_version"),
            db_subnet_group_name=subnets.name,
            storage_encrypted=True,
            kms_key_id=self.key.arn,
            skip_final_snapshot=flag("var.data_skip_final_snapshot"),
            final_snapshot_identifier=f"{primary_name}-final",
            backup_window=BACKUP_WINDOW,
            maintenance_window=MAINTENANCE_WINDOWS[self.tier],
            depends_on=[primary_logs, monitoring_policy],
            tags=t("primary"),
            **common,
        )
        self.check(
            "apply_immediately",
            tf("var.data_apply_immediately"),
            f"{window_note(self.tier)}.",
        )
        self.replica = aws.DbInstance(
            self,
            "replica",
            count=num("var.data_replica_count"),
            identifier=f"{replica_name}-${{count.index + 1}}",
            replicate_source_db=self.primary.identifier,
            instance_class=tf("var.data_replica_instance_class"),
            multi_az=False,
            # From the sorted subnet AZs, never from the primary's current AZ: that one moves with
            # every Multi-AZ failover and availability_zone forces a new replica. A same-region
            # replica inherits encryption and key (setting kms_key_id is InvalidParameterCombination).
            availability_zone=tf(
                "element(sort(distinct([for s in data.aws_subnet.private_subnet : s.availability_zone])), "
                "count.index + 1)"
            ),
            skip_final_snapshot=True,
            depends_on=[replica_logs, monitoring_policy],
            tags=t("replica", f"{replica_name}-${{count.index + 1}}"),
            **common,
        )
        data_schedule(self, self.primary, self.key)

    def outputs(self) -> None:
        self.output("data_writer_endpoint", self.primary.address, "Writer (primary) hostname")
        self.output(
            "data_reader_endpoint",
            tf("var.data_replica_count > 0 ? aws_db_instance.replica[0].address : aws_db_instance.primary.address"),
            "Reader hostname (first replica; the primary when there is none)",
        )
        self.output("data_port", POSTGRES_PORT, "PostgreSQL port")
        self.output("data_database_name", DATABASE_NAME, "Database name")
        self.output("data_username", MASTER_USERNAME, "Master user name (the password is only in the secret)")
        self.output("data_secret_arn", self.secret.arn, "Secrets Manager secret with the master credentials")
