"""Resource kind: rds."""
