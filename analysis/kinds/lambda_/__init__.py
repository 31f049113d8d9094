"""Resource kind: lambda."""
