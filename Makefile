# sockpuppet — developer entry points. `make run` and `make test` do all setup themselves.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON312 ?= $(shell for c in "$$(PYENV_VERSION=3.12.1 pyenv which python 2>/dev/null)" "$$(command -v python3.12)" $(HOME)/.pyenv/versions/3.12.*/bin/python; do \
	[ -n "$$c" ] && "$$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null && echo "$$c" && break; done)
VENV := .venv
SAM_VENV := .venv-sam
PY := $(VENV)/bin/python
SAM := $(SAM_VENV)/bin/sam
export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY ?= 0

.PHONY: help venv sam-venv install lock requirements chromium report-screenshot lint format test test-unit test-integration bench run invoke build validate fuzz load audit clean sample

help: ## list targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

# Every environment installs the versions of uv.lock: the dev/CI virtualenv with `uv sync --frozen`, and the
# Lambda artifacts through the requirements.txt files `make requirements` exports from the lock (sam build reads them).
LAMBDA_PLATFORM := --python-version 3.12 --python-platform aarch64-manylinux_2_28
LAMBDA_REQUIREMENTS := layers/sockpuppet/requirements.txt functions/api/requirements.txt functions/jobs/requirements.txt

$(VENV)/.installed: pyproject.toml uv.lock
	command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	uv sync --quiet --frozen --extra dev -p $(PYTHON312)
	touch $@

$(SAM_VENV)/.installed:
	command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet uv
	uv venv --quiet --allow-existing -p $(PYTHON312) $(SAM_VENV)
	uv pip install --quiet -p $(SAM_VENV)/bin/python 'aws-sam-cli>=1.130'
	touch $@

venv: $(VENV)/.installed ## create .venv (Python 3.12, library + API + dev tools)
sam-venv: $(SAM_VENV)/.installed ## create .venv-sam (aws-sam-cli, kept apart from the runtime deps)
install: venv sam-venv ## both virtualenvs

lock: ## re-resolve uv.lock from pyproject.toml, then re-export the Lambda requirements from it
	uv lock
	$(MAKE) requirements

requirements: ## the layer's and functions' requirements.txt: their requirements.in pinned to uv.lock (arm64)
	constraints=$$(mktemp) && trap 'rm -f $$constraints' EXIT && \
	uv export --quiet --frozen --no-hashes --no-emit-project --all-extras -o $$constraints && \
	for target in $(LAMBDA_REQUIREMENTS); do \
		uv pip compile --quiet $${target%.txt}.in -c $$constraints $(LAMBDA_PLATFORM) \
			--no-annotate --custom-compile-command "make requirements" -o $$target || exit 1; \
	done

chromium: ## headless Chromium for the browser test and the report screenshot (Debian package; installed when missing)
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

report-screenshot: venv chromium ## docs/report.png: the sample's HTML report (all signals) as headless Chromium renders it
	$(PY) scripts/report_screenshot.py --out docs/report.png

lint: venv ## ruff check + format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv ## ruff fix + format
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install chromium ## lint + all tests (unit, property, browser, integration, sam validate/build)
	$(MAKE) lint
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -n 2 --dist loadgroup

test-unit: venv ## unit + property tests only
	$(PY) -m pytest -m "not integration and not sam and not browser"

bench: venv ## engine vs reference loop vs cdist, whole CLI, API upload job, signals (BENCH_SCALE=0.1: sizes / 10)
	$(PY) -m benchmarks.run $(if $(BENCH_SCALE),--scale $(BENCH_SCALE))
	$(PY) -m benchmarks.signals $(if $(BENCH_SCALE),--scale $(BENCH_SCALE))

run: install ## serve the API on http://127.0.0.1:3000 (RIE pools + HTTP front + moto S3/DynamoDB/Step Functions; JOB_SHARD_MAX_NAMES passes through)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m sockpuppet_local serve --port $(or $(PORT),3000)

EVENT ?= events/health.json
invoke: install ## invoke one event: make invoke EVENT=events/<name>.json (sam local invoke with Docker, else the RIE)
	@if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then \
		$(MAKE) build && $(SAM) local invoke SockpuppetFunction --event $(EVENT); \
	else \
		$(PY) -m sockpuppet_local invoke $(EVENT); \
	fi

build: sam-venv ## sam build (layer + function, python3.12 arm64)
	PATH="$(dir $(PYTHON312)):$$PATH" $(SAM) build

validate: sam-venv ## sam validate --lint (offline)
	$(SAM) validate --lint

fuzz: install ## schemathesis against the local stack's OpenAPI document
	$(PY) -m pytest -m fuzz -p no:randomly -rP

load: install ## bounded load test (locust, headless) against a fresh local stack; prints p50/p95/p99, rps, errors
	$(PY) -m sockpuppet_local.load $(LOAD_ARGS)

audit: venv ## dependency vulnerability audit of the runtime requirements
	$(VENV)/bin/pip-audit --strict -r layers/sockpuppet/requirements.txt -r functions/api/requirements.txt -r functions/jobs/requirements.txt

clean: ## remove build artefacts and virtualenvs
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .ruff_cache .hypothesis build *.egg-info
