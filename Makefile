# The two commands: `make run` (the whole system with demo data) and `make test` (the whole test suite).
# Both create .venv and install the project on first use (again only when pyproject.toml changes).
# With no DATABASE_URL they use the embedded PostgreSQL in var/pgdata; with no REDIS_URL the file-system
# broker in var/broker.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

# Parallel test processes (pytest-xdist). Kept at 2 by default: the concurrency tests open ~33 connections
# each and PostgreSQL allows 100; raise it on a big machine with a bigger max_connections.
PYTEST_WORKERS ?= 2
# Marker expression for the run (e.g. PYTEST_MARK="not browser"); empty: every test, the browser tests included
# (they skip themselves, saying why, when /usr/bin/chromium or Playwright's Python package is missing).
PYTEST_MARK ?=
PYTEST_ARGS ?=

# The browser pages' front-end packages (package-lock.json), served as static files from node_modules: no CDN.
NODE_STAMP := node_modules/.installed-stamp
INSTALLED  := $(STAMP) $(if $(wildcard package-lock.json),$(NODE_STAMP))

.PHONY: install run test lint fmt schema check bench chaos probe clean-var

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

$(NODE_STAMP): package-lock.json
	@command -v npm >/dev/null || { echo "npm (Node.js 18+) is needed to install the browser pages' assets"; exit 1; }
	npm ci --no-audit --no-fund
	@touch $(NODE_STAMP)

install: $(INSTALLED)

## Command one: database, migrations, demo data, then web + Celery worker + beat until Ctrl-C.
run: $(INSTALLED)
	$(BIN)/python scripts/run.py

## Command two: the whole test suite (DATABASE_URL when set, else the embedded PostgreSQL); tests/bench is not run.
test: $(INSTALLED)
	$(BIN)/python scripts/with_database.py -- $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile \
		$(if $(PYTEST_MARK),-m "$(PYTEST_MARK)") --ignore=tests/bench $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The OpenAPI schema, validated, in var/schema.yml.
schema: $(INSTALLED)
	@mkdir -p var
	$(BIN)/python scripts/with_database.py -- $(BIN)/python manage.py spectacular --validate --fail-on-warn \
		--file var/schema.yml
	@echo "wrote var/schema.yml"

## What CI checks besides the tests.
check: lint schema
	$(BIN)/python scripts/with_database.py -- $(BIN)/python manage.py makemigrations --check --dry-run

## Benchmarks (tests/bench/README.md): on a scratch database erp_bench beside DATABASE_URL's (or the embedded one).
bench: $(INSTALLED)
	$(BIN)/python scripts/with_database.py -- $(BIN)/python scripts/bench.py $(BENCH_ARGS)

## Chaos run (tests/chaos/README.md): real gunicorn, Celery worker and beat, the outbox relay and its own Redis on a
## free port, against the PostgreSQL database erp_chaos (dropped and created again; CHAOS_POSTGRES names the server,
## default postgres://postgres@127.0.0.1:5432), under mixed API load with SIGKILLs and a Redis stop; ~10 minutes.
## `make chaos CHAOS_ARGS=--short`: ~60 s of load (CI). Figures in var/chaos-report.json; non-zero exit on a missed target.
CHAOS_ARGS ?=
chaos: $(STAMP)
	$(BIN)/python tests/chaos/run.py $(CHAOS_ARGS)

## Security probe (tests/security/README.md): ten one-site users walk every API operation and the admin, in process,
## on the throwaway database PROBE_DATABASE_URL (created if missing; the probe writes to it); 1-3 minutes,
## `make probe PROBE_ARGS=--quick` under 1. Figures in var/security-probe.json; non-zero exit on a leak, 5xx or write.
PROBE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/erp_probe
PROBE_ARGS ?=
probe: $(STAMP)
	$(BIN)/python -c "import sys, psycopg; from psycopg import sql; url, _, name = sys.argv[1].rpartition('/'); \
	c = psycopg.connect(url + '/postgres', autocommit=True); \
	c.execute('SELECT 1 FROM pg_database WHERE datname = %s', (name,)).fetchone() or \
	c.execute(sql.SQL('CREATE DATABASE {}').format(sql.Identifier(name)))" "$(PROBE_DATABASE_URL)"
	DATABASE_URL="$(PROBE_DATABASE_URL)" DJANGO_SETTINGS_MODULE=distribution_erp.settings \
		$(BIN)/python tests/security/probe.py $(PROBE_ARGS)

## Remove the embedded database, broker folder and collected static files (stop `make run` first).
clean-var:
	rm -rf var/pgdata var/broker var/staticfiles
