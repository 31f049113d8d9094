"""The built-in simulated account: a local moto server holding the synthesized stacks, and a
deterministic 45-day metrics snapshot from a workload model (moto's CloudWatch is far too slow
for 45-day data, so metrics come through the snapshot source)."""
