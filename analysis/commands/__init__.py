"""Subcommands of `python -m analysis`; each module registers itself (see analysis/cli.py)."""
