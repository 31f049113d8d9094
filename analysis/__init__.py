"""Right-sizing analysis: inventory, metrics collection, sizing, pricing and reports.

Never imports CDKTF: `python -m analysis --help` must answer in well under a second.
"""
