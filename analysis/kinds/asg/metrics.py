"""CloudWatch series that size an Auto Scaling group and its Network Load Balancer."""

from analysis.model import MetricQuery, Resource

GROUP_METRICS = {  # AWS/EC2 by AutoScalingGroupName: Average is the group mean, Maximum the hottest instance
    ("AWS/EC2", "CPUUtilization"): ("Average", "Maximum"),
    ("AWS/EC2", "NetworkIn"): ("Average", "Maximum"),
    ("AWS/EC2", "NetworkOut"): ("Average", "Maximum"),
    ("AWS/AutoScaling", "GroupInServiceInstances"): ("Average", "Maximum"),
    ("CWAgent", "mem_used_percent"): ("Maximum",),  # only with the CloudWatch agent
}
NLB_METRICS = {
    "ActiveFlowCount": ("Maximum",),
    "NewFlowCount": ("Sum",),
    "ProcessedBytes": ("Sum",),
    "TCP_Target_Reset_Count": ("Sum",),
    "TCP_ELB_Reset_Count": ("Sum",),
}


def nlb_dimension(arn: str) -> str | None:
    """`arn:...:loadbalancer/net/name/id` -> `net/name/id` (the LoadBalancer dimension)."""
    _, sep, tail = arn.partition(":loadbalancer/")
    return tail if sep and tail.startswith("net/") else None


def queries(resource: Resource, period: int = 300) -> list[MetricQuery]:
    group = {"AutoScalingGroupName": resource.resource_id}
    out = [
        MetricQuery.of(ns, name, group, stat, period) for (ns, name), stats in GROUP_METRICS.items() for stat in stats
    ]
    for arn in resource.config.get("load_balancer_arns", ()):
        lb = nlb_dimension(arn)
        if lb:
            out += [
                MetricQuery.of("AWS/NetworkELB", name, {"LoadBalancer": lb}, stat, period)
                for name, stats in NLB_METRICS.items()
                for stat in stats
            ]
    return out
