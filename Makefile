# windpitch — the two commands that matter: `make run` and `make test`.
# Both create .venv and install what they need when it is missing, so either works as the first
# command on a fresh machine (Python 3.13 or 3.11, PyPI reachable).

SHELL := /bin/bash
# SAM CLI reports telemetry unless told not to; windpitch never calls home.
export SAM_CLI_TELEMETRY := 0
# The venv's Python: the runtime's (3.13) where this machine has one, else 3.11 (Debian 12 has no 3.13). Either
# runs everything: make build-local builds the layers the local stack imports for whichever it is.
PYTHON ?= $(shell for p in python3.13 python3.11; do $$p -c '' 2>/dev/null && { echo $$p; break; }; done)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
ARTIFACTS := layers/model/windpitch/artifacts
CARD := $(ARTIFACTS)/model_card.json
# Retrain when the code that defines the model changes (about 20 s on 2 cores).
MODEL_SOURCES := $(addprefix layers/model/windpitch/,schema.py farm.py rules.py features.py imputation.py runtime.py monitoring.py) \
	$(wildcard windpitch_train/*.py) layers/batch/windpitch_frames/loading.py layers/batch/windpitch_frames/quality.py
# La Haute Borne's asset table, the worked example of a farm's (fleet and rated power); used when present.
ASSETS ?= $(wildcard ../shared/data/la-haute-borne/la-haute-borne_asset_table.csv)

.DEFAULT_GOAL := help
.PHONY: help venv model challenger promote lambda-image docker-tools sam-api build build-local dashboard publish-dashboard chromium run api openapi test test-fast lint bench checkov iam-check policy-lint fetch-data lock clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): requirements-dev.txt pyproject.toml
	@test -n "$(PYTHON)" && command -v $(PYTHON) >/dev/null || { echo "error: no python3.13 or python3.11 found (set PYTHON=...)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(STAMP)  ## create .venv with the pinned development dependencies

$(CARD): $(STAMP) $(MODEL_SOURCES)
	$(PY) -m windpitch train $(if $(ASSETS),--assets $(ASSETS))

# The runbook's candidate for `make run`: the same recipe trained on 2014 only (the live model has 18 months),
# published to the local registry and scored in shadow beside the live one.
CHALLENGER := build/challenger
$(CHALLENGER)/model_card.json: $(STAMP) $(MODEL_SOURCES)
	$(PY) -m windpitch train --out $(CHALLENGER) --train-end 2014-12-31 --quiet $(if $(ASSETS),--assets $(ASSETS))

challenger: $(STAMP)  ## a challenger model (trained on 2014 only) for the local stack's shadow scoring
	@if $(PY) -c "from windpitch_train.datasets import resolve_data_path; resolve_data_path()" 2>/dev/null; then \
		$(MAKE) --no-print-directory $(CHALLENGER)/model_card.json; \
	fi

model: $(STAMP)  ## train the model into the layer (when SCADA data is found)
	@if $(PY) -c "from windpitch_train.datasets import resolve_data_path; resolve_data_path()" 2>/dev/null; then \
		$(MAKE) --no-print-directory $(CARD); \
	else \
		echo "model: no SCADA data found; real-data tests will skip (see README: Data)"; \
	fi

# What Lambda runs: python3.13 on Amazon Linux 2023 (template.yaml's Runtime), into .aws-sam/build (what sam
# deploy and sam local read). ARCH=arm64 builds for Graviton into .aws-sam/arm64/build; each target has its own
# cache and build.toml (SAM keys its cache by source only: shared, a build for one target would be reused for
# the other), and its built template is pinned to its Architecture (windpitch_deploy.built), so deploying it as
# the other is refused. The layers' bytecode is compiled by Python 3.13: this machine's when it has one, else
# in windpitch/lambda-python:3.13 on Docker (windpitch_deploy.layers).
LAMBDA_PYTHON := 3.13
ARCH ?= x86_64
LAMBDA_OUT = $(if $(filter arm64,$(ARCH)),.aws-sam/arm64,.aws-sam)
# $(call sam-build,OUT,ARCH): the template into OUT/build, cached in OUT/cache (with OUT/build.toml: one per target),
# the venv's python3 running the layers' Makefiles; LAMBDA_PYTHON (and LAMBDA_GLIBC) are set before it.
sam-build = LAMBDA_ARCH=$(2) PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam build --cached --parallel \
	--build-dir $(1)/build --cache-dir $(1)/cache --parameter-overrides Architecture=$(2)
build: $(STAMP) model  ## sam build for Lambda: python3.13 layers (manylinux ≤ glibc 2.34, bytecode compiled), ARCH=arm64
	@if [ -f $(CARD) ]; then \
		LAMBDA_PYTHON=$(LAMBDA_PYTHON) $(call sam-build,$(LAMBDA_OUT),$(ARCH)) && \
		$(PY) -m windpitch_deploy pin $(LAMBDA_OUT)/build/template.yaml Architecture=$(ARCH) && \
		$(PY) -m windpitch_deploy pin $(LAMBDA_OUT)/build/template.yaml --model; \
	else \
		echo "build: skipped, no trained model (see README: Data)"; \
	fi

# The Docker-free local stack runs the handlers in this machine's Python, which may not be the runtime's (a Debian
# 12 host has 3.11 only): the same template and Makefiles, built for this interpreter, processor and glibc into
# .aws-sam/local/<python>-<arch>/build (windpitch_local.api.local_build), which the in-process runner requires.
build-local: $(STAMP) model  ## sam build for this machine's Python and processor (make run, make api)
	@if [ -f $(CARD) ]; then \
		read -r py arch glibc < <($(PY) -c "from windpitch_deploy.layers import *; print(*this_host(), host_glibc())"); \
		LAMBDA_PYTHON=$$py LAMBDA_GLIBC=$$glibc $(call sam-build,.aws-sam/local/$$py-$$arch,$$arch); \
	else \
		echo "build-local: skipped, no trained model (see README: Data)"; \
	fi

DASHBOARD_DIST := dashboard/dist

$(DASHBOARD_DIST)/index.html: $(STAMP) $(wildcard dashboard/src/*) dashboard/build.mjs dashboard/package-lock.json $(CARD)
	cd dashboard && npm ci --no-audit --no-fund --loglevel=error
	$(PY) -m windpitch schema > dashboard/schema.json
	node dashboard/build.mjs --model $(ARTIFACTS)/model.json --schema dashboard/schema.json
	rm -f dashboard/schema.json

dashboard: model  ## the static dashboard into dashboard/dist (uPlot from npm, pinned; model.json; schema.json)
	@if [ -f $(CARD) ]; then $(MAKE) --no-print-directory $(DASHBOARD_DIST)/index.html; \
	else echo "dashboard: skipped, no trained model (see README: Data)"; fi

STACK ?= windpitch-dev
publish-dashboard: dashboard  ## after sam deploy: upload dashboard/dist and config.json to the stack's bucket (STACK=...)
	$(PY) -m windpitch_deploy dashboard --stack-name $(STACK)

# The runbook's promotion (README: Replacing the model): a published version into the layer, then a canary
# deployment (PreTraffic hook on the card's golden records, alarms roll it back), then the page and its model,
# then no challenger (the promoted one is now live). Rolling back is promoting the previous version.
CONFIG_ENV ?= dev
BUCKET ?=
promote: $(STAMP)  ## put a published model live: make promote VERSION=v BUCKET=data-bucket [CONFIG_ENV=dev STACK=...]
	@test -n "$(VERSION)" -a -n "$(BUCKET)" || { echo "usage: make promote VERSION=<published version> BUCKET=<the stack's DataBucketName> [CONFIG_ENV=dev] [STACK=windpitch-dev]"; exit 2; }
	$(PY) -m windpitch model fetch $(VERSION) --out $(ARTIFACTS) --bucket $(BUCKET)
	touch $(CARD)  # the fetched model is the one to build: newer than the sources, so make will not retrain over it
	$(MAKE) --no-print-directory build ARCH=$(ARCH)  # its template is pinned to ARCH: samconfig's overrides stay whole
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/sam deploy --config-env $(CONFIG_ENV) --template-file $(LAMBDA_OUT)/build/template.yaml
	$(MAKE) --no-print-directory publish-dashboard STACK=$(STACK)
	$(PY) -m windpitch model challenger --clear --bucket $(BUCKET)

# A pitch fault injected into the replay's backfill, so the dashboard shows a caught fault at once (make run
# DEMO_FAULT= to replay the recorded data as it is).
DEMO_FAULT ?= R80711,2015-05-28T08:00,6,3

run: build-local dashboard challenger  ## the main job: the whole local stack (API :3000, S3 :5000, scheduled batch fed by the replay)
	$(PY) -m windpitch predict --json events/seed_record.json
	$(PY) -m windpitch predict --Ws1_avg 10
	$(PY) -m windpitch_local stack --api-port 3000 --s3-port 5000 $(if $(DEMO_FAULT),--demo-fault $(DEMO_FAULT)) \
		$$(test -f $(CHALLENGER)/model_card.json && echo --challenger $(CHALLENGER))

lambda-image: $(STAMP)  ## the Lambda-like image for sam local (Debian trixie + awslambdaric, Python 3.13)
	$(PY) -m windpitch_local image --python $(LAMBDA_PYTHON)

sam-api: build lambda-image  ## SAM's own start-api on Docker, 127.0.0.1:3000, the template as deployed
	$(PY) -c "from pathlib import Path; from windpitch_local.api import deployed_template; print(deployed_template(Path('.aws-sam/build'), {'AllowedOrigin': 'http://127.0.0.1:8080'}))"
	$(PY) -c "from windpitch_local.image import project_network; project_network()"
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam local start-api --template .aws-sam/build/template.deployed.yaml \
		--host 127.0.0.1 --port 3000 --invoke-image windpitch/lambda-python:$(LAMBDA_PYTHON) --skip-pull-image \
		--docker-network windpitch-local \
		--warm-containers LAZY --parameter-overrides AllowedOrigin=http://127.0.0.1:8080

api: build-local  ## only the local API (Docker-free sam local start-api) on 127.0.0.1:3000
	$(PY) -m windpitch_local api --port 3000

openapi: $(STAMP)  ## regenerate the committed OpenAPI document from the routes and the schema
	$(PY) -m windpitch_api.openapi

chromium:  ## Debian's chromium for the dashboard's browser tests, when missing (apt-get, as root or with sudo)
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "installing Debian's chromium for the browser tests"; \
		$$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q chromium >/dev/null; } || \
		echo "chromium: could not install it; the browser tests will skip with the reason"; }

docker-tools:  ## Debian's docker.io and debootstrap for the sam local tests, when missing (apt-get, as root or sudo)
	@{ command -v dockerd >/dev/null 2>&1 || [ -x /usr/sbin/dockerd ]; } && { command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ]; } || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		echo "installing Debian's docker.io and debootstrap for the sam local tests"; \
		$$SUDO apt-get install -y -q docker.io debootstrap >/dev/null 2>&1 || \
		{ $$SUDO apt-get update -q >/dev/null && $$SUDO apt-get install -y -q docker.io debootstrap >/dev/null; } || \
		echo "docker-tools: could not install them; the sam local tests will skip with the reason"; }

CHECKOV := .venv-checkov/bin/checkov
$(CHECKOV): requirements-checkov.txt
	test -x .venv-checkov/bin/python || $(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV)  ## checkov, the IaC security scanner, in its own venv (its pins clash with .venv's)

# Every function's flows on moto's server with IAM enforced, each under exactly the policy SAM's translation of the
# template gives its role (docs/deploy-checks.md). make test runs the same check, with its mutations, on a synthetic
# model (tests/integration/test_iam_check.py); this runs it on the layer's.
policy-lint: $(STAMP)  ## the built template's IAM policies read by parliament, and no wildcard action on data
	$(PY) -m windpitch_deploy policy-lint

iam-check: $(STAMP) model  ## each function's flows on moto with IAM enforced, under exactly its role's policy
	@if [ -f $(CARD) ]; then $(PY) -m windpitch_deploy iam-check; \
	else echo "iam-check: skipped, no trained model (see README: Data); make test runs it on a synthetic one"; fi

# Doctests: every package's examples run as tests (the CLI launcher is a program, not a module to import).
DOCTESTS := --doctest-modules layers/model/windpitch layers/model/windpitch_api layers/batch windpitch_train windpitch_deploy \
	windpitch_cli --ignore=layers/model/windpitch/__main__.py --ignore=layers/batch/Makefile

test: $(STAMP) build build-local dashboard chromium docker-tools $(CHECKOV)  ## lint, check the import contracts and run every test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m windpitch_api.openapi --check
	$(PY) -m windpitch_deploy settings --check
	$(PY) -m pytest tests $(DOCTESTS)

test-fast: $(STAMP)  ## under a minute: lint, import contracts, unit tests and doctests (no build, browser or server)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(PY) -m pytest tests/unit $(DOCTESTS) -m "not integration" -q

lint: $(STAMP)  ## ruff, mypy and the import contracts only
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) -m windpitch_api.openapi --check
	$(PY) -m windpitch_deploy settings --check

bench: build build-local  ## the benchmark suite (~10 min): every figure into docs/benchmarks.md, with its command
	$(PY) bench/suite.py

fetch-data: $(STAMP)  ## download the real data from PyPI when ../shared is absent
	$(PY) -m windpitch data fetch

lock:  ## re-pin requirements-dev.txt from requirements-dev.in in a fresh venv
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet -r requirements-dev.in
	{ echo "# Pinned development environment: generated by \`make lock\` from requirements-dev.in (pip freeze of a fresh venv)."; \
	  .venv-lock/bin/pip freeze --all | grep -v -i '^-e\|windpitch\|^pip=='; } > requirements-dev.txt
	rm -rf .venv-lock

clean:  ## remove the venv, build output and trained artifacts
	rm -rf $(VENV) .venv-checkov .aws-sam $(ARTIFACTS) $(CHALLENGER) .pytest_cache .ruff_cache .mypy_cache test-artifacts
