import sys

# A third-party module missing means the virtualenv is missing or stale: say how to make it,
# never a traceback. Our own modules failing to import is a bug and keeps its traceback.
OURS = ("analysis", "stacks", "modules", "loadtest")

try:
    from analysis.cli import main

    code = main()
except ModuleNotFoundError as e:
    if (e.name or "").split(".")[0] in OURS:
        raise
    print(
        f"error: the Python module {e.name!r} is not installed: run `make install`, then use .venv/bin/python",
        file=sys.stderr,
    )
    code = 1
sys.exit(code)
