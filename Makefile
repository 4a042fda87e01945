# Liaison — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Two installs from pyproject.toml's one set of pinned versions: `make run` needs only the
# project's dependencies; `make test` (and the other targets) add the dev extras on top.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint typecheck unit integration e2e bench clean

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
test: $(DEV_STAMP) lint typecheck
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .

typecheck: $(DEV_STAMP)
	$(BIN)/mypy

unit: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/unit

integration: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/integration

e2e: $(DEV_STAMP)
	$(BIN)/python -m pytest tests/e2e

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
