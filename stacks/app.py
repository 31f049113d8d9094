"""Build the CDKTF app: every tier stack for every region of one environment.

Imports cdktf (through modules/); stacks/__init__, props, rules and tfvars do not.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cdktf import App

from . import TIERS, stack_name
from .tfvars import build_props, load_overrides, override_path


@dataclass
class SynthResult:
    outdir: Path
    stacks: list[str]
    overrides: dict[str, Path]  # stack -> override file copied beside it


def stack_classes() -> dict:
    from .cache import CacheStack
    from .compute import ComputeStack
    from .data import DataStack
    from .network import NetworkStack
    from .serverless import ServerlessStack
    return {"network": NetworkStack, "data": DataStack, "cache": CacheStack,
            "compute": ComputeStack, "serverless": ServerlessStack}


# Deploy order: a stack looks up (by tag) what the stacks it depends on created.
DEPENDS_ON = {"network": (), "data": ("network",), "cache": ("network",),
              "compute": ("network", "data", "cache"), "serverless": ("network", "data", "cache")}


def synth(*, environment: str, regions: list[str], tfvars_root: Path, outdir: str | None = None,
          hcl: bool = False) -> SynthResult:
    """Validate every override file first (fail before any stack is built), then synth."""
    overrides: dict[str, dict] = {}
    files: dict[str, Path] = {}
    for region in regions:
        for tier in TIERS:
            name = stack_name(tier, region)
            path = override_path(tfvars_root, environment, name)
            overrides[name] = load_overrides(path, tier, environment)
            if path.exists():
                files[name] = path
    app = App(outdir=outdir) if outdir else App()
    classes = stack_classes()
    built = {}
    for region in regions:
        for tier in TIERS:
            name = stack_name(tier, region)
            props = build_props(tier, environment, overrides[name])
            stack = classes[tier](app, environment=environment, region=region, props=props)
            for dep in DEPENDS_ON[tier]:
                stack.add_dependency(built[stack_name(dep, region)])
            built[name] = stack
    app.synth()
    out = Path(app.outdir)
    for name, stack in built.items():
        stack_dir = out / "stacks" / name
        if hcl and stack.raw_blocks:
            with open(stack_dir / "cdk.tf", "a") as fh:
                fh.write("\n" + stack.hcl_appendix())
        if name in files:
            shutil.copyfile(files[name], stack_dir / files[name].name)
    return SynthResult(out, list(built), files)
