# skywatch: the two commands of the README (`make demo`, `make test`) set everything up themselves.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.skywatch-installed
PIP := $(BIN)/python -m pip --disable-pip-version-check -q
PYTEST_ARGS ?=
SHELL := bash
.SHELLFLAGS := -o pipefail -c
# This machine's pip configuration names local index folders that do not exist for most packages; drop
# pip's "Location ... is ignored" notices so real errors stay visible.
QUIET_PIP := 2>&1 | { grep -v "^WARNING: Location '.*' is ignored" || true; }

.PHONY: demo test lint typecheck pytest venv lock clean robustness audit fuzz

venv: $(STAMP)

# pip >= 26.2.2 first: the pip a Python 3.11 venv starts with has published advisories (docs/dependency-advisories.md).
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if v == (3, 11) else "skywatch needs Python 3.11; .venv has %d.%d (remove .venv, set PYTHON=python3.11)" % v)'
	$(PIP) install 'pip>=26.2.2' $(QUIET_PIP)
	$(PIP) install -r requirements.lock $(QUIET_PIP)
	$(PIP) install --no-deps --no-build-isolation -e . $(QUIET_PIP)
	@touch $@

demo: $(STAMP)
	$(BIN)/skywatch demo --out demo-output --overwrite

lint: $(STAMP)
	$(BIN)/ruff check skywatch tests benchmarks aoi
	$(BIN)/ruff format --check skywatch tests benchmarks aoi

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint typecheck pytest

# Regenerate the pins after changing dependencies in pyproject.toml (run in a fresh .venv).
lock: $(STAMP)
	$(PIP) install -e '.[models,sentinelhub,earthengine,planetary-computer,dev]' hatchling editables
	$(BIN)/python -m pip freeze --exclude-editable --exclude skywatch > requirements.lock

clean:
	rm -rf demo-output .pytest_cache .mypy_cache .ruff_cache

# The bad-input corpus (tests/robustness) with its figures: robustness: T tried, P passed, C corrupted, H hangs, L leaks.
robustness: $(STAMP)
	$(BIN)/python benchmarks/robustness.py

# A short fuzzing run (atheris) of the readers of untrusted files, 60 s per target; findings saved with their inputs.
fuzz: $(STAMP)
	$(BIN)/python benchmarks/fuzz_readers.py --seconds 60

# Known vulnerabilities in the pinned dependencies (pip-audit in its own venv, so it never touches the lock).
# Needs the PyPI JSON API or OSV: on a machine that only reaches a package mirror it reports what it could not audit.
audit:
	test -x .audit-venv/bin/pip-audit || ($(PYTHON) -m venv .audit-venv && .audit-venv/bin/pip -q install 'pip>=26.2.2' pip-audit)
	grep -v -e '^-e' -e '^skywatch' requirements.lock > .audit-venv/requirements.txt
	.audit-venv/bin/pip-audit -r .audit-venv/requirements.txt --no-deps --disable-pip --progress-spinner off
