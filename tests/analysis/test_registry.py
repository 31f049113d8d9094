"""The kind registry: one folder under analysis/kinds/ is one kind, found with nothing else edited."""

import sys
from pathlib import Path

import pytest

from analysis import kinds as kinds_pkg
from analysis import registry
from analysis.enums import RolloutMethod
from stacks.naming import Tier

NEW_KIND = '''
from analysis.enums import RolloutMethod
from analysis.kinds.rds import KIND as RDS
from analysis.registry import Kind
from stacks.naming import Tier

KIND = Kind(
    name="efs",
    tier=Tier.DATA,
    discover=RDS.discover,
    queries=RDS.queries,
    size=RDS.size,
    price=RDS.price,
    synthetic=RDS.synthetic,
    rollout=RolloutMethod.IN_PLACE,
    rollout_explanation="throughput mode changed in place",
)
'''


@pytest.fixture
def extra_kinds_dir(tmp_path, monkeypatch):
    """A second directory of kind packages, as if folders had been added under analysis/kinds/."""
    monkeypatch.setattr(kinds_pkg, "__path__", [*kinds_pkg.__path__, str(tmp_path)])
    registry.kinds.cache_clear()
    yield tmp_path
    registry.kinds.cache_clear()
    for name in [m for m in sys.modules if m.startswith("analysis.kinds.") and m.split(".")[2] in ("efs", "broken")]:
        del sys.modules[name]


def test_every_folder_is_one_kind():
    folders = sorted(p.name for p in Path(kinds_pkg.__path__[0]).iterdir() if (p / "__init__.py").exists())
    found = registry.kinds()
    assert [k.rstrip("_") for k in folders] == list(found)
    assert {k.tier for k in found.values()} == set(Tier)  # one kind per tier today
    assert registry.get("rds").rollout is RolloutMethod.BLUE_GREEN and registry.get("nat").rollout_explanation
    with pytest.raises(KeyError, match="unknown resource kind 'efs'"):
        registry.get("efs")


def test_a_new_folder_adds_a_kind(extra_kinds_dir):
    (extra_kinds_dir / "efs").mkdir()
    (extra_kinds_dir / "efs" / "__init__.py").write_text(NEW_KIND)
    kind = registry.get("efs")
    assert kind.tier is Tier.DATA and kind.rollout is RolloutMethod.IN_PLACE
    assert list(registry.kinds()) == ["asg", "efs", "elasticache", "lambda", "nat", "rds"]


def test_a_folder_without_a_kind_is_refused(extra_kinds_dir):
    (extra_kinds_dir / "broken").mkdir()
    (extra_kinds_dir / "broken" / "__init__.py").write_text('"""No KIND here."""\n')
    with pytest.raises(TypeError, match="analysis.kinds.broken exports no KIND"):
        registry.kinds()


def test_a_kind_must_roll_something_out():
    rds = registry.get("rds")
    with pytest.raises(ValueError, match="rolls nothing out"):
        registry.Kind("x", Tier.DATA, rds.discover, rds.queries, rds.size, rds.price, rds.synthetic, RolloutMethod.NONE)
