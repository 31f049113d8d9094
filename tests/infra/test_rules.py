"""AWS rules as pure functions (milliseconds)."""

from stacks import rules


def test_gp3_iops_floor_and_range():
    assert rules.gp3_iops(1000, 12000) is None
    assert rules.gp3_iops(1000, None) is None
    assert "12000..64000" in rules.gp3_iops(1000, 10000)  # the requested staging value is invalid
    assert "12000..64000" in rules.gp3_iops(1000, 70000)
    assert "50 x" in rules.gp3_iops(400, 24000)  # 60 IOPS/GiB
    assert rules.gp3_iops(400, 20000) is None
    assert "leave it null" in rules.gp3_iops(300, 3000)
    assert rules.gp3_iops(300, None) is None


def test_gp3_throughput():
    assert rules.gp3_throughput(1000, 500, 12000) is None
    assert "500..4000" in rules.gp3_throughput(1000, 400, 12000)
    assert "per IOPS" in rules.gp3_throughput(1000, 4000, 12000)
    assert rules.gp3_throughput(1000, 4000, 16000) is None
    assert "leave it null" in rules.gp3_throughput(100, 500, None)


def test_storage_never_shrinks():
    assert "never be reduced" in rules.storage_not_reduced(1000, 900)
    assert "10%" in rules.storage_not_reduced(1000, 1050)
    assert rules.storage_not_reduced(1000, 1100) is None
    assert rules.storage_not_reduced(1000, 1000) is None


def test_nat_and_replicas():
    assert rules.nat_gateway_count(3, 3) is None
    assert rules.nat_gateway_count(1, 3) is None
    assert rules.nat_gateway_count(0, 3)
    assert rules.nat_gateway_count(4, 3)
    assert rules.cache_replicas(2, True) is None
    assert "Multi-AZ" in rules.cache_replicas(0, True)
    assert rules.cache_replicas(0, False) is None
    assert rules.cache_replicas(5, False)  # ElastiCache allows 5; the shard alarm reads at most 10 metrics


def test_lambda_concurrency():
    assert rules.provisioned_within_reserved(50, 100) is None
    assert "<= reserved" in rules.provisioned_within_reserved(101, 100)
    assert rules.account_concurrency({f: 100 for f in "abcde"}) is None  # 500 <= 900
    assert "100 must stay unreserved" in rules.account_concurrency({"a": 950})
    assert "100 must stay unreserved" in rules.account_concurrency({f: 100 for f in "abcde"}, account_limit=500)
    assert rules.lambda_memory(3008) is None and rules.lambda_memory(64)
    assert rules.asg_sizes(3, 12, 6) is None and rules.asg_sizes(3, 12, 2)
