"""Safe rollout of recommendations: plan (plan.py), RDS Blue/Green (bluegreen.py), alarm contract (alarms.py).

Database primary changes are orchestrated through the RDS API; every other change ships through
`cdktf deploy` of the applied tfvars and is judged by `python -m analysis guard`.
"""
