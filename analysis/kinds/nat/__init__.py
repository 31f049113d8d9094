"""Resource kind: nat."""
