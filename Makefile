# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export INREACH_ENV ?= development

.PHONY: run test bench install lint clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet -e '.[test,dev]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/inreach db upgrade
	$(BIN)/inreach demo
	$(BIN)/inreach run

# axe-core for the browser tests' accessibility check (tests/browser/package-lock.json), installed
# again when the lock file is newer. Without npm those tests are skipped with the reason (in CI,
# where nothing may be skipped, they fail).
AXE_STAMP := tests/browser/node_modules/.package-lock.json
$(AXE_STAMP): tests/browser/package-lock.json
	@if command -v npm >/dev/null; then \
		npm ci --prefix tests/browser --no-audit --no-fund && touch $@ || \
			echo "npm ci failed: the accessibility tests cannot run"; \
	else \
		echo "npm is not installed: the accessibility tests will be skipped (apt-get install nodejs npm)"; \
	fi

test: $(STAMP) $(AXE_STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile $(PYTEST_ARGS)

# Page timings on two workspaces of 100,000 organizations, then the reminder sweep deciding
# 100,000 follow-ups among 1,000,000 in 100 workspaces (tests/benchmarks/; not in `make test`).
# The seeded SQLite files are cached in tests/benchmarks/.cache/. DB=postgres runs both on
# PostgreSQL: the pages on BENCH_DATABASE_URL, by default a database inreach_bench on the local
# server; the sweep on BENCH_SWEEP_DATABASE_URL if set, else on the database inreach_bench_sweep
# of BENCH_DATABASE_URL's server (each dropped and rebuilt when its seed's version or the
# migration head changes). BENCH_ARGS: --requests N, --profile LABEL (pages);
# BENCH_SWEEP_ARGS: --runs N, --profile (sweep).
BENCH_POSTGRES_URL ?= postgresql+psycopg://inreach:inreach@127.0.0.1:5432/inreach_bench
ifeq ($(DB),postgres)
bench: export BENCH_DATABASE_URL ?= $(BENCH_POSTGRES_URL)
else
bench: export BENCH_DATABASE_URL :=
bench: export BENCH_SWEEP_DATABASE_URL :=
endif
bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks.bench_pages $(BENCH_ARGS)
	$(BIN)/python -m tests.benchmarks.bench_sweep $(BENCH_SWEEP_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check crm config tests tasks
	$(BIN)/ruff format --check crm config tests tasks

clean:
	rm -rf $(VENV) instance .pytest_cache
