"""Build the CDKTF app: every tier stack for every region of one environment.

Imports cdktf (through modules/); stacks/__init__, props, rules and tfvars do not.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from cdktf import App

from modules.base import TierStack

from .backend import StateBackend
from .naming import TFVARS_SUFFIX, TIERS, Tier, stack_name, tfvars_filename
from .tfvars import build_props


@dataclass
class SynthResult:
    outdir: Path
    stacks: list[str]
    overrides: dict[str, Path]  # stack -> the override file copied beside it


def stack_classes() -> dict:
    from .cache import CacheStack
    from .compute import ComputeStack
    from .data import DataStack
    from .network import NetworkStack
    from .serverless import ServerlessStack

    return {cls.tier: cls for cls in (NetworkStack, DataStack, CacheStack, ComputeStack, ServerlessStack)}


# Deploy order: a stack looks up (by tag) what the stacks it depends on created.
DEPENDS_ON: dict[str, tuple[Tier, ...]] = {
    Tier.NETWORK: (),
    Tier.DATA: (Tier.NETWORK,),
    Tier.CACHE: (Tier.NETWORK,),
    Tier.COMPUTE: (Tier.NETWORK, Tier.DATA, Tier.CACHE),
    Tier.SERVERLESS: (Tier.NETWORK, Tier.DATA, Tier.CACHE),
}


def synth(
    *,
    environment: str,
    regions: list[str],
    overrides: dict[str, tuple[dict, Path | None]],
    outdir: str | None = None,
    hcl: bool = False,
    backend: StateBackend | None = None,
) -> SynthResult:
    """Synth every tier for every region; `overrides` comes from stacks.tfvars.load_all (validated)."""
    app = App(outdir=outdir) if outdir else App()
    classes = stack_classes()
    built: dict[str, TierStack] = {}
    for region in regions:
        for tier in TIERS:
            name = stack_name(tier, region)
            props = build_props(tier, environment, overrides[name][0])
            stack = classes[tier](app, environment=environment, region=region, props=props, backend=backend)
            for dep in DEPENDS_ON[tier]:
                stack.add_dependency(built[stack_name(dep, region)])
            built[name] = stack
    app.synth()
    out = Path(app.outdir)
    copied = {}
    for name, stack in built.items():
        stack_dir = out / "stacks" / name
        if hcl and stack.raw_blocks:
            with open(stack_dir / "cdk.tf", "a") as fh:
                fh.write("\n" + stack.hcl_appendix())
        # The folder holds exactly the override that exists now: terraform loads every
        # *.auto.tfvars.json beside the stack, so a stale copy would still apply.
        for stale in stack_dir.glob(f"*{TFVARS_SUFFIX}"):
            stale.unlink()
        source = overrides[name][1]
        if source is not None:
            copied[name] = stack_dir / tfvars_filename(name)
            shutil.copyfile(source, copied[name])
    return SynthResult(out, list(built), copied)
