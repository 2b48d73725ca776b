# ChartInsight Studio — `make run` starts everything, `make test` checks everything.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: run test bench lint image-check lock messages

# Installs only when a lock file changed since the last install. The locks (made by `make lock`
# from requirements*.txt) pin every package, transitive ones included, with PyPI's hashes.
$(VENV)/.runtime-installed: requirements.lock
	@scripts/ensure-python.sh "$(PYTHON)" "$(VENV)"
	$(PIP) install --quiet --require-hashes -r requirements.lock
	@touch $@

$(VENV)/.dev-installed: requirements-dev.lock $(VENV)/.runtime-installed
	$(PIP) install --quiet --require-hashes -r requirements-dev.lock
	@touch $@

run: $(VENV)/.runtime-installed
	@scripts/run.sh

test: $(VENV)/.dev-installed
	@scripts/test.sh

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

bench: $(VENV)/.dev-installed
	@scripts/bench.sh

# Refreshes locale/ko/LC_MESSAGES/*.po from the code; then translate every empty msgstr.
messages: $(VENV)/.dev-installed
	@scripts/makemessages.sh

# Builds the Docker image and smoke-tests every role from it (slow; not part of `make test`).
image-check:
	@scripts/image-check.sh

# Re-locks after a change to requirements.txt or requirements-dev.txt: PyPI only (its hashes,
# so any machine can install), every package pinned with hashes. Versions already locked are
# kept unless the human list asks for another.
PIP_COMPILE := PIP_CONFIG_FILE=/dev/null PIP_FIND_LINKS= $(VENV)/bin/pip-compile --quiet \
	--generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
	--index-url https://pypi.org/simple
lock: $(VENV)/.dev-installed
	$(PIP_COMPILE) --output-file requirements.lock requirements.txt
	$(PIP_COMPILE) --output-file requirements-dev.lock requirements-dev.txt
