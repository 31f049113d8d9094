"""Shared fixtures of the analysis tests (add fixtures; do not change others' fixtures)."""

import io
import json
import zipfile

import pytest

# --- inventory / collection (issue 3) -------------------------------------------------------


def _tags(stack, role, tier, critical="false", **extra):
    tags = {
        "Project": "rightsize",
        "Environment": "staging",
        "Tier": tier,
        "ManagedBy": "cdktf",
        "CriticalPath": critical,
        "Stack": stack,
        "Role": role,
        **extra,
    }
    return [{"Key": k, "Value": v} for k, v in tags.items()]


def build_staging(client, region):
    """The staging resources of one region (all five kinds) through `client(service)`.

    Managed ones carry the contract's tags; the replica and the catalog function are
    CriticalPath=true; a Redis group and a Lambda function without tags are unmanaged.
    Returns a dict of the ids the tests assert on.
    """
    ec2, ids = client("ec2"), {}
    vpc = ec2.create_vpc(
        CidrBlock="10.0.0.0/16",
        TagSpecifications=[{"ResourceType": "vpc", "Tags": _tags(f"network-{region}", "vpc", "network")}],
    )["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{region}{az}")["Subnet"]["SubnetId"]
        for i, az in enumerate("ab")
    ]
    nats = []
    for subnet in subnets:
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nats.append(
            ec2.create_nat_gateway(
                SubnetId=subnet,
                AllocationId=eip,
                TagSpecifications=[
                    {"ResourceType": "natgateway", "Tags": _tags(f"network-{region}", "nat", "network")}
                ],
            )["NatGateway"]["NatGatewayId"]
        )
    ids.update(vpc=vpc, nats=sorted(nats), subnets=subnets)

    rds = client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="rightsize-staging-data-primary",
        DBInstanceClass="db.r6g.2xlarge",
        Engine="postgres",
        MultiAZ=True,
        AllocatedStorage=1000,
        StorageType="gp3",
        Iops=12000,
        BackupRetentionPeriod=7,
        MasterUsername="app",
        MasterUserPassword="not-a-secret-1",
        Tags=_tags(f"data-{region}", "primary", "data"),
    )
    rds.create_db_instance_read_replica(
        DBInstanceIdentifier="rightsize-staging-data-replica",
        SourceDBInstanceIdentifier="rightsize-staging-data-primary",
        DBInstanceClass="db.r6g.2xlarge",
        Tags=_tags(f"data-{region}", "replica", "data", critical="true"),
    )

    ec = client("elasticache")
    ec.create_replication_group(
        ReplicationGroupId="rightsize-staging-cache",
        ReplicationGroupDescription="cache",
        Engine="redis",
        CacheNodeType="cache.r6g.2xlarge",
        ClusterMode="enabled",
        NumNodeGroups=2,
        ReplicasPerNodeGroup=1,
        MultiAZEnabled=True,
        AutomaticFailoverEnabled=True,
        Tags=_tags(f"cache-{region}", "cluster", "cache"),
    )
    ec.create_replication_group(
        ReplicationGroupId="legacy-redis",
        ReplicationGroupDescription="not ours",
        Engine="redis",
        CacheNodeType="cache.t3.micro",
        NumCacheClusters=2,
    )

    template = ec2.create_launch_template(
        LaunchTemplateName="rightsize-staging-compute-asg",
        LaunchTemplateData={"InstanceType": "c5.4xlarge", "ImageId": "ami-12c6146b"},
    )["LaunchTemplate"]["LaunchTemplateId"]
    elbv2 = client("elbv2")
    nlb = elbv2.create_load_balancer(Name="rightsize-staging-nlb", Type="network", Scheme="internal", Subnets=subnets)[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(
        Name="rightsize-staging-app", Protocol="TCP", Port=8080, VpcId=vpc, TargetType="instance"
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=nlb, Protocol="TCP", Port=80, DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}]
    )
    client("autoscaling").create_auto_scaling_group(
        AutoScalingGroupName="rightsize-staging-compute-asg",
        MinSize=2,
        MaxSize=6,
        DesiredCapacity=3,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        TargetGroupARNs=[tg],
        VPCZoneIdentifier=",".join(subnets),
        Tags=[
            dict(
                t, PropagateAtLaunch=True, ResourceId="rightsize-staging-compute-asg", ResourceType="auto-scaling-group"
            )
            for t in _tags(f"compute-{region}", "asg", "compute")
        ],
    )
    ids.update(template=template, nlb=nlb, tg=tg)

    role = client("iam").create_role(RoleName=f"fn-{region}", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    lam, buf = client("lambda"), io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("h.py", "def h(event, context):\n    return 1\n")
    for short, critical in (("orders", "false"), ("catalog", "true")):
        name = f"rightsize-staging-{short}"
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="h.h",
            MemorySize=3008,
            Timeout=900,
            Code={"ZipFile": buf.getvalue()},
            Architectures=["arm64"],
            Tags={t["Key"]: t["Value"] for t in _tags(f"serverless-{region}", short, "serverless", critical=critical)},
        )
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.create_alias(FunctionName=name, Name="live", FunctionVersion=version)
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=100)
    lam.create_function(
        FunctionName="other-team-fn", Runtime="python3.12", Role=role, Handler="h.h", Code={"ZipFile": buf.getvalue()}
    )
    return ids


SIZING_KEYS = {
    "network": {"vpc": {"nat_gateway_count": "network_nat_gateway_count"}},
    "data": {
        "primary": {"instance_class": "data_instance_class", "iops": "data_iops"},
        "replica": {"instance_class": "data_replica_instance_class", "count": "data_replica_count"},
    },
    "cache": {
        "cluster": {
            "node_type": "cache_node_type",
            "num_shards": "cache_num_shards",
            "replicas_per_shard": "cache_replicas_per_shard",
        }
    },
    "compute": {"asg": {"instance_type": "compute_instance_type", "min_size": "compute_min_size"}},
    "serverless": {
        "orders": {"memory_size": "serverless_memory_size.orders"},
        "catalog": {"memory_size": "serverless_memory_size.catalog"},
    },
}


def write_stacks(root, regions=("us-east-1",), value_as_string=False):
    """cdktf.out/stacks/<tier>-<region>/cdk.tf.json with only the sizing_keys output (the contract)."""
    for region in regions:
        for tier, keys in SIZING_KEYS.items():
            d = root / f"{tier}-{region}"
            d.mkdir(parents=True, exist_ok=True)
            value = json.dumps(keys) if value_as_string else keys
            (d / "cdk.tf.json").write_text(json.dumps({"output": {"sizing_keys": {"value": value}}}))
    return root


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake credentials and no real endpoint, for moto."""
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)


@pytest.fixture
def staging_builder():
    """`build_staging(client, region)`: the staging resources of one region (see above)."""
    return build_staging


@pytest.fixture
def stacks_dir(tmp_path):
    """A cdktf.out/stacks fixture holding only the sizing_keys outputs, for us-east-1 and us-west-2."""
    return write_stacks(tmp_path / "stacks", ("us-east-1", "us-west-2"))


# --- rollout / guard (issue 6) -----------------------------------------------------------------


@pytest.fixture
def mocked_aws(aws_credentials):
    from moto import mock_aws

    with mock_aws():
        yield


@pytest.fixture
def project_root(tmp_path, monkeypatch):
    """An empty project checkout (tfvars/staging, reports/staging) as the working directory."""
    (tmp_path / "tfvars" / "staging").mkdir(parents=True)
    (tmp_path / "reports" / "staging").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def write_recommendations(project_root):
    """Write reports/<env>/recommendations.json (schema of docs/architecture.md) from records."""

    def write(records, environment="staging"):
        path = project_root / "reports" / environment / "recommendations.json"
        doc = {
            "schema_version": 1,
            "environment": environment,
            "target": "test",
            "window_days": 45,
            "recommendations": sorted(records, key=lambda r: (r["region"], r["kind"], r["resource_id"])),
        }
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return path

    return write


def recommendation(
    kind,
    resource_id,
    stack,
    changes,
    *,
    region="us-east-1",
    status="emitted",
    rollout="in-place",
    environment="staging",
):
    """One recommendations.json record; changes are (field, tfvars_key, current, proposed)."""
    return {
        "region": region,
        "kind": kind,
        "resource_id": resource_id,
        "stack": stack,
        "tfvars_file": f"tfvars/{environment}/{stack}.auto.tfvars.json" if stack else None,
        "status": status,
        "confidence": 0.9,
        "risk": "low",
        "rollout": rollout,
        "reason": "test",
        "changes": [
            {"field": f, "tfvars_key": k if stack else None, "current": c, "proposed": p} for f, k, c, p in changes
        ],
        "cost_current": {"on_demand": 2.0, "reserved_1yr": 1.5, "reserved_3yr": None, "missing": []},
        "cost_proposed": {"on_demand": 1.0, "reserved_1yr": 0.75, "reserved_3yr": None, "missing": []},
        "monthly_savings": {"on_demand": 1.0, "reserved_1yr": 0.75, "reserved_3yr": None},
        "evidence": {},
    }


@pytest.fixture
def make_recommendation():
    return recommendation


@pytest.fixture
def rds_primary(mocked_aws):
    """Factory: the staging primary (PostgreSQL, gp3 1000 GB) with a read replica, tagged like the data stack."""
    import boto3

    rds = boto3.client("rds", region_name="us-east-1")

    def create(
        *,
        backup_retention=7,
        critical=False,
        replica=True,
        iops=16000,
        throughput=1000,
        instance_class="db.r6g.2xlarge",
    ):
        rds.create_db_instance(
            DBInstanceIdentifier="rightsize-staging-data-primary",
            DBInstanceClass=instance_class,
            Engine="postgres",
            MultiAZ=True,
            AllocatedStorage=1000,
            StorageType="gp3",
            Iops=iops,
            StorageThroughput=throughput,
            MasterUsername="app",
            MasterUserPassword="not-a-real-secret-1",
            BackupRetentionPeriod=backup_retention,
            StorageEncrypted=True,
            Tags=_tags("data-us-east-1", "primary", "data", critical="true" if critical else "false"),
        )
        if replica:
            rds.create_db_instance_read_replica(
                DBInstanceIdentifier="rightsize-staging-data-replica",
                SourceDBInstanceIdentifier="rightsize-staging-data-primary",
                DBInstanceClass=instance_class,
                Tags=_tags("data-us-east-1", "replica", "data"),
            )
        return rds

    return create


# --- sizing and pricing (issue 4) ---------------------------------------------------------------

SIZING_END = 1_760_054_400  # a UTC midnight: fixed so every sizing test is deterministic
SIZING_DAYS = 45

# The staging baseline (docs: aws-facts "requested staging baseline"), one resource per kind.
STAGING_CONFIGS = {
    "rds": (
        "rightsize-staging-data-primary",
        "data",
        "primary",
        {
            "instance_class": "db.r6g.2xlarge",
            "engine": "postgres",
            "multi_az": True,
            "allocated_storage": 1000,
            "storage_type": "gp3",
            "iops": 12000,
            "storage_throughput": None,
            "backup_retention_period": 7,
            "role": "primary",
            "source_id": None,
            "replica_ids": ("rightsize-staging-data-replica",),
        },
        {"instance_class": "data_instance_class", "iops": "data_iops", "storage_throughput": "data_storage_throughput"},
    ),
    "rds_replica": (
        "rightsize-staging-data-replica",
        "data",
        "replica",
        {
            "instance_class": "db.r6g.2xlarge",
            "engine": "postgres",
            "multi_az": False,
            "allocated_storage": 1000,
            "storage_type": "gp3",
            "iops": 12000,
            "storage_throughput": None,
            "backup_retention_period": 0,
            "role": "replica",
            "source_id": "rightsize-staging-data-primary",
            "replica_ids": (),
        },
        {"instance_class": "data_replica_instance_class", "count": "data_replica_count"},
    ),
    "elasticache": (
        "rightsize-staging-cache",
        "cache",
        "cluster",
        {
            "node_type": "cache.r6g.2xlarge",
            "engine": "redis",
            "cluster_mode": True,
            "num_shards": 6,
            "replicas_per_shard": 2,
            "multi_az": True,
            "member_clusters": tuple(
                f"rightsize-staging-cache-{s:04d}-{n:03d}" for s in range(1, 7) for n in range(1, 4)
            ),
        },
        {
            "node_type": "cache_node_type",
            "num_shards": "cache_num_shards",
            "replicas_per_shard": "cache_replicas_per_shard",
        },
    ),
    "asg": (
        "rightsize-staging-compute-asg",
        "compute",
        "asg",
        {
            "instance_type": "c5.4xlarge",
            "architecture": "x86_64",
            "min_size": 2,
            "max_size": 4,
            "desired_capacity": 2,
            "launch_template_id": "lt-0123",
            "launch_template_version": "1",
            "load_balancer_arns": (),
        },
        {
            "instance_type": "compute_instance_type",
            "min_size": "compute_min_size",
            "max_size": "compute_max_size",
            "desired_capacity": "compute_desired_capacity",
        },
    ),
    "lambda": (
        "rightsize-staging-orders",
        "serverless",
        "orders",
        {
            "memory_size": 3008,
            "timeout": 900,
            "architecture": "x86_64",
            "reserved_concurrency": 100,
            "provisioned_concurrency": 50,
            "alias": "live",
        },
        {
            "memory_size": "serverless_memory_size.orders",
            "reserved_concurrency": "serverless_reserved_concurrency.orders",
            "provisioned_concurrency": "serverless_provisioned_concurrency.orders",
        },
    ),
    "nat": (
        "vpc-0staging",
        "network",
        "vpc",
        {"nat_gateway_count": 2, "az_count": 2, "nat_gateway_ids": ("nat-0a", "nat-0b")},
        {"nat_gateway_count": "network_nat_gateway_count"},
    ),
}


def staging_resource(name, region="us-east-1", *, managed=True, critical=False, environment="staging", **config):
    """A Resource of the staging baseline; keyword arguments override config fields."""
    from analysis.model import Resource

    rid, tier, role, base, keys = STAGING_CONFIGS[name]
    kind = "rds" if name == "rds_replica" else name
    tags = {
        "Project": "rightsize",
        "Environment": environment,
        "Tier": tier,
        "Role": role,
        "CriticalPath": "true" if critical else "false",
    }
    if managed:
        tags["Stack"] = f"{tier}-{region}"
    return Resource(
        kind,
        region,
        rid,
        None,
        tags,
        {**base, **config},
        stack=f"{tier}-{region}" if managed else None,
        tfvars_keys=keys if managed else {},
        excluded="CriticalPath=true" if critical else None,
    )


@pytest.fixture
def sizing_resource():
    return staging_resource


@pytest.fixture(scope="session")
def sizing_catalogs():
    from analysis.pricing.catalog import PriceCatalog
    from analysis.sizing.specs import SpecCatalog

    return SpecCatalog.load(), PriceCatalog.load()


@pytest.fixture
def sizing_ctx(sizing_catalogs):
    """Factory: a SizingContext over the fixed 45-day window (keyword arguments override fields)."""
    from analysis.sizing.policy import SizingContext

    specs, prices = sizing_catalogs

    def make(days=SIZING_DAYS, **kw):
        return SizingContext.default(SIZING_END - int(days * 86400), SIZING_END, specs=specs, prices=prices, **kw)

    return make
