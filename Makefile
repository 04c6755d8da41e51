# Two commands for a newcomer:  `make run`  (the connector on embedded defaults)
#                               `make test` (the whole test suite)
# Each sets up what it needs (a virtualenv in .venv with the project and its test tools).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint format bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/connector db upgrade
	$(BIN)/connector all

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/intake.py
	$(BIN)/python benchmarks/quote.py
	$(BIN)/python benchmarks/order_latency.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
