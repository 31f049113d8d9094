"""What the report tests render with: the run's meta and an environment without a schedule."""

from analysis.schedule.propose import EnvironmentProposal
from analysis.schedule.propose import Status as ScheduleStatus
from analysis.schedule.report import material

META = dict(
    environment="staging",
    simulated=True,
    target="sim",
    regions=["us-east-1"],
    window_days=45,
    window_start="2026-10-01",
    window_end="2026-11-15",
    confidence_threshold=0.1,
    pricing_as_of="2026-11-25",
    collection=None,
)

NO_SCHEDULE = material(EnvironmentProposal("staging", ScheduleStatus.NONE, "used around the clock"), {})
