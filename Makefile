# Kindred: `make run` starts the forum with demo data, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CHROMIUM ?= /usr/bin/chromium
PG_TEST_URL ?= postgresql+asyncpg://postgres@127.0.0.1:5432/test

.PHONY: run test test-pg lint check-migrations browser bench bench-pg clean

$(VENV)/.base:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	touch $@

$(VENV)/.run: $(VENV)/.base pyproject.toml
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev: $(VENV)/.run
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

## run: install, migrate, load the demo data (once; it is idempotent) and serve on :8000
run: $(VENV)/.run
	$(BIN)/kindred serve --demo

## browser: Debian's Chromium for the Playwright tests (installed when missing and root)
browser:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = "0" ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	      || { echo "could not install chromium"; exit 1; }; \
	  else echo "Chromium is missing: sudo apt-get install chromium"; exit 1; fi; \
	fi

lint: $(VENV)/.dev
	$(BIN)/ruff check app tests bench migrations/env.py
	$(BIN)/ruff format --check app tests bench
	$(BIN)/mypy

check-migrations: $(VENV)/.dev
	@rm -f /tmp/kindred-alembic-check.db
	KINDRED_DATABASE_URL=sqlite+aiosqlite:////tmp/kindred-alembic-check.db $(BIN)/alembic upgrade head
	KINDRED_DATABASE_URL=sqlite+aiosqlite:////tmp/kindred-alembic-check.db $(BIN)/alembic check

## test: lint, types, migrations and the whole suite on SQLite
test: $(VENV)/.dev browser lint check-migrations
	$(BIN)/pytest

## test-pg: the suite again on PostgreSQL
test-pg: $(VENV)/.dev browser
	KINDRED_TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/pytest

## bench: seed a large database and load-test the main pages (see bench/README.md)
bench: $(VENV)/.dev
	$(BIN)/python -m bench $(ARGS)

bench-pg: $(VENV)/.dev
	$(BIN)/python -m bench --database-url $(PG_TEST_URL) $(ARGS)

clean:
	rm -rf $(VENV) var
