"""Populate a moto server with the resources the synthesized stacks describe.

Names, tags and fixed settings come from each stack's `cdk.tf.json`; sizes come from the same
place the analysis reads them: the `sizing_keys` output (role -> field -> tfvars key) resolved
against the stack's variable defaults and the tfvars override synth placed beside it. So an
applied tfvars change, synthesized again, shows up in the simulated account as it would after
`cdktf deploy`.
"""

from __future__ import annotations

import dataclasses
import io
import ipaddress
import json
import re
import secrets
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from stacks.naming import PROJECT, Tier, region_of, tfvars_filename, tier_of
from stacks.tfvars import props_class

FUNCTIONS_DIR = Path(__file__).resolve().parents[2] / "functions"
_CRITICAL = re.compile(r'^\$\{contains\(var\.(\w+), "([\w-]+)"\) \? "true" : "false"\}$')
_COUNT = re.compile(r"\$\{count\.index( \+ (\d+))?\}")
_VAR = re.compile(r"^\$\{var\.(\w+)\}$")


class SimError(RuntimeError):
    """The synthesized stacks cannot be turned into a simulated account."""


@dataclass(frozen=True)
class Stack:
    name: str  # "<tier>-<region>"
    doc: Mapping[str, Any]
    variables: Mapping[str, Any]  # defaults overlaid with the tfvars beside the stack

    @property
    def tier(self) -> str:
        return tier_of(self.name)

    @property
    def region(self) -> str:
        return region_of(self.name)

    @staticmethod
    def load(stack_dir: Path) -> Stack:
        try:
            tier = tier_of(stack_dir.name)
        except ValueError as e:
            raise SimError(f"{stack_dir}: {e}") from None
        doc = json.loads((stack_dir / "cdk.tf.json").read_text())
        values = {name: v.get("default") for name, v in doc.get("variable", {}).items()}
        override = stack_dir / tfvars_filename(stack_dir.name)
        if override.is_file():
            values.update(json.loads(override.read_text()))
        # a map variable may name only some keys: the stacks merge it over the props' full map
        base = _map_defaults(tier)
        values = {k: {**base[k], **v} if k in base and isinstance(v, dict) else v for k, v in values.items()}
        return Stack(stack_dir.name, doc, values)

    def resources(self, rtype: str) -> dict[str, dict[str, Any]]:
        return self.doc.get("resource", {}).get(rtype, {})

    def resource(self, rtype: str) -> dict[str, Any]:
        found = list(self.resources(rtype).values())
        if len(found) != 1:
            raise SimError(f"{self.name}: expected one {rtype}, found {len(found)}")
        return found[0]

    def key(self, address: str) -> Any:
        var, _, map_key = address.partition(".")
        value = self.variables[var]
        return value[map_key] if map_key else value

    def size(self, role: str, field: str, default: Any = None) -> Any:
        keys = self.doc.get("output", {}).get("sizing_keys", {}).get("value", {})
        address = keys.get(role, {}).get(field)
        return default if address is None else self.key(address)

    def render(self, value: Any, index: int = 0) -> Any:
        """Literal values, `${var.x}`, `${count.index [+ n]}` and the CriticalPath tag expression."""
        if not isinstance(value, str):
            return value
        m = _CRITICAL.match(value)
        if m:
            return "true" if m.group(2) in self.variables[m.group(1)] else "false"
        m = _VAR.match(value)
        if m:
            return self.variables[m.group(1)]
        return _COUNT.sub(lambda c: str(index + int(c.group(2) or 0)), value)

    def tags(self, body: Mapping[str, Any], index: int = 0) -> dict[str, str]:
        tags = body.get("tags")
        if tags is None and body.get("tag"):  # aws_autoscaling_group spells them as a list
            tags = {t["key"]: t["value"] for t in body["tag"]}
        return {k: str(self.render(v, index)) for k, v in sorted((tags or {}).items())}


def _map_defaults(tier: str) -> dict[str, dict]:
    defaults = {}
    for f in dataclasses.fields(cast(Any, props_class(tier))):  # every TierProps subclass is a dataclass
        if f.default_factory is not dataclasses.MISSING:
            value = f.default_factory()
            if isinstance(value, dict):
                defaults[f.name] = value
    return defaults


def load_stacks(stacks_dir: Path, regions: list[str]) -> dict[str, dict[str, Stack]]:
    """region -> tier -> Stack, for the requested regions."""
    if not stacks_dir.is_dir():
        raise SimError(f"{stacks_dir} does not exist: run `make synth` first")
    out: dict[str, dict[str, Stack]] = {}
    for stack_dir in sorted(p for p in stacks_dir.iterdir() if (p / "cdk.tf.json").is_file()):
        stack = Stack.load(stack_dir)
        if stack.region in regions:
            out.setdefault(stack.region, {})[stack.tier] = stack
    missing = [r for r in regions if r not in out]
    if missing:
        raise SimError(
            f"no synthesized stacks for region(s) {', '.join(missing)} in {stacks_dir}: "
            f"run `make synth REGIONS=...` first"
        )
    return out


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def _cidrsubnet(cidr: str, newbits: int, num: int) -> str:
    return str(list(ipaddress.ip_network(cidr).subnets(prefixlen_diff=newbits))[num])


def _network(client: Callable[[str], Any], s: Stack) -> dict[str, list[str]]:
    ec2 = client("ec2")
    vpc_body = s.resource("aws_vpc")
    vpc = ec2.create_vpc(
        CidrBlock=s.render(vpc_body["cidr_block"]),
        TagSpecifications=[{"ResourceType": "vpc", "Tags": _tag_list(s.tags(vpc_body))}],
    )["Vpc"]["VpcId"]
    azs = [z["ZoneName"] for z in ec2.describe_availability_zones()["AvailabilityZones"]]
    az_count = s.size("vpc", "az_count", s.variables.get("network_az_count", 3))
    subnets: dict[str, list[str]] = {"public": [], "private": []}
    cidr = s.variables["network_vpc_cidr"]
    for kind, offset in (("public", 0), ("private", 8)):
        body = s.resources("aws_subnet")[kind]
        for i in range(az_count):
            subnets[kind].append(
                ec2.create_subnet(
                    VpcId=vpc,
                    CidrBlock=_cidrsubnet(cidr, 4, i + offset),
                    AvailabilityZone=azs[i % len(azs)],
                    TagSpecifications=[{"ResourceType": "subnet", "Tags": _tag_list(s.tags(body, i))}],
                )["Subnet"]["SubnetId"]
            )
    nat_body = s.resource("aws_nat_gateway")
    for i in range(s.size("vpc", "nat_gateway_count")):
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        ec2.create_nat_gateway(
            SubnetId=subnets["public"][i],
            AllocationId=eip,
            TagSpecifications=[{"ResourceType": "natgateway", "Tags": _tag_list(s.tags(nat_body, i))}],
        )
    return subnets


def _data(client: Callable[[str], Any], s: Stack, subnets: dict[str, list[str]]) -> None:
    rds = client("rds")
    group = f"{s.name}-sim"
    rds.create_db_subnet_group(
        DBSubnetGroupName=group, DBSubnetGroupDescription="simulated", SubnetIds=subnets["private"]
    )
    body = s.resources("aws_db_instance")["primary"]
    primary = s.render(body["identifier"])
    iops, throughput = s.size("primary", "iops"), s.size("primary", "storage_throughput")
    rds.create_db_instance(
        DBInstanceIdentifier=primary,
        Engine=body["engine"],
        EngineVersion=str(body.get("engine_version", "16")),
        DBInstanceClass=s.size("primary", "instance_class"),
        AllocatedStorage=s.size("primary", "allocated_storage"),
        StorageType=body.get("storage_type", "gp3"),
        MultiAZ=bool(s.size("primary", "multi_az")),
        BackupRetentionPeriod=s.size("primary", "backup_retention_period", 7),
        DBSubnetGroupName=group,
        MasterUsername=body.get("username", "admin"),
        MasterUserPassword=secrets.token_urlsafe(24),  # never stored
        StorageEncrypted=True,
        DBName=body.get("db_name", "app"),
        Tags=_tag_list(s.tags(body)),
        **({"Iops": iops} if iops else {}),
        **({"StorageThroughput": throughput} if throughput else {}),
    )
    replica = s.resources("aws_db_instance").get("replica") or {}
    for i in range(s.size("replica", "count", 0) if replica else 0):
        rds.create_db_instance_read_replica(
            DBInstanceIdentifier=s.render(replica["identifier"], i),
            SourceDBInstanceIdentifier=primary,
            DBInstanceClass=s.size("replica", "instance_class"),
            Tags=_tag_list(s.tags(replica, i)),
        )


def _cache(client: Callable[[str], Any], s: Stack, subnets: dict[str, list[str]]) -> None:
    ec = client("elasticache")
    body = s.resource("aws_elasticache_replication_group")
    group = f"{s.name}-sim"
    ec.create_cache_subnet_group(
        CacheSubnetGroupName=group, CacheSubnetGroupDescription="simulated", SubnetIds=subnets["private"]
    )
    multi_az = bool(s.render(body.get("multi_az_enabled", True)))
    ec.create_replication_group(
        ReplicationGroupId=s.render(body["replication_group_id"]),
        ReplicationGroupDescription=body["description"],
        Engine=body.get("engine", "redis"),
        CacheNodeType=s.size("cluster", "node_type"),
        NumNodeGroups=s.size("cluster", "num_shards"),
        ReplicasPerNodeGroup=s.size("cluster", "replicas_per_shard"),
        ClusterMode="enabled",
        MultiAZEnabled=multi_az,
        AutomaticFailoverEnabled=True,
        TransitEncryptionEnabled=True,
        AtRestEncryptionEnabled=True,
        CacheSubnetGroupName=group,
        Tags=_tag_list(s.tags(body)),
    )


def _compute(client: Callable[[str], Any], s: Stack, subnets: dict[str, list[str]]) -> None:
    ec2, elb, asg = client("ec2"), client("elbv2"), client("autoscaling")
    lt_body, asg_body, lb_body = (s.resource(t) for t in ("aws_launch_template", "aws_autoscaling_group", "aws_lb"))
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    lt = ec2.create_launch_template(
        LaunchTemplateName=s.render(lt_body["name"]),
        LaunchTemplateData={
            "InstanceType": s.size("asg", "instance_type"),
            "ImageId": image,
            "MetadataOptions": {"HttpTokens": "required", "HttpEndpoint": "enabled"},
        },
        TagSpecifications=[{"ResourceType": "launch-template", "Tags": _tag_list(s.tags(lt_body))}],
    )["LaunchTemplate"]
    lb = elb.create_load_balancer(
        Name=s.render(lb_body["name"]),
        Type="network",
        Scheme="internet-facing",
        Subnets=subnets["public"],
        Tags=_tag_list(s.tags(lb_body)),
    )["LoadBalancers"][0]
    vpc = ec2.describe_subnets(SubnetIds=subnets["private"][:1])["Subnets"][0]["VpcId"]
    tg = elb.create_target_group(
        Name=f"{s.render(lb_body['name'])[:24]}-tg", Protocol="TCP", Port=8080, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elb.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="TCP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    tags = s.tags(asg_body)
    name = s.render(asg_body["name"])
    asg.create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": lt["LaunchTemplateId"], "Version": str(lt["LatestVersionNumber"])},
        MinSize=s.size("asg", "min_size"),
        MaxSize=s.size("asg", "max_size"),
        DesiredCapacity=s.size("asg", "desired_capacity"),
        VPCZoneIdentifier=",".join(subnets["private"]),
        TargetGroupARNs=[tg],
        Tags=[
            {"Key": k, "Value": v, "PropagateAtLaunch": True, "ResourceId": name, "ResourceType": "auto-scaling-group"}
            for k, v in tags.items()
        ],
    )
    target = s.variables.get("compute_target_cpu_utilization")
    for body in s.resources("aws_autoscaling_policy").values():
        if target is not None:  # the stack creates it with count = 1 only then
            asg.put_scaling_policy(
                AutoScalingGroupName=name,
                PolicyName=s.render(body["name"]),
                PolicyType="TargetTrackingScaling",
                TargetTrackingConfiguration={
                    "PredefinedMetricSpecification": {"PredefinedMetricType": "ASGAverageCPUUtilization"},
                    "TargetValue": float(target),
                },
            )


def _function_zip(short: str) -> bytes:
    """The function's real code from functions/ (its package plus the shared lib)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for pkg in (short, "lib"):
            for path in sorted((FUNCTIONS_DIR / pkg).glob("*.py")):
                info = zipfile.ZipInfo(f"{pkg}/{path.name}", date_time=(2020, 1, 1, 0, 0, 0))
                z.writestr(info, path.read_bytes())
    return buf.getvalue()


def _serverless(client: Callable[[str], Any], s: Stack) -> None:
    lam, iam = client("lambda"), client("iam")
    role = iam.create_role(
        RoleName=f"{PROJECT}-sim-{s.name}",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "lambda.amazonaws.com"}}
                ],
            }
        ),
    )["Role"]["Arn"]
    for body in s.resources("aws_lambda_function").values():
        tags = s.tags(body)
        short = tags["Role"]
        name = s.render(body["function_name"])
        lam.create_function(
            FunctionName=name,
            Runtime=body.get("runtime", "python3.12"),
            Role=role,
            Handler=body["handler"],
            Code={"ZipFile": _function_zip(short)},
            MemorySize=int(s.size(short, "memory_size")),
            Timeout=int(s.size(short, "timeout")),
            Architectures=[s.size(short, "architecture", "x86_64")],
            Tags=tags,
        )
        lam.put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=int(s.size(short, "reserved_concurrency"))
        )
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
        provisioned = int(s.size(short, "provisioned_concurrency", 0))
        if provisioned:
            lam.put_provisioned_concurrency_config(
                FunctionName=name, Qualifier="live", ProvisionedConcurrentExecutions=provisioned
            )


def populate(connector, stacks_dir: Path, regions: list[str]) -> dict[str, list[str]]:
    """Create every tier of every requested region in the endpoint behind `connector`.

    Returns region -> the tiers created, for the run's log.
    """
    created: dict[str, list[str]] = {}
    for region, tiers in load_stacks(stacks_dir, regions).items():
        clients = connector.region(region)
        if Tier.NETWORK not in tiers:
            raise SimError(f"{region}: the network stack is missing from {stacks_dir}")
        subnets = _network(clients.client, tiers[Tier.NETWORK])
        for tier, build in ((Tier.DATA, _data), (Tier.CACHE, _cache), (Tier.COMPUTE, _compute)):
            if tier in tiers:
                build(clients.client, tiers[tier], subnets)
        if Tier.SERVERLESS in tiers:
            _serverless(clients.client, tiers[Tier.SERVERLESS])
        created[region] = sorted(tiers)
    return created
