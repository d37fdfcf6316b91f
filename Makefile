# Every pip call here ignores the machine's pip configuration (extra indexes, find-links,
# constraints): the project installs from its own declarations only.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The shell twin of bench/isolation.py (PIP_SOURCES unset, PIP_SETTINGS set), which the tests
# and the benchmark use for every command they start; tests/benchmarks/test_isolation.py keeps them equal.
PIP_ISOLATED := env -u PIP_INDEX_URL -u PIP_EXTRA_INDEX_URL -u PIP_FIND_LINKS -u PIP_CONSTRAINT -u PIP_BUILD_CONSTRAINT -u PIP_NO_INDEX -u PIP_REQUIRE_VIRTUALENV PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1
PYTEST_ARGS ?=
BENCH_ARGS ?=
# packse needs Python 3.12 or later; pyenv's is taken when there is one.
PACKSE_PYTHON ?= $(or $(lastword $(sort $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python))),python3.12)
PACKSE_VENV ?= .packse-venv
PACKSE_WORK ?= .packse-work
PACKSE_ARGS ?=

.PHONY: demo test test-unit test-online lint fuzz bench packse clean venv deps-test deps-lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP_ISOLATED) $(BIN)/python -m pip install -q --upgrade pip

venv: $(BIN)/python

deps-test: venv
	$(PIP_ISOLATED) $(BIN)/python -m pip install -q -e '.[test]'

deps-lint: venv
	$(PIP_ISOLATED) $(BIN)/python -m pip install -q -e '.[test,lint]'

## demo: create .venv, install pipfence, run it on a real Pipfile
demo: venv
	$(PIP_ISOLATED) $(BIN)/python -m pip install -q -e .
	bash bench/demo.sh "$(CURDIR)/$(BIN)/pipfence"

## test: install test dependencies and run the whole offline suite
test: deps-test
	$(PIP_ISOLATED) $(BIN)/python -m pytest -m "not online" -n 2 $(PYTEST_ARGS)

## test-unit: the pure unit tests only (no socket, no process: what is not marked fast_io)
test-unit: deps-test
	$(PIP_ISOLATED) $(BIN)/python -m pytest tests/unit -m "not fast_io" $(PYTEST_ARGS)

## test-online: the tests that reach the real public index
test-online: deps-test
	$(PIP_ISOLATED) $(BIN)/python -m pytest -m online $(PYTEST_ARGS)

lint: deps-lint
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

fuzz: deps-test
	$(PIP_ISOLATED) PIPFENCE_FUZZ=1 $(BIN)/python -m pytest tests/unit -k fuzz $(PYTEST_ARGS)

bench: deps-test
	$(PIP_ISOLATED) $(BIN)/python bench/run.py $(BENCH_ARGS)

$(PACKSE_VENV)/bin/packse:
	$(PACKSE_PYTHON) -m venv $(PACKSE_VENV)
	$(PIP_ISOLATED) $(PACKSE_VENV)/bin/python -m pip install -q 'packse==0.3.59' hatchling

# What packse's sdists build with, served from the scenario index.
$(PACKSE_WORK)/build-deps: $(PACKSE_VENV)/bin/packse
	$(PIP_ISOLATED) $(PACKSE_VENV)/bin/python -m pip download -q --only-binary=:all: \
		--dest $@ hatchling

## packse: packse's resolver scenarios through `pipfence lock`, against their expected outcome
## (network once: installing packse and fetching its scenarios, which PACKSE_SCENARIOS=DIR
## replaces; not part of `make test`)
packse: deps-test $(PACKSE_WORK)/build-deps
	$(PIP_ISOLATED) PYTHONPATH=src $(BIN)/python bench/packse_run.py \
		--packse $(PACKSE_VENV)/bin/packse --work $(PACKSE_WORK) \
		--build-deps $(PACKSE_WORK)/build-deps \
		$(if $(PACKSE_SCENARIOS),--scenarios $(PACKSE_SCENARIOS)) $(PACKSE_ARGS)

clean:
	rm -rf $(VENV) $(PACKSE_VENV) $(PACKSE_WORK) build dist .mypy_cache .ruff_cache
