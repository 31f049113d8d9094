"""Reusable constructs of the CDKTF app (these import cdktf; stacks/props.py never does).

aws.py        the only door to the provider bindings (no eager package import)
base.py       TierStack: the shape every tier stack shares
variables.py  Terraform variables from a props dataclass
tagging.py    the tag contract (Project, Environment, Tier, ManagedBy, CriticalPath, Stack, Role)
expr.py       Terraform expression helpers (tokens for var./local./resource references)
kms.py        a customer-managed key and KMS-encrypted log groups
security.py   security groups and single-rule helpers
lookup.py     data-source lookups of the network and data stacks by tag
"""

import os

# jsii prints a large end-of-life banner for Node 20 on every start; it is noise here.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
