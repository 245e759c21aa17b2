# Haven. `make run` starts a demo install on http://127.0.0.1:8000; `make test` runs every check.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
HAVEN := $(BIN)/haven
# The first Python ≥ 3.12 found: pyenv picks 3.13 from .python-version; plain system binaries work too.
PYTHON ?= $(shell for p in python3.13 python3.12 python3 python; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; \
	then echo $$p; break; fi; done)

.PHONY: help venv run test lint typecheck pytest test-pg bench lock clean

help:
	@echo "make run    create the virtualenv, migrate, load the demo site, serve on http://127.0.0.1:8000"
	@echo "make test   lint, type checks and the whole test suite (browser tests when Chromium is installed)"
	@echo "make bench  run the benchmarks in bench/ and write bench/report.md"

$(VENV)/.installed: pyproject.toml requirements.lock
	@if [ -z "$(PYTHON)" ]; then echo "Haven needs Python 3.12 or newer; none was found on PATH." >&2; exit 1; fi
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c requirements.lock -e '.[dev]'
	@touch $@

venv: $(VENV)/.installed

run: venv
	$(HAVEN) migrate --no-input
	$(HAVEN) demo
	@echo "Open http://127.0.0.1:8000/ and sign in with one of the logins above. Ctrl-C stops Haven."
	$(HAVEN) serve --with-worker --with-demo-replay

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy haven

pytest: venv
	$(BIN)/python -m pytest

test: lint typecheck
	$(BIN)/python manage.py makemigrations --check --dry-run --settings=haven.settings_test
	$(BIN)/python -m pytest

bench: venv
	$(BIN)/python -m bench

# Re-pin every installed package after changing pyproject.toml.
lock: venv
	$(BIN)/python -m pip freeze --exclude-editable --disable-pip-version-check > requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
