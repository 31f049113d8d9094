"""Sizing engine shared by every kind: policy, demand statistics, confidence, candidate search,
AWS rules and the recommendation builder. Kinds call these from analysis/kinds/<kind>/sizing.py."""
