"""How a Lambda function's duration follows its memory (README "Lambda: memory is also CPU").

Lambda allocates CPU in proportion to memory: 1,769 MB is one vCPU, up to 6 vCPUs at 10,240 MB.
An invocation's duration is its CPU work (Lambda Insights `cpu_total_time`) done at the CPU
share it gets, plus the time it waits (I/O, downstream calls), which memory does not change:

    vcpus(M)     = min(M / 1769, 6)
    threads      = 1 if cpu_total_time <= duration (single-threaded) else cpu_total_time / duration, <= 6
    speed(M)     = min(vcpus(M), threads)          # a single thread gains nothing above one vCPU
    cpu_wall_now = min(duration, cpu_total_time / speed(M_now))
    duration(M)  = (duration - cpu_wall_now) + cpu_wall_now x speed(M_now) / speed(M)

Sources: AWS Lambda Developer Guide "Configuring Lambda function memory" (CPU in proportion to
memory, 1,769 MB = one vCPU, up to 6 vCPUs / 10,240 MB), "Lambda Insights metrics"
(cpu_total_time = user + system CPU time per invocation); AWS Lambda Power Tuning measures the
same curve by invoking the function at each memory size.
"""

from __future__ import annotations

from dataclasses import dataclass

VCPU_MB = 1769  # memory that buys one full vCPU
MAX_VCPUS = 6  # at 10,240 MB


def vcpus(memory_mb: float) -> float:
    return min(memory_mb / VCPU_MB, float(MAX_VCPUS))


@dataclass(frozen=True)
class DurationModel:
    """A function's measured duration split into CPU work and waiting, at today's memory."""

    memory_mb: float  # today's memory
    duration_ms: float  # invocation-weighted mean duration today
    cpu_ms: float  # invocation-weighted mean cpu_total_time today

    def __post_init__(self) -> None:
        if self.memory_mb <= 0 or self.duration_ms <= 0 or self.cpu_ms < 0:
            raise ValueError("memory and duration must be > 0 and cpu time >= 0")

    @property
    def threads(self) -> float:
        """How many vCPUs the function can use: 1 when its CPU time fits in its duration."""
        ratio = self.cpu_ms / self.duration_ms
        return 1.0 if ratio <= 1 else min(ratio, float(MAX_VCPUS))

    @property
    def full_speed_mb(self) -> float:
        """The least memory that gives the function all the CPU it can use."""
        return min(VCPU_MB * self.threads, VCPU_MB * MAX_VCPUS)

    def speed(self, memory_mb: float) -> float:
        return min(vcpus(memory_mb), self.threads)

    @property
    def cpu_wall_ms(self) -> float:
        """Wall-clock time spent computing today (the rest is waiting)."""
        return min(self.duration_ms, self.cpu_ms / self.speed(self.memory_mb))

    @property
    def cpu_share(self) -> float:
        """Share of today's duration spent computing (1 = CPU-bound, near 0 = waiting on I/O)."""
        return self.cpu_wall_ms / self.duration_ms

    def ratio(self, memory_mb: float) -> float:
        """Predicted duration at `memory_mb` / today's duration (applies to every percentile)."""
        share = self.cpu_share
        return (1 - share) + share * self.speed(self.memory_mb) / self.speed(memory_mb)
