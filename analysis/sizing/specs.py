"""The instance/node spec catalog kept as data (analysis/data/catalog.json)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "catalog.json"


class SpecCatalog:
    """service ("ec2", "rds", "elasticache") -> type -> spec (vcpu, memory_gib, network_gbps, ...)."""

    def __init__(self, doc: Mapping[str, Any]):
        self.doc = doc

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> "SpecCatalog":
        return cls(json.loads(Path(path).read_text()))

    def get(self, service: str, type_: str) -> Mapping[str, Any] | None:
        return self.doc.get(service, {}).get(type_)

    def types(self, service: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        yield from sorted(self.doc.get(service, {}).items())

    def next_size(self, service: str, type_: str) -> str | None:
        """The next larger size of the same family (None at the top of the catalog)."""
        spec = self.get(service, type_)
        if spec is None:
            return None
        bigger = [(s["size_rank"], t) for t, s in self.types(service)
                  if s["family"] == spec["family"] and s["size_rank"] > spec["size_rank"]]
        return min(bigger)[1] if bigger else None
