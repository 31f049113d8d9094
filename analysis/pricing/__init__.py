"""Pricing: the price catalog kept as data (analysis/data/prices.json), monthly cost assembly,
and a live refresh from the AWS Price List API (`--pricing live`)."""
