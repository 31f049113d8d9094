"""Exit codes and the errors a user can fix (a leaf module: it imports nothing of ours).

Every module raises these; `analysis/cli.py` turns them into one line on stderr and the exit
code, never a traceback.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILURE = 1  # the run failed (AWS error, corrupt input, ...)
EXIT_USAGE = 2  # bad flags or values
EXIT_ROLLED_BACK = 3  # guard restored the previous tfvars: redeploy


class UsageError(Exception):
    """Bad flags or values: exit 2."""


class AnalysisError(Exception):
    """The run cannot go on (corrupt file, AWS refused, ...): exit 1."""
