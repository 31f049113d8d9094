"""compute-<region>: an Auto Scaling group of `compute_instance_type` from a launch template
(IMDSv2 required, no public IP, KMS-encrypted gp3 root volume) behind an internet-facing
Network Load Balancer; instance changes roll out as a new template version + a rolling
instance refresh (the group points at `latest_version`, never "$Latest"). A target-tracking
policy on average CPU (`compute_target_cpu_utilization`, null disables it) scales the group
between its min and max; while it is on, the policy owns the desired capacity.

Security groups: the NLB listens on `compute_app_port`, open to anywhere (the only such
rule), and reaches the app on that port only; the app reaches PostgreSQL 5432, Redis 6379
and the interface endpoints (Secrets Manager, CloudWatch Logs) 443 only. The 5432/6379 ingress on the data/cache groups
from the app group are created here (this stack owns its clients' rules)."""

from __future__ import annotations

import json

from modules import aws
from modules.alarms import rollback_alarm
from modules.base import TierStack
from modules.expr import num, tf
from modules.iam import assume_role, policy
from modules.kms import StackKey, log_group
from modules.lookup import Backends
from modules.schedules import compute_schedule
from modules.security import ANYWHERE, allow_in, allow_out, security_group
from stacks.naming import PROJECT, Tier, log_group_name

USER_DATA = """#!/bin/bash
# Minimal app: answers health checks on the app port (the real app ships its own AMI/artifact).
cat >/usr/local/bin/rightsize-app.py <<'PY'
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok\\n")
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(("", int(os.environ["APP_PORT"])), H).serve_forever()
PY
cat >/etc/systemd/system/rightsize-app.service <<UNIT
[Service]
Environment=APP_PORT={port}
ExecStart=/usr/bin/python3 /usr/local/bin/rightsize-app.py
Restart=always
User=nobody
[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload && systemctl enable --now rightsize-app
"""


AUTOSCALING_SERVICE_ROLE = "AWSServiceRoleForAutoScaling"


class ComputeStack(TierStack):
    tier = Tier.COMPUTE

    def resources(self) -> None:
        t, env, region = self.tags, self.environment, self.region
        # The ASG launches instances through its service-linked role: it must be able to use the
        # key of their EBS volumes, or every launch fails. Created by AWS with the account's first
        # ASG (or `aws iam create-service-linked-role --aws-service-name autoscaling.amazonaws.com`).
        autoscaling = aws.DataAwsIamRole(self, "autoscaling_service_role", name=AUTOSCALING_SERVICE_ROLE)
        self.key = StackKey(self, t, region=region, autoscaling_role=autoscaling.arn)
        backends = Backends(self, environment=env, region=region, public=True)
        net = backends.net
        app_port = num("var.compute_app_port")

        nlb_sg = security_group(
            self, "nlb_sg", t, role="nlb-sg", vpc_id=net.vpc_id, description="NLB: listener in, app port out"
        )
        app_sg = security_group(
            self,
            "app_sg",
            t,
            role="app-sg",
            vpc_id=net.vpc_id,
            description="App instances: app port from the NLB; PostgreSQL, Redis, interface endpoints out",
        )
        allow_in(
            self,
            "nlb_listener_in",
            t,
            group_id=nlb_sg.id,
            port=app_port,
            cidr=ANYWHERE,
            description="Public listener (the only ingress from 0.0.0.0/0)",
        )
        allow_out(
            self, "nlb_to_app", t, group_id=nlb_sg.id, port=app_port, to_group=app_sg.id, description="NLB to app"
        )
        allow_in(
            self, "app_from_nlb", t, group_id=app_sg.id, port=app_port, from_group=nlb_sg.id, description="NLB to app"
        )
        backends.admit(self, t, client_sg=app_sg.id, client="app", who="App")

        logs = log_group(
            self,
            "app_log_group",
            name=log_group_name(env, self.tier, "app"),
            key=self.key,
            retention_var="compute_log_retention_days",
            tags=t("asg"),
        )
        role = aws.IamRole(
            self,
            "instance_role",
            name=t.regional_name("instance"),
            assume_role_policy=assume_role(self, "instance_trust", "ec2.amazonaws.com"),
            tags=t("asg"),
        )
        aws.IamRolePolicy(
            self,
            "instance_policy",
            role=role.id,
            name="app",
            policy=policy(
                self,
                "instance_permissions",
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "AppLogs",
                            "Effect": "Allow",
                            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                            "Resource": [f"{logs.arn}:*"],
                        },
                    ],
                },
            ),
        )
        profile = aws.IamInstanceProfile(
            self, "instance_profile", name=t.regional_name("instance"), role=role.name, tags=t("asg")
        )
        ami = aws.DataAwsSsmParameter(
            self,
            "ami",
            name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-${var.compute_architecture}",
        )

        self.template = aws.LaunchTemplate(
            self,
            "launch_template",
            name=t.name("asg"),
            description="App instances (IMDSv2, no public IP, encrypted)",
            image_id=ami.insecure_value,
            instance_type=tf("var.compute_instance_type"),
            ebs_optimized="true",
            update_default_version=True,
            iam_instance_profile={"arn": profile.arn},
            metadata_options={
                "http_endpoint": "enabled",
                "http_tokens": "required",
                "http_put_response_hop_limit": 1,
                "instance_metadata_tags": "enabled",
            },
            monitoring={"enabled": True},
            network_interfaces=[
                {"associatePublicIpAddress": "false", "deleteOnTermination": "true", "securityGroups": [app_sg.id]}
            ],
            block_device_mappings=[
                {
                    "deviceName": "/dev/xvda",
                    "ebs": {
                        "volumeSize": 30,
                        "volumeType": "gp3",
                        "encrypted": "true",
                        "kmsKeyId": self.key.arn,
                        "deleteOnTermination": "true",
                    },
                }
            ],
            user_data=tf(f'base64encode(replace({json.dumps(USER_DATA)}, "{{port}}", tostring(var.compute_app_port)))'),
            tag_specifications=[
                {"resourceType": kind, "tags": t("asg")} for kind in ("instance", "volume", "network-interface")
            ],
            tags=t("asg"),
        )

        nlb_name = self._short(t.name("nlb"))
        self.nlb = aws.Lb(
            self,
            "nlb",
            name=nlb_name,
            load_balancer_type="network",
            internal=False,
            subnets=net.public_ids,
            security_groups=[nlb_sg.id],
            enable_cross_zone_load_balancing=True,
            enable_deletion_protection=not self.destroyable,
            tags=t("nlb"),
        )
        target_group = aws.LbTargetGroup(
            self,
            "target_group",
            name=self._short(t.name("app")),
            port=app_port,
            protocol="TCP",
            vpc_id=net.vpc_id,
            target_type="instance",
            deregistration_delay="30",
            health_check={
                "enabled": True,
                "protocol": "HTTP",
                "path": "/",
                "port": "traffic-port",
                "healthy_threshold": 3,
                "unhealthy_threshold": 3,
                "interval": 10,
            },
            tags=t("nlb"),
        )
        aws.LbListener(
            self,
            "listener",
            load_balancer_arn=self.nlb.arn,
            port=app_port,
            protocol="TCP",
            default_action=[{"type": "forward", "targetGroupArn": target_group.arn}],
            tags=t("nlb"),
        )

        self.asg = aws.AutoscalingGroup(
            self,
            "asg",
            name=t.name("asg"),
            min_size=num("var.compute_min_size"),
            max_size=num("var.compute_max_size"),
            # null while the scaling policy is on: desired_capacity is Optional+Computed, so
            # Terraform leaves the policy's value alone (lifecycle ignore_changes cannot be conditional)
            desired_capacity=num("var.compute_target_cpu_utilization == null ? var.compute_desired_capacity : null"),
            vpc_zone_identifier=net.private_ids,
            launch_template={
                "id": self.template.id,
                "version": tf("aws_launch_template.launch_template.latest_version"),
            },
            target_group_arns=[target_group.arn],
            health_check_type="ELB",
            health_check_grace_period=300,
            instance_refresh={
                "strategy": "Rolling",
                "preferences": {"min_healthy_percentage": num("var.compute_min_healthy_percentage")},
            },
            enabled_metrics=[
                "GroupDesiredCapacity",
                "GroupInServiceInstances",
                "GroupMinSize",
                "GroupMaxSize",
                "GroupTotalInstances",
            ],
            tag=t.asg_tags("asg"),
        )
        compute_schedule(self, self.asg)

        aws.AutoscalingPolicy(
            self,
            "cpu_target",
            count=num("var.compute_target_cpu_utilization == null ? 0 : 1"),
            name=t.name("cpu-target"),
            autoscaling_group_name=self.asg.name,
            policy_type="TargetTrackingScaling",
            target_tracking_configuration={
                "predefined_metric_specification": {"predefined_metric_type": "ASGAverageCPUUtilization"},
                "target_value": num("var.compute_target_cpu_utilization"),
            },
        )

    def alarms(self) -> None:
        """TCP resets (target + NLB) per new flow through the NLB."""
        rollback_alarm(self, "conn_errors", role="nlb", dimensions={"LoadBalancer": self.nlb.arn_suffix})

    @staticmethod
    def _short(name: str) -> str:
        """Load balancer and target group names: at most 32 characters."""
        return name if len(name) <= 32 else name.replace(f"{PROJECT}-", "rs-")[:32].rstrip("-")

    def outputs(self) -> None:
        self.output("compute_nlb_dns_name", self.nlb.dns_name, "NLB DNS name (the load test's target)")
        self.output("compute_app_port", tf("var.compute_app_port"), "TCP port of the NLB listener and of the app")
        self.output("compute_asg_name", self.asg.name, "Auto Scaling group name")
