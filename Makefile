# Tocsin: `make up` runs it with demo data; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
DEVSTAMP := $(VENV)/.installed-dev
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: up test lint format clean bench

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e .
	touch $@

$(DEVSTAMP): pyproject.toml | $(PY)
	$(PIP) install --quiet -e '.[dev]'
	touch $(STAMP) $@

up: $(STAMP)
	$(VENV)/bin/tocsin up --demo --host $(HOST) --port $(PORT)

# axe-core for the accessibility test (package-lock.json); without npm that test skips
# with the reason (under TOCSIN_TEST_STRICT=1 the skip fails the run).
node_modules/.installed: package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --no-audit --no-fund --ignore-scripts --loglevel=error && touch $@; \
	else echo "npm not found: the accessibility test will skip (apt-get install npm)"; fi

test: $(DEVSTAMP) node_modules/.installed
	$(PY) -m tests.run_suite $(PYTEST_ARGS)

# The ingest benchmark (docs/benchmarks.md); not part of `make test`.
# e.g. make bench BENCH_ARGS="--duration 30 --db sqlite"
bench: $(DEVSTAMP)
	$(PY) bench/ingest/run.py $(BENCH_ARGS)

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	TOCSIN_DATA_DIR=$(CURDIR)/test-output/mypy $(VENV)/bin/mypy

format: $(DEVSTAMP)
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) test-output .pytest_cache
