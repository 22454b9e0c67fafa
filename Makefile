# Two commands for a fresh machine with Python 3.11+:
#   make run   - set up, migrate, load demo data and start the hub (web + worker) on SQLite
#   make test  - set up and run the whole suite on SQLite, then on PostgreSQL
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/hub
PYTEST_ARGS ?=
PYTEST_WORKERS ?= 2

# Demo-only credentials for the demo connectors (connectors/config/demo.yaml), used by `make run`
# and checked by the stand-in partners; set your own in the environment to override them.
export HUB_DEMO_CRM_SIGNING_SECRET ?= demo-crm-signing-secret
export HUB_DEMO_ERP_TOKEN ?= demo-erp-token
export HUB_DEMO_ERP_SIGNING_SECRET ?= demo-erp-signing-secret
export HUB_DEMO_WMS_API_KEY ?= demo-wms-api-key
export HUB_DEMO_SHOP_SIGNING_SECRET ?= demo-shop-signing-secret
export HUB_DEMO_CARRIER_SIGNING_SECRET ?= demo-carrier-signing-secret
export HUB_DEMO_ACME_PASSWORD ?= demo-acme-password
export HUB_DEMO_NORTHWIND_TOKEN ?= demo-northwind-token

.PHONY: run test setup setup-test browser test-sqlite test-postgres lint bench clean

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)." % sys.version.split()[0])'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(PIP) install --quiet -e '.[test]'
	@touch $@

setup: $(VENV)/.installed
	@mkdir -p var
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) manage.py setup_roles
	$(PY) manage.py demo_setup

run: setup
	$(PY) manage.py demo_users --base-url http://$(HOST):$(PORT)
	$(PY) manage.py run_hub --host $(HOST) --port $(PORT) --demo-partners

setup-test: $(VENV)/.installed-test browser

# Browser tests drive Debian's Chromium; install it where it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Chromium is missing; installing Debian's chromium package for the browser tests..."; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; fi; }

test: setup-test
	@$(MAKE) --no-print-directory test-sqlite
	@$(MAKE) --no-print-directory test-postgres

test-sqlite: setup-test
	@echo "=== Test pass 1/2: SQLite ==="
	env -u DATABASE_URL $(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test-postgres: setup-test
	@echo "=== Test pass 2/2: PostgreSQL ($(PG_TEST_URL)) ==="
	@if DATABASE_URL='$(PG_TEST_URL)' $(PY) -c 'import os, psycopg, urllib.parse as u; p = u.urlsplit(os.environ["DATABASE_URL"]); psycopg.connect(host=p.hostname, port=p.port or 5432, user=p.username or "postgres", password=p.password or "", dbname="postgres", connect_timeout=5).close()' 2>/dev/null; then \
	  DATABASE_URL='$(PG_TEST_URL)' $(VENV)/bin/pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "FAIL: no PostgreSQL at $(PG_TEST_URL). CI must run the PostgreSQL pass."; exit 1; \
	else \
	  echo "SKIPPED: no PostgreSQL reachable at $(PG_TEST_URL); the PostgreSQL pass did not run."; \
	  echo "         Start one (or set PG_TEST_URL) and run 'make test-postgres'."; \
	fi

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .

bench: $(VENV)/.installed-test
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache
