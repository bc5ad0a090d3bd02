# The two commands: `make run` (the whole system with demo data) and `make test` (the whole test suite).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_WORKERS ?= 2

.PHONY: install run test lint fmt schema bench check

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

## Command one: database, migrations, demo data, web + worker + beat.
run: $(STAMP)
	$(BIN)/python scripts/run.py

## Command two: the whole test suite (DATABASE_URL when set, else the embedded PostgreSQL).
test: $(STAMP)
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadfile -p no:randomly $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

fmt: $(STAMP)
	$(BIN)/ruff format .

schema: $(STAMP)
	$(BIN)/python manage.py spectacular --validate --file var/schema.yml

check: lint schema
	$(BIN)/python manage.py makemigrations --check --dry-run

bench: $(STAMP)
	$(BIN)/python tests/bench/bench_allocation.py
