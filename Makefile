# The two commands: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

# Local quick start only: a well-known token so the README's curl works.
# Production sets ALERTMANAGER_TOKEN from a secret; unset means 401.
LOCAL_ALERTMANAGER_TOKEN ?= local-dev-token
LOCAL_ADMIN_TOKEN ?= local-admin-token
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint typecheck check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# setuptools ends every editable install with a boxed note ("Editable installation.",
# take care with folders named like the package), which pip passes on as a warning.
PIP_INSTALL := $(BIN)/python -W "ignore:Editable installation:UserWarning" -m pip install --quiet

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(PIP_INSTALL) -e '.[dev]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	ALERTMANAGER_TOKEN=$${ALERTMANAGER_TOKEN:-$(LOCAL_ALERTMANAGER_TOKEN)} \
	ROUTER_ADMIN_TOKEN=$${ROUTER_ADMIN_TOKEN:-$(LOCAL_ADMIN_TOKEN)} \
	ROUTER_LOG_FORMAT=$${ROUTER_LOG_FORMAT:-text} \
	$(BIN)/runbook-router serve --host $(HOST) --port $(PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check router tests bench
	$(BIN)/ruff format --check router tests bench

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

check: $(VENV)/.installed
	$(BIN)/runbook-router check

test: lint typecheck
	$(BIN)/runbook-router check
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache router.db router.db-*
