"""The instance/node spec catalog kept as data (analysis/data/catalog.json)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path(__file__).resolve().parents[1] / "data" / "catalog.json"


class SpecCatalog:
    """service ("ec2", "rds", "elasticache") -> type -> spec (vcpu, memory_gib, network_gbps, ...)."""

    def __init__(self, doc: Mapping[str, Any]):
        self.doc = doc

    @classmethod
    def load(cls, path: str | Path = DEFAULT_PATH) -> SpecCatalog:
        return cls(json.loads(Path(path).read_text()))

    def get(self, service: str, type_: str) -> Mapping[str, Any] | None:
        return self.doc.get(service, {}).get(type_)

    def spec(self, service: str, type_: str) -> Mapping[str, Any]:
        """The spec of a type known to be in the catalog (one the sizing picked or checked)."""
        return self.doc[service][type_]

    def types(self, service: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        yield from sorted(self.doc.get(service, {}).items())
