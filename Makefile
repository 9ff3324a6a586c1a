# The two commands (see README.md): `make pipeline` runs the main job, `make test` every test.
# Every target bootstraps what it needs and is fast when everything is already in place.
SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
UV        := $(VENV)/bin/uv
UV_PIN    := uv==0.13.9
REQ       := pipelines/requirements
STAMP     := $(VENV)/.installed

# Built tools are cached per user, outside the clone, and exposed through .tools/bin only.
export PATH := $(CURDIR)/.tools/bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export SSL_CERT_FILE ?= /etc/ssl/certs/ca-certificates.crt
export UV_NO_PROGRESS := 1

.PHONY: help pipeline test bootstrap host-packages venv tools lock lint fmt clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-14s %s\n", $$1, $$2}'

pipeline: bootstrap tools ## The main job: every pipeline stage against the local target
	$(PY) -m pipelines all --target local

test: bootstrap tools ## Every test of every layer
	$(PY) -m pytest tests

bootstrap: host-packages venv ## Debian packages and the project virtualenv

host-packages: ## Install missing Debian packages (no-op when present)
	@bash pipelines/bootstrap/host-packages.sh

venv: $(STAMP) ## The project virtualenv, synced to the lock file

$(STAMP): $(REQ)/project.lock application/pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	@test -x $(UV) || $(VENV)/bin/pip install -q --disable-pip-version-check $(UV_PIN)
	$(UV) pip sync -q --python $(PY) --require-hashes $(REQ)/project.lock
	$(UV) pip install -q --python $(PY) --no-deps -e application
	@touch $@

tools: venv ## Build or locate every pinned external tool (no-op when current)
	$(PY) -m pipelines.toolchain build

lock: venv ## Re-resolve the pinned, hashed lock files after editing a .in file
	$(UV) pip compile -q --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu $(REQ)/project.in -o $(REQ)/project.lock
	$(UV) pip compile -q --generate-hashes --python-version 3.11 --python-platform x86_64-unknown-linux-gnu $(REQ)/checkov.in -o $(REQ)/checkov.lock

lint: venv ## ruff and mypy over the Python code
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

fmt: venv ## Format Python code
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove the virtualenv, tool links and reports (the per-user tool cache stays)
	rm -rf $(VENV) .tools reports .pytest_cache .mypy_cache .ruff_cache
