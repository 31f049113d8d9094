"""`python -m analysis <command>`: argparse front end; each command lives in analysis/commands/.

A command module defines `add_arguments(parser)` and `run(args) -> int` and registers itself
with `@command("name", "help")`. Errors a user can fix raise `UsageError` (exit 2) or
`AnalysisError` (exit 1), both from analysis/errors.py: one line on stderr, no traceback, nothing half-written.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Callable
from dataclasses import dataclass

from analysis.errors import EXIT_FAILURE, EXIT_USAGE, AnalysisError, UsageError


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


_COMMANDS: dict[str, Command] = {}


def command(name: str, help: str):
    """Class-free registration: decorate a module's `run`; its `add_arguments` sits beside it."""

    def deco(run: Callable[[argparse.Namespace], int]):
        module = sys.modules[run.__module__]
        _COMMANDS[name] = Command(name, help, getattr(module, "add_arguments", lambda p: None), run)
        return run

    return deco


def build_parser() -> argparse.ArgumentParser:
    from . import commands

    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda i: i.name):
        importlib.import_module(f"{commands.__name__}.{info.name}")
    parser = argparse.ArgumentParser(
        prog="python -m analysis",
        description="Right-size AWS resources from CloudWatch metrics and propose tfvars overrides.",
        epilog="Exit codes: 0 ok, 1 run failed, 2 usage error, 3 guard rolled back a change.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for cmd in sorted(_COMMANDS.values(), key=lambda c: c.name):
        p = sub.add_parser(cmd.name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args._run(args)
    except UsageError as e:
        print(f"{parser.prog} {args.command}: error: {e}", file=sys.stderr)
        return EXIT_USAGE
    except AnalysisError as e:
        print(f"error: {e}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an unknown --profile is a usage error wherever a client is built
        if type(e).__name__ != "ProfileNotFound" or not type(e).__module__.startswith("botocore"):
            raise
        print(f"{parser.prog} {args.command}: error: --profile: {e}", file=sys.stderr)
        return EXIT_USAGE
