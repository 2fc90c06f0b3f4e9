# Two commands do all the set-up on a fresh machine (see README):
#   make demo   create .venv, then run the embedded digits project end to end
#   make test   create .venv, then lint (ruff, import layers) and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PROJECT ?= projects/digits

.PHONY: setup demo test lint bench-setup bench

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

setup: $(BIN)/.installed

demo: setup
	$(BIN)/bsf run $(PROJECT)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

# benchmark-only dependency: SpikingJelly 2.0 without its heavy optional deps
bench-setup: setup
	$(BIN)/python -m pip install --quiet loguru
	$(BIN)/python -m pip install --quiet --no-deps spikingjelly==2.0.0

bench: bench-setup
	$(BIN)/python benchmarks/simulate.py
