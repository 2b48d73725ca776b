# ChartInsight Studio — `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test bench lint

# Installs only when a requirements file changed since the last install.
$(VENV)/.runtime-installed: requirements.txt
	@scripts/ensure-python.sh "$(PYTHON)" "$(VENV)"
	$(PIP) install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

$(VENV)/.dev-installed: requirements-dev.txt $(VENV)/.runtime-installed
	$(PIP) install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@

run: $(VENV)/.runtime-installed
	@scripts/run.sh

test: $(VENV)/.dev-installed
	@scripts/test.sh

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.dev-installed
	@scripts/bench.sh
