# One entry point per job. Every target installs what it needs first (`make install`).
SHELL := /bin/bash
PY ?= .venv/bin/python
ENVIRONMENT ?= staging
REGIONS ?= us-east-1,us-west-2
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install test synth bench-synth plan checkov analyze bench bench-collect load-test rollout guard

# --- install ----------------------------------------------------------------
.venv/.installed: pyproject.toml
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -e '.[dev]'
	touch $@

node_modules/.installed: package.json
	npm install --no-audit --no-fund --silent
	touch $@

install: .venv/.installed node_modules/.installed

# --- tests ------------------------------------------------------------------
test: install
	$(PY) -m pytest -q

# --- infrastructure (issue: CDKTF app) ----------------------------------------
# --- analysis ------------------------------------------------------------------
# GetMetricData plan for 1,000 resources x 45 days: calls vs theoretical minimum, plan + decode time.
bench-collect: install
	$(PY) -m analysis.bench.collect --resources 1000 --days 45

# --- rollout -------------------------------------------------------------------
# make rollout ROLLOUT_ARGS=--dry-run ; make guard GUARD_ARGS="--stack compute-us-east-1"
rollout: install
	$(PY) -m analysis rollout --env $(ENVIRONMENT) $(ROLLOUT_ARGS)

guard: install
	$(PY) -m analysis guard --env $(ENVIRONMENT) $(GUARD_ARGS)

# --- load test -----------------------------------------------------------------
