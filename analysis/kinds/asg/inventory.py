"""Discover Auto Scaling groups with their launch template, load balancers and scaling policies."""

import re

from analysis.inventory import tag_dict
from analysis.model import Resource
from analysis.sources.aws import RegionClients

_GRAVITON = re.compile(r"^[a-z]+\d+g[a-z]*\.")  # c6g.large, r7gd.xlarge, t4g.micro


def architecture_of(instance_type: str | None) -> str | None:
    """Fallback when DescribeInstanceTypes is unavailable: Graviton families end in `g`."""
    if not instance_type:
        return None
    return "arm64" if _GRAVITON.match(instance_type) else "x86_64"


def _launch_template(group: dict) -> dict:
    spec = group.get("LaunchTemplate")
    if not spec:
        spec = group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get("LaunchTemplateSpecification", {})
    return spec or {}


def _instance_type(ec2, spec: dict) -> str | None:
    ref = (
        {"LaunchTemplateId": spec["LaunchTemplateId"]}
        if spec.get("LaunchTemplateId")
        else {"LaunchTemplateName": spec["LaunchTemplateName"]}
    )
    versions = ec2.describe_launch_template_versions(**ref, Versions=[str(spec.get("Version") or "$Default")])
    found = versions.get("LaunchTemplateVersions", [])
    return found[0].get("LaunchTemplateData", {}).get("InstanceType") if found else None


def _architectures(ec2, types: set[str]) -> dict[str, str | None]:
    out = {t: architecture_of(t) for t in types}
    if not types:
        return out
    from botocore.exceptions import ClientError

    try:
        for info in ec2.describe_instance_types(InstanceTypes=sorted(types))["InstanceTypes"]:
            archs = info.get("ProcessorInfo", {}).get("SupportedArchitectures", [])
            out[info["InstanceType"]] = (
                "arm64" if "arm64" in archs else (archs[0] if archs else out[info["InstanceType"]])
            )
    except ClientError:  # not allowed or not implemented: the name rule is right for every current family
        pass
    return out


def _load_balancers(elbv2, target_groups: list[str]) -> tuple[str, ...]:
    arns: set[str] = set()
    for i in range(0, len(target_groups), 20):  # DescribeTargetGroups takes at most 20 ARNs
        for tg in elbv2.describe_target_groups(TargetGroupArns=target_groups[i : i + 20])["TargetGroups"]:
            arns.update(tg.get("LoadBalancerArns", []))
    return tuple(sorted(arns))


def _policies(autoscaling, group: str) -> tuple[tuple[str, ...], float | None]:
    """(policy names, target of a target-tracking policy on average CPU or None): a group with a
    policy is elastic even if its count did not move in the window."""
    policies = [
        p
        for page in autoscaling.get_paginator("describe_policies").paginate(AutoScalingGroupName=group)
        for p in page["ScalingPolicies"]
    ]
    target = None
    for p in policies:
        tt = p.get("TargetTrackingConfiguration") or {}
        spec = tt.get("PredefinedMetricSpecification") or {}
        if spec.get("PredefinedMetricType") == "ASGAverageCPUUtilization":
            target = float(tt["TargetValue"])
    return tuple(sorted(p["PolicyName"] for p in policies)), target


def discover(clients: RegionClients) -> list[Resource]:
    autoscaling, ec2, elbv2 = clients.client("autoscaling"), clients.client("ec2"), clients.client("elbv2")
    groups = [
        g
        for page in autoscaling.get_paginator("describe_auto_scaling_groups").paginate()
        for g in page["AutoScalingGroups"]
    ]
    specs = {g["AutoScalingGroupName"]: _launch_template(g) for g in groups}
    types = {name: _instance_type(ec2, spec) if spec else None for name, spec in specs.items()}
    archs = _architectures(ec2, {t for t in types.values() if t})
    out = []
    for g in groups:
        name, spec = g["AutoScalingGroupName"], specs[g["AutoScalingGroupName"]]
        type_ = types[name]
        policies, target = _policies(autoscaling, name)
        config = {
            "instance_type": type_,
            "architecture": archs.get(type_) if type_ else None,
            "min_size": g.get("MinSize"),
            "max_size": g.get("MaxSize"),
            "desired_capacity": g.get("DesiredCapacity"),
            "launch_template_id": spec.get("LaunchTemplateId"),
            "launch_template_version": spec.get("Version"),
            "load_balancer_arns": _load_balancers(elbv2, sorted(g.get("TargetGroupARNs", []))),
            "scaling_policies": policies,
            "target_cpu_utilization": target,
        }
        out.append(Resource("asg", clients.region, name, g.get("AutoScalingGroupARN"), tag_dict(g.get("Tags")), config))
    return out
