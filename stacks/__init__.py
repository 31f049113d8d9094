"""Tier stacks of the CDKTF app, plus their pure props and tfvars validation.

This package's __init__ and the modules naming.py, props.py, rules.py, tfvars.py and
alarms_contract.py never import cdktf (the analysis imports them). The stack modules
(network.py, data.py, ...) do, and are only imported by main.py through `stacks.app`.
"""

import os

from .naming import DEFAULT_ENVIRONMENT, DEFAULT_REGIONS, FUNCTIONS, TIERS, stack_name

__all__ = ["TIERS", "FUNCTIONS", "DEFAULT_ENVIRONMENT", "DEFAULT_REGIONS", "stack_name", "hcl_synth"]


def hcl_synth() -> bool:
    """Whether this synth writes HCL (SYNTH_HCL_OUTPUT=true, what `cdktf synth --hcl` sets)."""
    return os.environ.get("SYNTH_HCL_OUTPUT", "").lower() in ("1", "true", "yes")
