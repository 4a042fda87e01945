# Liaison — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two installs from pyproject.toml's one set of pinned versions: `make run` needs only the
# project's dependencies; `make test` (and the other targets) add the dev extras on top.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck unit integration e2e bench drill clean axe

$(RUN_STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed (found %s)" % sys.version.split()[0])'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

## make run: embedded Redis (unless LIAISON_REDIS_URL), demo data, every service (one that
## crashes is restarted with back-off; Ctrl-C stops all, Redis last)
run: $(RUN_STAMP)
	@exec $(BIN)/python -m ops.devstack

## make test: ruff, mypy and the whole pytest suite (tests start their own redis-server)
test: $(DEV_STAMP) lint typecheck axe
	$(BIN)/python -m pytest

## axe-core for the browser tests' accessibility checks, with npm if there is one (without
## it those tests skip, loudly; under CI they fail)
AXE_CORE := 4.10.3
axe:
	@if grep -qs '"version": "$(AXE_CORE)"' tests/e2e/node_modules/axe-core/package.json; then :; \
	elif command -v npm >/dev/null 2>&1; then \
	  npm install --no-save --no-audit --no-fund --prefix tests/e2e axe-core@$(AXE_CORE); \
	else echo "make: npm not found: the accessibility (axe-core) browser tests will be SKIPPED"; fi

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(DEV_STAMP) axe
	$(BIN)/python -m pytest tests/e2e

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

## make drill: the failover drill (bench/failover.py): SIGKILL the Redis master (and a router)
## under load, per durability mode; writes bench/results/failover.json
drill: $(DEV_STAMP)
	$(BIN)/python -m bench.failover

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
