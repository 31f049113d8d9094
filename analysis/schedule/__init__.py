"""Off-hours schedules, the second lever beside sizing.

    profiles = {key(r): weekly_profile(ts, values, start, end, tz, signal.floor, signal.unit) ...}
    proposal = propose("staging", recs, profiles, catalog)       # one per environment
    proposal.tfvars                                            # stack -> {"<tier>_schedule": value}

profile.py  the demand that matters per kind, by hour of week (zoneinfo, default UTC)
detect.py   the recurring off window and the schedule with margins and confidence
pricing.py  savings on the right-sized configuration; reservations under a schedule
propose.py  per-resource decisions (CriticalPath, RDS replicas, what cannot stop) and tfvars
workload.py the working-hours use pattern the simulated account applies

The tfvars value itself and its validation live in stacks/schedule_contract.py (the stacks
read the same value).
"""
