"""network-<region>: VPC over `network_az_count` AZs with public and private subnets, NAT
gateways (`network_nat_gateway_count`), S3/DynamoDB gateway endpoints on the private route
tables, Secrets Manager and CloudWatch Logs interface endpoints, and VPC flow logs to a KMS-encrypted log group."""

from __future__ import annotations

from cdktf import TerraformResourceLifecycle

from modules import aws
from modules.alarms import rollback_alarm
from modules.base import TierStack
from modules.expr import num, strings, tf
from modules.iam import assume_role, policy
from modules.kms import StackKey, log_group
from modules.security import allow_in, security_group
from stacks.naming import HTTPS_PORT, Tier, log_group_name

INTERFACE_ENDPOINTS = ("secretsmanager", "logs")


class NetworkStack(TierStack):
    tier = Tier.NETWORK

    def resources(self) -> None:
        t = self.tags
        az_count = num("var.network_az_count")
        nat_count = num("var.network_nat_gateway_count")
        self.key = StackKey(self, t, region=self.region)
        # Zones allowlisted by name (a..f), so a newly added zone never shifts the subnets. The
        # variable allows up to 6 AZs; the region may have fewer (us-west-2: 4): say so at plan.
        aws.DataAwsAvailabilityZones(
            self,
            "azs",
            state="available",
            filter=[{"name": "zone-name", "values": [f"{self.region}{letter}" for letter in "abcdef"]}],
            lifecycle=TerraformResourceLifecycle(
                postcondition=[
                    {
                        "condition": tf("length(self.names) >= var.network_az_count"),
                        "errorMessage": f"network_az_count is ${{var.network_az_count}} but {self.region} has "
                        "only ${length(self.names)} available AZs.",
                    }
                ]
            ),
        )

        self.vpc = aws.Vpc(
            self,
            "vpc",
            cidr_block=tf("var.network_vpc_cidr"),
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=t("vpc"),
        )
        aws.DefaultSecurityGroup(self, "default_sg", vpc_id=self.vpc.id, tags=t("default-sg"))  # no rules: deny all

        # Subnets: /20s of the VPC, public at index i, private at index i + 8.
        self.public = aws.Subnet(
            self,
            "public",
            count=az_count,
            vpc_id=self.vpc.id,
            map_public_ip_on_launch=False,
            cidr_block=tf("cidrsubnet(var.network_vpc_cidr, 4, count.index)"),
            availability_zone=tf("data.aws_availability_zones.azs.names[count.index]"),
            tags=t("public-subnet", t.name("public-${count.index}")),
        )
        self.private = aws.Subnet(
            self,
            "private",
            count=az_count,
            vpc_id=self.vpc.id,
            map_public_ip_on_launch=False,
            cidr_block=tf("cidrsubnet(var.network_vpc_cidr, 4, count.index + 8)"),
            availability_zone=tf("data.aws_availability_zones.azs.names[count.index]"),
            tags=t("private-subnet", t.name("private-${count.index}")),
        )

        igw = aws.InternetGateway(self, "igw", vpc_id=self.vpc.id, tags=t("igw"))
        public_rt = aws.RouteTable(self, "public_rt", vpc_id=self.vpc.id, tags=t("public-rt"))
        aws.Route(
            self, "public_default", route_table_id=public_rt.id, destination_cidr_block="0.0.0.0/0", gateway_id=igw.id
        )
        aws.RouteTableAssociation(
            self,
            "public_assoc",
            count=az_count,
            subnet_id=tf("aws_subnet.public[count.index].id"),
            route_table_id=public_rt.id,
        )

        aws.Eip(self, "nat_eip", count=nat_count, domain="vpc", tags=t("nat"))
        self.nat = aws.NatGateway(
            self,
            "nat",
            count=nat_count,
            allocation_id=tf("aws_eip.nat_eip[count.index].id"),
            subnet_id=tf("aws_subnet.public[count.index].id"),
            tags=t("nat"),
            depends_on=[igw],
        )

        # One private route table per AZ; AZ i uses NAT gateway i mod count.
        aws.RouteTable(self, "private_rt", count=az_count, vpc_id=self.vpc.id, tags=t("private-rt"))
        aws.Route(
            self,
            "private_default",
            count=az_count,
            route_table_id=tf("aws_route_table.private_rt[count.index].id"),
            destination_cidr_block="0.0.0.0/0",
            nat_gateway_id=tf("aws_nat_gateway.nat[count.index % var.network_nat_gateway_count].id"),
        )
        aws.RouteTableAssociation(
            self,
            "private_assoc",
            count=az_count,
            subnet_id=tf("aws_subnet.private[count.index].id"),
            route_table_id=tf("aws_route_table.private_rt[count.index].id"),
        )
        private_rts = strings("aws_route_table.private_rt[*].id")
        for svc in ("s3", "dynamodb"):
            aws.VpcEndpoint(
                self,
                f"{svc}_endpoint",
                vpc_id=self.vpc.id,
                vpc_endpoint_type="Gateway",
                service_name=f"com.amazonaws.{self.region}.{svc}",
                route_table_ids=private_rts,
                tags=t(f"{svc}-endpoint"),
            )

        # Secrets Manager and CloudWatch Logs without leaving the VPC: the app and functions reach
        # them on 443 only (the instances ship their app log to their log group).
        endpoints_sg = security_group(
            self,
            "endpoints_sg",
            t,
            role="endpoints-sg",
            vpc_id=self.vpc.id,
            description="Interface endpoints: HTTPS from inside the VPC",
        )
        allow_in(
            self,
            "endpoints_https_in",
            t,
            group_id=endpoints_sg.id,
            port=HTTPS_PORT,
            cidr=tf("var.network_vpc_cidr"),
            description="HTTPS from the VPC",
        )
        for svc in INTERFACE_ENDPOINTS:
            aws.VpcEndpoint(
                self,
                f"{svc}_endpoint",
                vpc_id=self.vpc.id,
                vpc_endpoint_type="Interface",
                service_name=f"com.amazonaws.{self.region}.{svc}",
                private_dns_enabled=True,
                subnet_ids=strings("aws_subnet.private[*].id"),
                security_group_ids=[endpoints_sg.id],
                tags=t(f"{svc}-endpoint"),
            )

        # Flow logs -> KMS-encrypted log group, written by a role scoped to that group.
        logs = log_group(
            self,
            "flow_log_group",
            name=log_group_name(self.environment, self.tier, "flow-logs"),
            key=self.key,
            retention_var="network_flow_log_retention_days",
            tags=t("flow-logs"),
        )
        role = aws.IamRole(
            self,
            "flow_log_role",
            name=t.regional_name("flow-logs"),
            assume_role_policy=assume_role(self, "flow_log_trust", "vpc-flow-logs.amazonaws.com"),
            tags=t("flow-logs"),
        )
        aws.IamRolePolicy(
            self,
            "flow_log_policy",
            role=role.id,
            name="write-flow-logs",
            policy=policy(
                self,
                "flow_log_permissions",
                {
                    "Statement": [
                        {
                            "Effect": "Allow",
                            # The minimum the VPC flow logs guide lists, on this group only.
                            "Action": [
                                "logs:CreateLogGroup",
                                "logs:CreateLogStream",
                                "logs:PutLogEvents",
                                "logs:DescribeLogGroups",
                                "logs:DescribeLogStreams",
                            ],
                            "Resource": [logs.arn, f"{logs.arn}:*"],
                        }
                    ]
                },
            ),
        )
        aws.FlowLog(
            self,
            "flow_log",
            vpc_id=self.vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=logs.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=t("flow-logs"),
        )

    def alarms(self) -> None:
        """Per NAT gateway (named by its AZ): failed port allocations per connection attempt."""
        rollback_alarm(
            self,
            "conn_errors",
            role="nat",
            count=num("var.network_nat_gateway_count"),
            dimensions={"NatGatewayId": tf("aws_nat_gateway.nat[count.index].id")},
            qualifier=tf("aws_subnet.public[count.index].availability_zone"),
        )

    def outputs(self) -> None:
        self.output("network_vpc_id", self.vpc.id, "VPC id")
        self.output("network_private_subnet_ids", tf("aws_subnet.private[*].id"), "Private subnet ids, one per AZ")
        self.output("network_public_subnet_ids", tf("aws_subnet.public[*].id"), "Public subnet ids, one per AZ")
        self.output("network_nat_gateway_ids", tf("aws_nat_gateway.nat[*].id"), "NAT gateway ids")
