"""One subpackage per resource kind; each module registers its part with analysis.registry."""
