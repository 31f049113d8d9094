"""One package per resource kind; each exports `KIND = Kind(...)` (analysis/registry.py)."""
